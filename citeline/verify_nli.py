"""The verifier's trained reader: does the sentence a claim rests on entail it?

A cross-encoder fine-tuned from the packaged all-MiniLM-L6-v2 by `python -m train nli` (SciFact
**train** claims only; train/nli.py): claim and evidence go in as one BERT pair, the tokens are
mean-pooled and a linear layer gives three logits (entailed, contradicted, neither). The repo
ships only what training changed (``models/verifier/nli.safetensors``, fp16, without the frozen
word embeddings, which are the packaged model's) beside its manifest.

At first use the shipped tensors are merged with the packaged model into a model folder in the
cache and exported to ONNX by `citeline.onnx_encoder` (in a child process: the answering
process never imports torch); the head (384 x 3) runs in NumPy. A missing or altered file logs
one warning and the verifier decides by its rules alone.

The verifier asks it only with CITELINE_VERIFIER_READER=1: measured on SciFact dev it lifts
supported claims from 4% to 19% but lets 17% of contradicted claims through (1.6% by the rules
alone) and 8% of the perturbation suite's swapped terms (eval/README.md), so the default is off.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import threading
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from citeline.config import PROJECT_ROOT

log = logging.getLogger(__name__)

MODEL_DIR = PROJECT_ROOT / "models" / "verifier"
WEIGHTS_FILE = "nli.safetensors"
MANIFEST_FILE = "nli.json"
HEAD = ("head.weight", "head.bias")
ENTAILED, CONTRADICTED, NEITHER = 0, 1, 2
# A claim the reader accepts at its threshold gets this score (the default support threshold).
SCORE_AT_OPERATING_POINT = 0.55
_COPIED = ("config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
           "vocab.txt", "sentence_bert_config.json")  # fmt: skip


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def read_manifest(folder: Path = MODEL_DIR) -> dict[str, object] | None:
    """The manifest, when the weights beside it match its SHA-256; else None (one warning)."""
    path, manifest_path = folder / WEIGHTS_FILE, folder / MANIFEST_FILE
    if not path.is_file() or not manifest_path.is_file():
        log.warning(
            "verifier reader not found in %s (run `python -m train nli`): verifying with rules "
            "only",
            folder,
        )
        return None
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    weights = manifest.get("weights")
    if not isinstance(weights, dict) or weights.get("sha256") != file_sha256(path):
        log.warning("verifier reader %s does not match its manifest: rules only", path)
        return None
    return manifest


def merged_model_dir(weights: Path, digest: str, base: Path, root: Path) -> Path:
    """A BERT folder holding the packaged model with the trained tensors in place (fp32): the
    input of the ONNX export. Written once per weights file (named by its hash)."""
    from safetensors.numpy import load_file, save_file

    out = root / f"verifier-{digest[:16]}"  # the weights' SHA-256, checked by read_manifest
    if (out / "model.safetensors").is_file():
        return out
    trained = load_file(str(weights))
    tensors = load_file(str(base / "model.safetensors"))
    layers = 1 + max(int(k.split(".")[3]) for k in trained if k.startswith("bert.encoder.layer."))
    for name, value in trained.items():
        if name.startswith("bert."):
            tensors[name.removeprefix("bert.")] = value.astype(np.float32)
    tensors = {
        k: v
        for k, v in tensors.items()
        if not k.startswith("encoder.layer.") or int(k.split(".")[2]) < layers
    }
    tmp = root / f".{out.name}.{threading.get_ident()}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for name in _COPIED:
        if (base / name).is_file():
            shutil.copy2(base / name, tmp / name)
    config = json.loads((base / "config.json").read_text(encoding="utf-8"))
    config["num_hidden_layers"] = layers
    (tmp / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    save_file(tensors, str(tmp / "model.safetensors"))
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    return out


class Reader:
    """The trained cross-encoder on ONNX Runtime; thread-safe."""

    def __init__(self, folder: Path = MODEL_DIR, cache: Path | None = None) -> None:
        import onnxruntime as ort
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        from citeline import onnx_encoder
        from citeline.packaged_model import packaged_model_path

        manifest = read_manifest(folder)
        if manifest is None:
            raise FileNotFoundError(folder / WEIGHTS_FILE)
        params = manifest.get("parameters")
        if not isinstance(params, dict) or "threshold" not in params:
            raise ValueError(f"{folder / MANIFEST_FILE} gives no threshold")
        self.max_len = int(params.get("max_len", 128))
        self.threshold = float(params["threshold"])
        weights = folder / WEIGHTS_FILE
        root = cache or onnx_encoder.cache_root()
        digest = str(manifest["weights"]["sha256"])  # type: ignore[index]
        merged = merged_model_dir(weights, digest, packaged_model_path(), root)
        path = onnx_encoder.ensure_exported(merged, root)
        trained = load_file(str(weights))
        self._w = trained[HEAD[0]].astype(np.float32)
        self._b = trained[HEAD[1]].astype(np.float32)
        self._tok = Tokenizer.from_file(str(merged / "tokenizer.json"))
        self._tok.enable_truncation(self.max_len, strategy="longest_first")
        self._tok.enable_padding()
        opts = ort.SessionOptions()
        opts.log_severity_level = 3
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        self._lock = threading.Lock()

    def probabilities(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        """(n, 3) probabilities of entailed, contradicted, neither for (claim, evidence) pairs."""
        if not pairs:
            return np.zeros((0, 3), dtype=np.float32)
        with self._lock:
            enc = self._tok.encode_batch([(c, e) for c, e in pairs])
            ids = np.array([e.ids for e in enc], dtype=np.int64)
            mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
            types = np.array([e.type_ids for e in enc], dtype=np.int64)
            feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
            hidden = self._sess.run(None, feed)[0]
        m = mask[..., None].astype(np.float32)
        pooled = (hidden * m).sum(axis=1) / np.clip(m.sum(axis=1), 1e-9, None)
        logits = pooled @ self._w.T + self._b
        logits -= logits.max(axis=1, keepdims=True)
        e = np.exp(logits)
        return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)

    def entailment(self, claim: str, evidence: str) -> float:
        return float(self.probabilities([(claim, evidence)])[0, ENTAILED])


ENABLE_VARIABLE = "CITELINE_VERIFIER_READER"


@lru_cache(maxsize=1)
def default_reader() -> Reader | None:
    """The shipped reader when CITELINE_VERIFIER_READER=1 (off by default: measured on SciFact
    dev it accepts 17% of contradicted claims and on the perturbation suite 8% of swapped
    terms, eval/README.md), loaded once per process; None (one warning) when it cannot be."""
    if os.environ.get(ENABLE_VARIABLE, "").strip().lower() not in ("1", "true", "yes", "on"):
        return None
    try:
        return Reader(MODEL_DIR)
    except FileNotFoundError:  # read_manifest has said why
        return None
    except Exception as exc:  # an unusable model must not stop verification
        log.warning("verifier reader could not be loaded (%s): rules only", exc)
        return None


def main(argv: list[str] | None = None) -> int:
    """`python -m citeline.verify_nli export`: merge and export the shipped reader (at install)."""
    import argparse

    p = argparse.ArgumentParser(prog="python -m citeline.verify_nli")
    p.add_argument("command", choices=["export"], help="export the reader to the ONNX cache")
    p.parse_args(argv)
    if read_manifest(MODEL_DIR) is None:
        print("no verifier reader shipped: the verifier runs its rules only")
        return 0
    reader = Reader(MODEL_DIR)
    print(f"verifier reader ready (threshold {reader.threshold})")
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main())
