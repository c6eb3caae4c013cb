"""Retrieval quality beside the LangChain hybrid peer, in the same run and on the same index.

    python -m bench.quality [--sets nfcorpus,scifact] [--split test]

For each BEIR set of ../shared/data: one index built as `python -m eval beir` builds it (the
app's chunker, embedding cache and store), then Citeline's hybrid `rank()` and the peer of
eval/langchain_peer.py (EnsembleRetriever over BM25Retriever + langchain-chroma on the same
Chroma collection) run every judged query; nDCG@10 / Recall@100 / MRR@10 of both, and each
side's query time per query (Citeline: `rank()` with a precomputed query vector; the peer embeds
the query itself, through the cache).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from bench.data import SHARED_DATA


def measure_set(folder: Path, split: str = "test") -> dict[str, Any]:
    from citeline.config import Settings
    from citeline.embcache import default_cache_dir
    from citeline.retrieve import rank
    from eval import beir
    from eval.langchain_peer import for_index
    from eval.metrics import evaluate

    settings = Settings.from_env()
    ds = beir.load_dataset(folder, split)
    qids = beir.select_queries(ds, None)
    embedder = beir.open_embedder(settings, default_cache_dir())
    try:
        with beir.temporary_index(settings) as index:
            chunk_doc = beir.build_index(index, ds, list(ds.corpus), embedder, "blocks")
            qvecs = beir.query_vectors(embedder, ds, qids)
            peer = for_index(index, embedder, beir.DEFAULT_DEPTH)
            ours: dict[str, list[str]] = {}
            theirs: dict[str, list[str]] = {}
            t_ours, t_peer = [], []
            for q, vec in zip(qids, qvecs, strict=True):
                t = time.perf_counter()
                ranked, _ = rank(index, ds.queries[q], vec, settings, depth=beir.DEFAULT_DEPTH)
                t_ours.append((time.perf_counter() - t) * 1000)
                ours[q] = beir.to_docs(ranked, chunk_doc)
                t = time.perf_counter()
                hits = peer.search(ds.queries[q])
                t_peer.append((time.perf_counter() - t) * 1000)
                theirs[q] = beir.to_docs([(c, 0.0) for c in hits], chunk_doc)
    finally:
        embedder.close()
    a, b = evaluate(ours, ds.qrels), evaluate(theirs, ds.qrels)
    return {
        "queries": len(qids),
        "chunks": len(chunk_doc),
        "citeline": {k: round(v, 4) for k, v in a.items()},
        "peer": {k: round(v, 4) for k, v in b.items()},
        "citeline_query_ms_p50": round(statistics.median(t_ours), 1),
        "peer_query_ms_p50": round(statistics.median(t_peer), 1),
    }


def run(data: Path, sets: list[str], split: str = "test") -> dict[str, Any]:
    """Flat keys for reports/bench.json: beir_<set>_ndcg10 and beir_<set>_peer_ndcg10, ..."""
    out: dict[str, Any] = {}
    for name in sets:
        if not (data / name / "corpus.jsonl").is_file():
            continue
        r = measure_set(data / name, split)
        for side in ("citeline", "peer"):
            tag = "" if side == "citeline" else "_peer"
            out[f"beir_{name}_ndcg10{tag}"] = r[side]["ndcg@10"]
            out[f"beir_{name}_recall100{tag}"] = r[side]["recall@100"]
        out[f"beir_{name}_ndcg10_minus_peer"] = round(
            r["citeline"]["ndcg@10"] - r["peer"]["ndcg@10"], 4
        )
        out[f"beir_{name}_query_ms_p50"] = r["citeline_query_ms_p50"]
        out[f"beir_{name}_peer_query_ms_p50"] = r["peer_query_ms_p50"]
        print(f"[bench] beir {name}: {json.dumps(r)}", file=sys.stderr, flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.quality")
    p.add_argument("--sets", default="nfcorpus,scifact")
    p.add_argument("--split", default="test")
    p.add_argument("--data", type=Path, default=SHARED_DATA)
    args = p.parse_args(argv)
    print(json.dumps(run(args.data, args.sets.split(","), args.split), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
