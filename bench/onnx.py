"""A faster encoder path? all-MiniLM-L6-v2 through ONNX Runtime (fp32 and int8) vs torch.

    python -m bench.onnx [--texts 1000] [--work DIR]

sentence-transformers' own ONNX backend (`backend="onnx"`) needs the `optimum` package to export
a model that ships no ONNX file (the packaged one ships only safetensors), and optimum is not a
dependency; so the model is exported here with `torch.onnx.export`, quantised with
`onnxruntime.quantization.quantize_dynamic` (int8 weights), and run with the model's own
tokenizer and mean pooling + L2 normalisation, as sentence-transformers does. Prints JSON: texts
per second of each path on the same real chunk texts (NFCorpus/SciFact, bench/data.py), the
speed-up over torch, and the cosine agreement of the vectors with torch's.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bench.data import SHARED_DATA, WORK_DIR, real_documents
from citeline.embeddings import SentenceTransformerEmbedder, packaged_model_path
from ingest.embed import embed_text

MAX_LEN = 256  # the model's max_seq_length (sentence_bert_config.json)


def export(work: Path) -> tuple[Path, Path]:
    """model.onnx (fp32) and model-int8.onnx under `work`, exported once."""
    import torch
    from transformers import AutoModel

    work.mkdir(parents=True, exist_ok=True)
    fp32, int8 = work / "model.onnx", work / "model-int8.onnx"
    if not fp32.is_file():
        bert = AutoModel.from_pretrained(str(packaged_model_path()), local_files_only=True)
        bert.eval()

        class Wrapped(torch.nn.Module):  # keyword arguments: BertModel's order changed in v5
            def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
                return bert(
                    input_ids=input_ids,
                    attention_mask=attention_mask,
                    token_type_ids=token_type_ids,
                ).last_hidden_state

        ids = torch.ones((2, 16), dtype=torch.long)
        for param in bert.parameters():
            param.requires_grad_(False)
        torch.onnx.export(
            Wrapped(),
            (ids, torch.ones_like(ids), torch.zeros_like(ids)),
            str(fp32),
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["last_hidden_state"],
            dynamic_axes={
                n: {0: "batch", 1: "seq"}
                for n in ("input_ids", "attention_mask", "token_type_ids", "last_hidden_state")
            },
            opset_version=17,
            dynamo=False,
        )
    if not int8.is_file():
        from onnxruntime.quantization import QuantType, quantize_dynamic

        quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8)
    return fp32, int8


class OrtEmbedder:
    """Tokenizer + ONNX Runtime session + mean pooling + L2 norm (sentence-transformers' recipe)."""

    def __init__(self, path: Path, batch_size: int = 64) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.tok = Tokenizer.from_file(str(packaged_model_path() / "tokenizer.json"))
        self.tok.enable_truncation(MAX_LEN)
        self.tok.enable_padding()
        opts = ort.SessionOptions()
        self.sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        self.batch_size = batch_size

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = []
        # Length-sorted batches pad little, as sentence-transformers' encode does.
        order = np.argsort([-len(t) for t in texts], kind="stable")
        for i in range(0, len(texts), self.batch_size):
            idx = order[i : i + self.batch_size]
            enc = self.tok.encode_batch([texts[j] for j in idx])
            ids = np.array([e.ids for e in enc], dtype=np.int64)
            mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
            hidden = self.sess.run(
                None,
                {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)},
            )[0]
            m = mask[..., None].astype(np.float32)
            pooled = (hidden * m).sum(1) / np.clip(m.sum(1), 1e-9, None)
            out.append((idx, pooled / np.linalg.norm(pooled, axis=1, keepdims=True)))
        vecs = np.zeros((len(texts), out[0][1].shape[1]), dtype=np.float32)
        for idx, v in out:
            vecs[idx] = v
        return vecs


def _timed(embed: Any, texts: Sequence[str]) -> tuple[float, np.ndarray]:
    embed(texts[:32])  # warm-up
    t = time.perf_counter()
    v = embed(texts)
    return time.perf_counter() - t, np.asarray(v)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.onnx")
    p.add_argument("--texts", type=int, default=1000)
    p.add_argument("--data", type=Path, default=SHARED_DATA)
    p.add_argument("--work", type=Path, default=WORK_DIR / "onnx")
    args = p.parse_args(argv)
    docs = real_documents(args.data, pdfs=False)
    chunks = [c for d in docs for c in d.chunks]
    # Half chunk texts, half sentences: what ingest encodes (queries are like short sentences).
    half = args.texts // 2
    texts = [embed_text(c) for c in chunks[:half]] + [
        s for c in chunks[half:] for s in c.sentences
    ][: args.texts - half]
    fp32, int8 = export(args.work)
    torch_emb = SentenceTransformerEmbedder()
    out: dict[str, Any] = {"texts": len(texts)}
    t_torch, v_torch = _timed(torch_emb.embed, texts)
    out["torch_texts_per_s"] = round(len(texts) / t_torch, 1)
    for name, path in (("onnx_fp32", fp32), ("onnx_int8", int8)):
        emb = OrtEmbedder(path)
        t, v = _timed(emb.embed, texts)
        cos = np.sum(v * v_torch, axis=1)
        out[f"{name}_texts_per_s"] = round(len(texts) / t, 1)
        out[f"{name}_speedup"] = round(t_torch / t, 2)
        out[f"{name}_cosine_min"] = round(float(cos.min()), 4)
        out[f"{name}_cosine_mean"] = round(float(cos.mean()), 5)
        # One query at a time, as when answering: the latency that matters per question.
        qs = texts[:50]
        t1 = time.perf_counter()
        for q in qs:
            emb.embed([q])
        t2 = time.perf_counter()
        for q in qs:
            torch_emb.embed([q])
        t3 = time.perf_counter()
        out[f"{name}_single_query_ms"] = round((t2 - t1) / len(qs) * 1000, 2)
        out["torch_single_query_ms"] = round((t3 - t2) / len(qs) * 1000, 2)
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
