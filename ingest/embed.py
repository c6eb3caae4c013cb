"""Embedding chunks for the index: chunk vectors and sentence vectors in one length-sorted pass
(what ingest, the BEIR eval and the benchmarks all use)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from citeline.embeddings import Embedder
from citeline.faults import crash_point
from citeline.store import codec
from citeline.types import Chunk

# Progress of the embedding: (texts embedded so far, texts known so far) after each batch.
Progress = Callable[[int, int], None]


def embed_text(chunk: Chunk) -> str:
    """What the dense index embeds: the title and section give a short chunk its context."""
    return f"{chunk.doc.title}. {chunk.section}. {chunk.text}"


def embed_chunks(
    emb: Embedder | None,
    chunks: Sequence[Chunk],
    batch: int,
    progress: Progress | None = None,
) -> tuple[dict[str, np.ndarray], dict[str, bytes]]:
    """Chunk vectors and each chunk's sentence vectors (float32 bytes, one row per sentence).

    The texts are embedded in order of length, so each model batch holds texts of similar
    length (sentence-transformers pads a batch to its longest text)."""
    if not chunks or emb is None:
        return {}, {}
    items = [embed_text(c) for c in chunks] + [s for c in chunks for s in c.sentences]
    order = sorted(range(len(items)), key=lambda i: len(items[i]))
    allv = np.zeros((len(items), emb.dim), dtype=np.float32)
    for i in range(0, len(order), batch):
        part = order[i : i + batch]
        allv[part] = emb.embed([items[k] for k in part])
        crash_point("embed_batch")
        if progress:
            progress(min(i + batch, len(items)), len(items))
    vectors = {c.id: allv[i] for i, c in enumerate(chunks)}
    sent_vecs: dict[str, bytes] = {}
    pos = len(chunks)
    for c in chunks:
        n = len(c.sentences)
        sent_vecs[c.id] = codec.encode(allv[pos : pos + n])
        pos += n
    return vectors, sent_vecs
