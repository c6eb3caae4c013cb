"""Ingest benchmark: full ingest vs unchanged re-ingest, and ingest throughput vs raw encode.

    python -m bench.ingest [--corpus DIR] [--repeat N]

Prints one JSON object. Every number is measured in this run: the raw-encode baseline encodes
exactly the chunk texts the ingest embedded, with the same model object and batch size.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from citeline.config import PROJECT_ROOT, Settings
from citeline.embeddings import get_embedder
from ingest.chunking import chunk_blocks
from ingest.embed import embed_text
from ingest.loaders import load
from ingest.sync import discover, sync


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ingest")
    parser.add_argument("--corpus", type=Path, default=PROJECT_ROOT / "corpus")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    print(json.dumps(measure(args.corpus, args.repeat), indent=2))
    return 0


def measure(corpus: Path, repeat: int = 3) -> dict[str, Any]:
    """Full ingest, unchanged re-ingest and raw encode of `corpus`, medians of `repeat` runs."""
    emb = get_embedder("")
    emb.embed(["warm-up"])  # the model load is not part of either side
    files, _ = discover([corpus])
    chunks = []
    for f in files:
        doc = load(f)
        chunks += chunk_blocks(doc.meta, doc.blocks)
    texts = [embed_text(c) for c in chunks]
    sentences = [s for c in chunks for s in c.sentences]

    full, reingest, raw, raw_all = [], [], [], []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as tmp:
            settings = Settings.from_env(home=Path(tmp) / "home")
            t = time.perf_counter()
            report = sync([corpus], settings, embedder=emb)
            full.append(time.perf_counter() - t)
            t = time.perf_counter()
            again = sync([corpus], settings, embedder=emb)
            reingest.append(time.perf_counter() - t)
            assert again.embedded == 0, "an unchanged re-ingest must embed nothing"
        # Raw encode: one SentenceTransformer.encode call over the texts (it sorts them by length
        # and batches them itself), the fastest way to embed the same texts.
        t = time.perf_counter()
        emb.embed(texts)
        raw.append(time.perf_counter() - t)
        t = time.perf_counter()
        emb.embed(texts + sentences)
        raw_all.append(time.perf_counter() - t)

    med = statistics.median
    out = {
        "documents": len(files),
        "chunks": len(chunks),
        "sentences": len(sentences),
        "embedded_full": report.embedded,
        "full_ingest_s": round(med(full), 3),
        "unchanged_reingest_s": round(med(reingest), 4),
        "reingest_speedup": round(med(full) / med(reingest), 1),
        "raw_encode_chunks_s": round(med(raw), 3),
        "raw_encode_chunks_and_sentences_s": round(med(raw_all), 3),
        # Ingest embeds every chunk and every sentence of it (small-to-big retrieval), so the raw
        # encode of the same chunks is the encode of those texts: that is the ratio.
        # The chunk-texts-only ratio says what the sentence vectors cost on top.
        "ingest_over_raw_encode": round(med(raw_all) / med(full), 3),
        "ingest_over_raw_encode_chunk_texts_only": round(med(raw) / med(full), 3),
        "repeat": repeat,
    }
    return out


if __name__ == "__main__":
    sys.exit(main())
