"""Hand-written fakes for unit tests of logic (never a substitute for the integration tests)."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import numpy as np

from citeline.store import (
    Audit,
    ChunkRow,
    DocumentRecord,
    DocumentWrite,
    Filters,
    Tuning,
    codec,
    query_terms,
)
from citeline.text import content_words, stem, words
from citeline.types import Chunk, DocMeta


class HashEmbedder:
    """Bag of content-word stems hashed into 64 dimensions, L2-normalised: texts sharing words
    are similar, which is all the retrieval and answer logic needs in a unit test."""

    name = "hash-embedder"
    dim = 64

    def __init__(self) -> None:
        self.calls = 0
        self.texts = 0

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        self.texts += len(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            for w in content_words(t):
                h = int(hashlib.md5(w.encode()).hexdigest(), 16)
                out[i, h % self.dim] += 1.0
            n = np.linalg.norm(out[i])
            if n:
                out[i] /= n
        return out


class FailingChatModel:
    """A chat model whose server never answers: `invoke` and `stream` raise `exc`."""

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc
        self.calls = 0

    def invoke(self, messages: object) -> object:
        self.calls += 1
        raise self.exc

    def stream(self, messages: object) -> object:
        self.calls += 1
        raise self.exc


class InMemoryIndex:
    """A store in plain dictionaries (the `citeline.store.WritableStore` protocol): exact cosine
    search, a small BM25 over stemmed words, no Chroma and no SQLite. It passes the same
    contract suite as the real stores (tests/store_contract.py), so retrieval and pipeline logic
    can be unit-tested on it."""

    server_mode = False

    def __init__(self, tuning: Tuning | None = None) -> None:
        self.tuning = tuning or Tuning()
        self._docs: dict[str, DocumentRecord] = {}
        self._chunks: dict[str, Chunk] = {}  # committed chunk rows, in write order
        self._sentences: dict[str, bytes] = {}
        self._vectors: dict[str, np.ndarray] = {}  # the dense layer (may hold uncommitted ids)
        self._version = 0

    def tune(self, **changes: object) -> None:
        self.tuning = replace(self.tuning, **changes)  # type: ignore[arg-type]

    # -- reads -----------------------------------------------------------------------------------
    def version(self) -> int:
        return self._version

    def refresh(self, *, force: bool = False) -> bool:
        return False

    def _passes(self, cid: str, filters: Filters | None) -> bool:
        return filters is None or filters.accepts(self._chunks[cid].doc)

    def dense_search(
        self, vector: np.ndarray, k: int, filters: Filters | None = None
    ) -> list[tuple[str, float]]:
        ids = [c for c in self._vectors if c in self._chunks and self._passes(c, filters)]
        sims = [(c, _cosine(self._vectors[c], vector)) for c in ids]
        return sorted(sims, key=lambda s: (-s[1], s[0]))[:k]

    def lexical_search(
        self, query: str, k: int, filters: Filters | None = None
    ) -> list[tuple[str, float]]:
        terms = {stem(t) for t in query_terms(query)[:64]}
        ids = [c for c in self._chunks if self._passes(c, filters)]
        fields = {c: _fields(self._chunks[c]) for c in ids}
        n = len(ids) or 1
        scored = []
        for c in ids:
            score = 0.0
            for t in terms:
                df = sum(1 for f in fields.values() if any(t in words for words in f))
                if not df:
                    continue
                idf = np.log(1 + (n - df + 0.5) / (df + 0.5))
                tf = sum(
                    w * f.count(t) for w, f in zip(self.tuning.bm25_weights, fields[c], strict=True)
                )
                score += idf * tf / (tf + 1.2)
            if score > 0:
                scored.append((c, float(score)))
        return sorted(scored, key=lambda s: (-s[1], s[0]))[:k]

    def best_sentences(self, ids: Sequence[str], vector: np.ndarray) -> list[tuple[str, float]]:
        out = []
        for c in dict.fromkeys(ids):
            if c in self._chunks and self._sentences[c]:
                mat = codec.decode(self._sentences[c], dim=vector.shape[-1])
                out.append((c, float(np.max(mat @ vector.astype(np.float32)))))
        return sorted(out, key=lambda s: (-s[1], s[0]))

    def unknown_terms(self, terms: Sequence[str]) -> list[str]:
        known = {w for c in self._chunks.values() for f in _fields(c) for w in f}
        return [t for t in (t.replace('"', "") for t in terms) if t and stem(t) not in known]

    def get_chunks(self, ids: Sequence[str]) -> dict[str, tuple[Chunk, np.ndarray]]:
        return {
            c: (
                self._chunks[c],
                codec.decode(self._sentences[c], rows=len(self._chunks[c].sentences)),
            )
            for c in ids
            if c in self._chunks
        }

    def documents(self) -> dict[str, DocumentRecord]:
        return dict(self._docs)

    def doc_chunk_ids(self, doc_id: str) -> dict[str, tuple[str, bytes]]:
        return {
            c.id: (c.section, self._sentences[c.id])
            for c in self._chunks.values()
            if c.doc.doc_id == doc_id
        }

    def stats(self) -> dict[str, object]:
        last = max((d.ingested_at for d in self._docs.values()), default=None)
        return {
            "documents": len(self._docs),
            "chunks": len(self._chunks),
            "last_ingest": last,
            "version": self._version,
        }

    def facets(self) -> dict[str, object]:
        metas = [d.meta for d in self._docs.values()]
        years = [m.year for m in metas if m.year]
        return {
            "types": sorted({m.type for m in metas}),
            "publishers": sorted({m.publisher for m in metas}),
            "year_min": min(years, default=None),
            "year_max": max(years, default=None),
        }

    def audit(self) -> Audit:
        rows = tuple(
            ChunkRow(c.id, c.doc.doc_id, c.text, c.sentences, self._sentences[c.id])
            for c in self._chunks.values()
        )
        return Audit(rows, tuple(self._chunks), frozenset(self._vectors), ("in-memory",))

    def close(self) -> None:
        pass

    # -- writes ----------------------------------------------------------------------------------
    @contextmanager
    def writer(self) -> Iterator[InMemoryIndex]:
        yield self

    def replace_document(
        self,
        meta: DocMeta,
        content_hash: str,
        chunks: Sequence[Chunk],
        chunk_vectors: dict[str, np.ndarray],
        sentence_vectors: dict[str, bytes],
    ) -> None:
        self.replace_documents(
            [DocumentWrite(meta, content_hash, chunks, chunk_vectors, sentence_vectors)]
        )

    def replace_documents(self, items: Sequence[DocumentWrite | Sequence[Any]]) -> None:
        writes = [DocumentWrite.of(i) for i in items]
        doc_ids = [w.meta.doc_id for w in writes]
        if len(set(doc_ids)) != len(doc_ids):
            raise ValueError("replace_documents got the same doc_id twice")
        now = time.time()
        for w in writes:
            old = set(self.doc_chunk_ids(w.meta.doc_id)) - {c.id for c in w.chunks}
            self._drop(w.meta.doc_id)
            for c in w.chunks:
                if c.id in w.chunk_vectors:
                    self._vectors[c.id] = np.asarray(w.chunk_vectors[c.id], dtype=np.float32)
                self._chunks[c.id] = c
                self._sentences[c.id] = w.sentence_vectors[c.id]
            for cid in old:
                self._vectors.pop(cid, None)
            sections = tuple(dict.fromkeys(c.section for c in w.chunks))
            self._docs[w.meta.doc_id] = DocumentRecord(
                w.meta, w.content_hash, len(w.chunks), sections, now
            )
        self._version += 1

    def _drop(self, doc_id: str) -> None:
        for cid in list(self.doc_chunk_ids(doc_id)):
            del self._chunks[cid], self._sentences[cid]
        self._docs.pop(doc_id, None)

    def remove_document(self, doc_id: str) -> None:
        for cid in self.doc_chunk_ids(doc_id):
            self._vectors.pop(cid, None)
        self._drop(doc_id)
        self._version += 1

    def reconcile(self) -> dict[str, int]:
        orphans = [c for c in self._vectors if c not in self._chunks]
        for c in orphans:
            del self._vectors[c]
        broken = sorted({c.doc.doc_id for c in self._chunks.values() if c.id not in self._vectors})
        for doc_id in broken:
            self.remove_document(doc_id)
        return {"orphan_vectors": len(orphans), "documents_missing_vectors": len(broken)}

    def drop_all(self) -> None:
        self._docs.clear()
        self._chunks.clear()
        self._sentences.clear()
        self._vectors.clear()
        self._version += 1


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    return float(a @ b) / (na * nb) if na and nb else 0.0


def _fields(c: Chunk) -> tuple[list[str], list[str], list[str]]:
    """Title, section and text as stemmed words (what the fake's lexical search matches)."""
    return tuple([stem(w) for w in words(t)] for t in (c.doc.title, c.section, c.text))  # type: ignore[return-value]
