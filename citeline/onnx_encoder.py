"""The torch-free encoder: all-MiniLM-L6-v2 through ONNX Runtime and the model's own tokenizer.

The packaged model ships only safetensors, so the project exports it to ONNX itself, once: at
`make install` (`python -m citeline.onnx_encoder export`), or on first use. The export needs
torch, so it runs in a child process: the answering process never imports torch, and its memory
is not held by it. The file lands in the cache (`~/.cache/citeline/onnx/<model key>/`) with the
SHA-256 of its bytes beside it; every load checks that hash first (streamed: ONNX Runtime then
maps the file itself, which keeps a second 90 MB copy out of the process's peak memory), so a
truncated or altered file is never run: it is exported again.

The recipe is sentence-transformers' for this model (modules.json: Transformer, mean Pooling,
Normalize; max_seq_length 256): the same tokens, mean pooling over the attention mask, L2 norm.
Vectors agree with sentence-transformers' at cosine >= 0.9999 (tests/test_embeddings_onnx.py),
so indexes built with either stay valid.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from citeline.errors import ConfigError

MODEL_FILE = "model.onnx"
HASH_FILE = "model.onnx.sha256"
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
EXPORT_VERSION = "1"  # bump when the export recipe changes (a new cache folder)


def cache_root() -> Path:
    from citeline.embcache import default_cache_dir

    return default_cache_dir() / "onnx"


def model_key(model_dir: Path) -> str:
    """Names the export of one model folder: its config and tokenizer bytes, and the weights'
    size, header and tail (cheap to compute at every start; the weights are 90 MB)."""
    h = hashlib.sha256(EXPORT_VERSION.encode())
    for name in ("config.json", "tokenizer.json", "sentence_bert_config.json"):
        f = model_dir / name
        h.update(f.read_bytes() if f.is_file() else b"-")
    weights = model_dir / "model.safetensors"
    size = weights.stat().st_size
    h.update(str(size).encode())
    with weights.open("rb") as fh:
        h.update(fh.read(1 << 20))
        fh.seek(max(0, size - (1 << 20)))
        h.update(fh.read())
    return h.hexdigest()[:16]


def export(model_dir: Path, out_dir: Path) -> Path:
    """Export `model_dir` (a BERT-style sentence-transformers folder) to `out_dir/model.onnx`,
    written atomically, with its SHA-256 in `model.onnx.sha256`. Imports torch: run it in a
    child process (`ensure_exported`) or at install."""
    import torch
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    bert = AutoModel.from_pretrained(
        str(model_dir), local_files_only=True, attn_implementation="eager"
    )
    bert.eval()
    for param in bert.parameters():
        param.requires_grad_(False)

    class Hidden(torch.nn.Module):  # keyword arguments: BertModel's positional order changed
        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            out = bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            )
            return out.last_hidden_state

    _allow_export_without_onnx_package()
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = out_dir / f".{MODEL_FILE}.{os.getpid()}.tmp"
    ids = torch.ones((2, 16), dtype=torch.long)
    axes = {n: {0: "batch", 1: "tokens"} for n in (*INPUTS, "last_hidden_state")}
    torch.onnx.export(
        Hidden(),
        (ids, torch.ones_like(ids), torch.zeros_like(ids)),
        str(tmp),
        input_names=list(INPUTS),
        output_names=["last_hidden_state"],
        dynamic_axes=axes,
        opset_version=17,
        dynamo=False,
    )
    digest = hashlib.sha256(tmp.read_bytes()).hexdigest()
    os.replace(tmp, out_dir / MODEL_FILE)
    hash_tmp = out_dir / f".{HASH_FILE}.{os.getpid()}.tmp"
    hash_tmp.write_text(digest + "\n")
    os.replace(hash_tmp, out_dir / HASH_FILE)
    return out_dir / MODEL_FILE


def _allow_export_without_onnx_package() -> None:
    """torch's TorchScript exporter builds the ModelProto in C++, then imports the `onnx`
    package only to splice in custom onnxscript functions, which this model has none of. Without
    `onnx` installed (it is not a dependency) that step is the identity."""
    try:
        import onnx  # noqa: F401
    except ImportError:
        from torch.onnx._internal.torchscript_exporter import onnx_proto_utils

        onnx_proto_utils._add_onnxscript_fn = lambda model_bytes, custom_opsets: model_bytes


def verified(folder: Path) -> bool:
    """Whether the model file's SHA-256 matches the one recorded beside it."""
    h = hashlib.sha256()
    try:
        want = (folder / HASH_FILE).read_text().strip()
        with (folder / MODEL_FILE).open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    except OSError:
        return False
    return h.hexdigest() == want


def ensure_exported(model_dir: Path, root: Path | None = None) -> Path:
    """The checked ONNX file of `model_dir`, exported first (in a child process that imports
    torch, not this one) when the cache has none or a file whose hash does not match."""
    folder = (root or cache_root()) / model_key(model_dir)
    if not verified(folder):
        cmd = [sys.executable, "-m", "citeline.onnx_encoder", "export"]
        cmd += ["--model", str(model_dir), "--out", str(folder)]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0 or not verified(folder):
            tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise ConfigError(f"Exporting the embedding model to ONNX failed: {tail}")
    return folder / MODEL_FILE


class OnnxEmbedder:
    """The packaged model on ONNX Runtime (CPU); thread-safe (one lock around a batch)."""

    def __init__(self, model_dir: Path, *, batch_size: int = 64, cache: Path | None = None) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.path = ensure_exported(model_dir, cache)
        config = json.loads((model_dir / "sentence_bert_config.json").read_text())
        self.max_len = int(config.get("max_seq_length", 256))
        self.name = "all-MiniLM-L6-v2"
        self._tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self._tok.enable_truncation(self.max_len)
        self._tok.enable_padding()  # to the longest of each batch (the file pads to 128)
        opts = ort.SessionOptions()
        opts.log_severity_level = 3
        # A shared 2-core machine: idle worker threads must sleep, not spin.
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._sess = ort.InferenceSession(str(self.path), opts, providers=["CPUExecutionProvider"])
        self.dim = int(self._sess.get_outputs()[0].shape[-1] or 384)
        self.batch_size = batch_size
        self._lock = threading.Lock()

    def _batch(self, texts: Sequence[str]) -> np.ndarray:
        enc = self._tok.encode_batch(list(texts))
        ids = np.array([e.ids for e in enc], dtype=np.int64)
        mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        hidden = self._sess.run(None, feed)[0]
        m = mask[..., None].astype(np.float32)
        pooled = (hidden * m).sum(axis=1) / np.clip(m.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        # Batches of similar length pad little (sentence-transformers sorts the same way).
        order = np.argsort([-len(t) for t in texts], kind="stable")
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        with self._lock:
            for i in range(0, len(texts), self.batch_size):
                idx = order[i : i + self.batch_size]
                out[idx] = self._batch([texts[j] for j in idx])
        return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m citeline.onnx_encoder")
    p.add_argument("command", choices=["export"], help="export the model to the ONNX cache")
    p.add_argument("--model", type=Path, default=None, help="model folder (default: packaged)")
    p.add_argument("--out", type=Path, default=None, help="output folder (default: the cache)")
    args = p.parse_args(argv)
    from citeline.packaged_model import packaged_model_path

    model_dir = args.model or packaged_model_path()
    out = args.out or cache_root() / model_key(model_dir)
    if args.out is None and verified(out):
        print(f"{out / MODEL_FILE} is up to date")
        return 0
    print(export(model_dir, out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
