"""The lexical tail: which document-frequency share to leave query terms out above, and its cost.

    python -m bench.lexical quality DATASET_DIR [--split dev] [--shares 1,0.2,0.1,0.05,0.02]
    python -m bench.lexical latency [--chunks 100000] [--shares 1,0.05] [--questions 40]

`quality`: BM25-only nDCG@10 / Recall@100 of `Index.lexical_search` (through `rank(mode="bm25")`,
as `python -m eval beir --retriever bm25`) on one qrels split, for each share of
`Tuning.lexical_max_df_share` of the index (1 = every term, today's search). Lexical search reads no vectors,
so the index is written with placeholder unit vectors: nothing is encoded. Refuses the test split.

`latency`: `Index.lexical_search` at `--chunks` chunks (the real NFCorpus, SciFact and MedQuAD
texts through the app's chunker, topped up with the variants of bench/data.py: a sentence dropped
per chunk), the bench questions, every share interleaved question by question in one process;
p50/p95 per share and the ratio to share 1. Placeholder vectors again: the FTS rows are the same.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from citeline.config import Settings
from citeline.store import DocumentWrite, Index, codec
from citeline.types import Chunk

DEFAULT_SHARES = (1.0, 0.2, 0.1, 0.05, 0.02)


def _placeholder_writes(docs: Sequence[tuple[str, list[Chunk]]]) -> list[DocumentWrite]:
    """One write per document with unit placeholder vectors (lexical search reads none)."""
    unit = np.zeros(384, dtype=np.float32)
    unit[0] = 1.0
    out: list[DocumentWrite] = []
    for digest, chunks in docs:
        vecs = {c.id: unit for c in chunks}
        sents = {c.id: codec.encode(np.tile(unit, (len(c.sentences), 1))) for c in chunks}
        out.append(DocumentWrite(chunks[0].doc, digest, chunks, vecs, sents))
    return out


def _write(index: Index, writes: Sequence[DocumentWrite], batch: int = 500) -> None:
    for i in range(0, len(writes), batch):
        index.replace_documents(writes[i : i + batch])


def quality(folder: Path, split: str, shares: Sequence[float]) -> list[dict[str, Any]]:
    from eval.beir import load_dataset, make_chunks, select_queries, temporary_index, to_docs
    from eval.metrics import evaluate

    if split == "test":
        raise SystemExit("bench.lexical quality tunes a parameter: use --split dev or train")
    ds = load_dataset(folder, split)
    qids = select_queries(ds, None)
    per_doc = [(d, make_chunks(ds, d, "blocks")) for d in ds.corpus]
    writes = _placeholder_writes([(d, ch) for d, ch in per_doc if ch])
    chunk_doc = {c.id: d for d, ch in per_doc for c in ch}
    rows = []
    with temporary_index(Settings.from_env()) as index:
        _write(index, writes)
        for share in shares:
            index.tune(lexical_max_df_share=share)
            runs = {q: to_docs(index.lexical_search(ds.queries[q], 300), chunk_doc) for q in qids}
            rows.append({"share": share, **evaluate(runs, ds.qrels)})
    return rows


def _bench_chunks(n: int) -> list[tuple[str, list[Chunk]]]:
    """`n` chunks: real documents (bench/data.py, no PDFs), then variants of them."""
    from bench.data import _variant, real_documents

    docs = real_documents(pdfs=False)
    out: list[tuple[str, list[Chunk]]] = []
    total, i = 0, 0
    unit = np.ones(384, dtype=np.float32) / np.sqrt(384)
    rng = np.random.default_rng(8)
    while total < n:
        d = docs[i % len(docs)]
        if i >= len(docs):  # a variant: own id and title, one sentence dropped per chunk
            vecs = {c.id: unit for c in d.chunks}
            sents = {c.id: codec.encode(np.tile(unit, (len(c.sentences), 1))) for c in d.chunks}
            d = _variant(d, vecs, sents, i // len(docs), rng)[0]
        out.append((d.content_hash, d.chunks))
        total += len(d.chunks)
        i += 1
    return out


def latency(n: int, shares: Sequence[float], per_source: int) -> dict[str, Any]:
    from bench.data import questions
    from eval.beir import temporary_index

    qs = questions(per_source=per_source)
    with temporary_index(Settings.from_env()) as index:
        t = time.perf_counter()
        _write(index, _placeholder_writes(_bench_chunks(n)))
        built = time.perf_counter() - t
        chunks = index.stats()["chunks"]
        times: dict[float, list[float]] = {s: [] for s in shares}
        for q in qs[:6]:  # warm-up: page cache, term shares
            for s in shares:
                index.tune(lexical_max_df_share=s)
                index.lexical_search(q, 40)
        for i, q in enumerate(qs):
            order = list(shares[i % len(shares) :]) + list(shares[: i % len(shares)])
            for s in order:
                index.tune(lexical_max_df_share=s)
                t = time.perf_counter()
                index.lexical_search(q, 40)  # settings.candidates
                times[s].append((time.perf_counter() - t) * 1000)
    base50 = statistics.median(times[shares[0]])
    out: dict[str, Any] = {"chunks": chunks, "questions": len(qs), "build_s": round(built, 1)}
    for s in shares:
        p50, p95 = statistics.median(times[s]), float(np.percentile(times[s], 95))
        out[f"share_{s}"] = {
            "p50_ms": round(p50, 2),
            "p95_ms": round(p95, 2),
            "p50_over_share1_p50": round(p50 / base50, 3),
        }
    return out


def main(argv: list[str] | None = None) -> int:
    import os

    p = argparse.ArgumentParser(prog="python -m bench.lexical")
    p.add_argument("what", choices=["quality", "latency"])
    p.add_argument("folder", nargs="?", type=Path)
    p.add_argument("--split", default="dev")
    p.add_argument("--shares", default=",".join(map(str, DEFAULT_SHARES)))
    p.add_argument("--chunks", type=int, default=100000)
    p.add_argument("--questions", type=int, default=40, help="per source")
    args = p.parse_args(argv)
    shares = [float(s) for s in args.shares.split(",")]
    load0 = os.getloadavg()
    if args.what == "quality":
        if args.folder is None:
            p.error("quality needs a BEIR folder")
        res: Any = {"rows": quality(args.folder, args.split, shares)}
    else:
        res = latency(args.chunks, shares, args.questions)
    res["load_avg"] = [round(x, 2) for x in (*load0, *os.getloadavg())]
    print(json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
