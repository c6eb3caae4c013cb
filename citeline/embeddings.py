"""The embedding model: the packaged all-MiniLM-L6-v2, loaded offline, one instance per process.

The packaged model runs on ONNX Runtime (`citeline.onnx_encoder`): no torch in the process, a
start in well under a second. A model folder set in CITELINE_EMBED_MODEL runs on
sentence-transformers (torch), since its export and pooling are not known in advance.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from citeline.environment import set_offline_defaults
from citeline.errors import ConfigError
from citeline.packaged_model import packaged_model_path


class Embedder(Protocol):
    """Anything that turns texts into L2-normalised float32 vectors."""

    name: str
    dim: int

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


class SentenceTransformerEmbedder:
    """sentence-transformers on the CPU; thread-safe (one lock around encode)."""

    def __init__(self, model_path: str | Path | None = None, batch_size: int = 64) -> None:
        set_offline_defaults()  # before sentence-transformers reads the hub settings
        from sentence_transformers import SentenceTransformer

        path = Path(model_path) if model_path else packaged_model_path()
        if not (path / "config.json").exists() and not (path / "modules.json").exists():
            raise ConfigError(
                f"No sentence-transformers model at {path}: set CITELINE_EMBED_MODEL "
                "to a local model folder"
            )
        self.name = path.name if model_path else "all-MiniLM-L6-v2"
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # no "Loading weights" bar on every start
        self._model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
        get_dim = (
            getattr(self._model, "get_embedding_dimension", None)
            or self._model.get_sentence_embedding_dimension
        )
        self.dim = int(get_dim() or 384)
        self.batch_size = batch_size
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            vecs = self._model.encode(
                list(texts),
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.asarray(vecs, dtype=np.float32)


_cache: dict[str, Embedder] = {}
_cache_lock = threading.Lock()


def get_embedder(model_path: str = "") -> Embedder:
    """The process-wide embedder for a model path (loaded once, shared across sessions): the
    packaged model on ONNX Runtime, any other folder on sentence-transformers."""
    set_offline_defaults()
    with _cache_lock:
        if model_path not in _cache:
            if model_path:
                _cache[model_path] = SentenceTransformerEmbedder(model_path)
            else:
                from citeline.onnx_encoder import OnnxEmbedder

                _cache[model_path] = OnnxEmbedder(packaged_model_path())
        return _cache[model_path]
