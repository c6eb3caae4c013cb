"""The torch-free query encoder (citeline/onnx_encoder.py) against sentence-transformers.

Real parts: the packaged all-MiniLM-L6-v2, the project's own ONNX export, ONNX Runtime, and a
fresh answering process on the bundled corpus.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from citeline.config import PROJECT_ROOT
from citeline.embeddings import SentenceTransformerEmbedder, get_embedder, packaged_model_path
from citeline.onnx_encoder import (
    HASH_FILE,
    MODEL_FILE,
    OnnxEmbedder,
    cache_root,
    ensure_exported,
    model_key,
)
from eval.suites import bundled_suites

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _eval_questions() -> list[str]:
    """Every question of the bundled eval suites (eval/suites/*.yaml)."""
    qs = [c["question"] for p in bundled_suites() for c in yaml.safe_load(p.read_text())["cases"]]
    return [q for q in dict.fromkeys(qs) if q.strip()]


@pytest.fixture(scope="module")
def torch_embedder() -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder()


def test_packaged_model_runs_on_onnx(embedder) -> None:  # type: ignore[no-untyped-def]
    assert isinstance(get_embedder(""), OnnxEmbedder)
    assert embedder.name == "all-MiniLM-L6-v2"  # the embedding cache keys stay the same
    assert embedder.dim == 384


def test_query_vectors_agree_with_sentence_transformers(embedder, torch_embedder) -> None:  # type: ignore[no-untyped-def]
    qs = _eval_questions()
    assert len(qs) >= 50
    ours, theirs = embedder.embed(qs), torch_embedder.embed(qs)
    assert ours.shape == theirs.shape == (len(qs), 384)
    assert ours.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    cos = np.sum(ours * theirs, axis=1)
    assert cos.min() >= 0.9999, (cos.min(), qs[int(cos.argmin())])
    # One at a time (as when answering) gives the same vectors as a padded batch.
    one = np.stack([embedder.embed([q])[0] for q in qs[:8]])
    assert np.sum(one * ours[:8], axis=1).min() >= 0.99999


def test_long_and_odd_texts_agree(embedder, torch_embedder) -> None:  # type: ignore[no-untyped-def]
    """Past the 256-token cut (both truncate alike), empty text, and non-Latin script."""
    texts = [
        " ".join(["irritable bowel syndrome and visceral hypersensitivity"] * 80),
        "",
        "腸易激症候群の治療",
        "Ca2+ / IL-6 ↑ in IBS-D (n = 42; p < 0.05)",
    ]
    cos = np.sum(embedder.embed(texts) * torch_embedder.embed(texts), axis=1)
    assert cos.min() >= 0.9999, cos
    assert embedder.embed([]).shape == (0, 384)


def test_cached_export_is_hash_checked(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    """The cached file's bytes must match the SHA-256 recorded beside it; an altered file is
    never loaded but exported again."""
    model_dir = packaged_model_path()
    src = cache_root() / model_key(model_dir)
    good = (src / MODEL_FILE).read_bytes()
    assert hashlib.sha256(good).hexdigest() == (src / HASH_FILE).read_text().strip()
    folder = tmp_path / model_key(model_dir)
    folder.mkdir()
    shutil.copy(src / HASH_FILE, folder / HASH_FILE)
    bad = bytearray(good)
    bad[len(bad) // 2] ^= 0xFF  # one flipped byte inside a weight
    (folder / MODEL_FILE).write_bytes(bytes(bad))
    path = ensure_exported(model_dir, tmp_path)
    assert path == folder / MODEL_FILE
    data = path.read_bytes()
    assert hashlib.sha256(data).hexdigest() == (folder / HASH_FILE).read_text().strip()
    assert data != bytes(bad)
    # The re-export computes the same vectors.
    fresh = OnnxEmbedder(model_dir, cache=tmp_path)
    q = ["Which probiotics help with bloating?"]
    assert float(fresh.embed(q)[0] @ embedder.embed(q)[0]) >= 0.99999


_ANSWER = """
import json, sys
from citeline.config import Settings
from citeline.pipeline import answer
ans = answer(sys.argv[1], [], Settings.from_env())
heavy = sorted(m for m in ("torch", "transformers", "sentence_transformers") if m in sys.modules)
print(json.dumps({"refused": ans.refused, "claims": len(ans.claims), "heavy": heavy}))
"""


def test_answering_process_imports_no_torch(corpus_home: Path) -> None:
    """A fresh process answers a question (pipeline, CLI) without importing torch."""
    env = {
        **_clean_env(),
        "CITELINE_HOME": str(corpus_home),
        "PYTHONPATH": str(PROJECT_ROOT),
        "CITELINE_LLM": "none",
    }
    q = "Is there a link between gut health and mental health?"
    out = subprocess.run(
        [sys.executable, "-c", _ANSWER, q],
        capture_output=True,
        text=True,
        env=env,
        cwd=PROJECT_ROOT,
        timeout=300,
        check=True,
    )
    res = json.loads(out.stdout.strip().splitlines()[-1])
    assert res["refused"] is False and res["claims"] > 0
    assert res["heavy"] == []
    code = "import runpy, sys; sys.argv = ['citeline', 'ask', sys.argv[1]]\n"
    code += "try:\n    runpy.run_module('citeline', run_name='__main__')\n"
    code += "except SystemExit:\n    pass\nprint('TORCH' if 'torch' in sys.modules else 'NO-TORCH')"
    cli = subprocess.run(
        [sys.executable, "-c", code, q],
        capture_output=True,
        text=True,
        env=env,
        cwd=PROJECT_ROOT,
        timeout=300,
        check=True,
    )
    assert "[1]" in cli.stdout  # a cited answer was printed
    assert cli.stdout.strip().endswith("NO-TORCH")


def _clean_env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith("CITELINE_")}
