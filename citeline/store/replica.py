"""A server-mode replica's local cache: `CITELINE_HOME/server-cache-<hash>.db` has the embedded
schema (so lexical search, `get_chunks`, `documents` and the "committed" check run unchanged)
plus the generation of every cached document.

At open, and at most once every `Tuning.stamp_ttl` seconds before a read, a reader compares the
server stamp with the one its cache was built at; when they differ it lists (id, generation) of
every manifest record, fetches only the records, chunks and sentence vectors of documents whose
generation changed, drops documents that are gone, and swaps them into the cache in one SQLite
transaction. Documents whose chunks are not all on the server (a concurrent commit replaced them
mid-refresh, or a broken write) keep their old cached rows until the next stamp change. Deleting
the cache file is always safe: a new replica builds its whole cache from the server.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from citeline.errors import StoreUnavailableError
from citeline.store import codec
from citeline.store.catalog import Catalog
from citeline.store.chroma import VectorCollection
from citeline.store.manifest import Manifest
from citeline.store.model import VERSION_KEY, Tuning, doc_meta
from citeline.types import Chunk, DocMeta


class _Stale(Exception):
    """Another process sharing this cache refreshed it meanwhile: start over."""


@dataclass(frozen=True)
class _Fetched:
    gen: int
    meta: DocMeta
    content_hash: str
    chunks: list[Chunk]
    sentence_vectors: dict[str, bytes]
    ingested_at: float


def stored_sentence_vectors(
    sentences: VectorCollection, counts: dict[str, int]
) -> dict[str, bytes]:
    """Sentence vectors per chunk (chunk id -> number of sentences) as the server stores them;
    chunks with a sentence missing are left out. A cosine collection keeps a re-normalised copy
    that differs from the embedder's output in the last bits, so every server-mode process (the
    writer too) caches the server's copy: they then all hold the same bytes and answers."""
    sids = [f"{cid}:{i}" for cid, n in counts.items() for i in range(n)]
    vecs: dict[str, np.ndarray] = {}
    for i in range(0, len(sids), 1000):
        res = sentences.get(ids=sids[i : i + 1000], include=["embeddings"])
        embs = res["embeddings"]
        for sid, e in zip(res["ids"], embs if embs is not None else [], strict=True):
            vecs[sid] = np.asarray(e, dtype=np.float32)
    out: dict[str, bytes] = {}
    for cid, n in counts.items():
        keys = [f"{cid}:{i}" for i in range(n)]
        if all(k in vecs for k in keys):
            out[cid] = codec.encode(np.stack([vecs[k] for k in keys]) if keys else np.zeros((0, 0)))
    return out


class Replica:
    """Keeps a catalog in line with a server collection (see the module docstring)."""

    def __init__(
        self,
        catalog: Catalog,
        manifest: Manifest,
        chunks: VectorCollection,
        sentences: VectorCollection,
        tuning: Callable[[], Tuning],
    ) -> None:
        self.catalog, self.manifest = catalog, manifest
        self.chunks, self.sentences = chunks, sentences
        self.tuning = tuning
        self._lock = threading.Lock()
        self._checked = float("-inf")

    def refresh(self, *, force: bool = False) -> bool:
        """Check the stamp (at most once every `stamp_ttl` seconds unless `force`) and catch up
        when it moved. True when the cache changed."""
        if not force and time.monotonic() - self._checked < self.tuning().stamp_ttl:
            return False
        # One refresh at a time per process; other threads keep reading the current cache.
        if not self._lock.acquire(blocking=force):
            return False
        try:
            for _ in range(5):
                try:
                    changed = self._catch_up()
                except _Stale:
                    continue
                self._checked = time.monotonic()
                return changed
        finally:
            self._lock.release()
        raise StoreUnavailableError(
            f"The local cache {self.catalog.path} kept changing under this refresh; try again"
        )

    def _seen(self) -> tuple[str | None, str | None]:
        return self.catalog.meta_value("server"), self.catalog.meta_value("version")

    def _catch_up(self) -> bool:
        meta, ident = self.manifest.read_meta()
        stamp = str(int(meta.get(VERSION_KEY, 0)))
        seen = self._seen()
        if seen == (ident, stamp):
            return False
        same_server = seen[0] == ident
        local = self.catalog.generations() if same_server else {}
        gens = self.manifest.generations()
        removed = sorted(set(local) - set(gens))
        wanted = sorted(d for d, g in gens.items() if local.get(d) != g)
        fetched = self.fetch(list(self.manifest.records(wanted).values()))
        cat = self.catalog
        with cat.transaction():
            if self._seen() != seen:  # another process sharing this cache refreshed meanwhile
                raise _Stale
            if not same_server:
                cat.clear()
            for doc_id in removed:
                cat.delete_document(doc_id)
            for f in fetched:
                cat.delete_document(f.meta.doc_id)
                cat.insert_document(
                    f.meta, f.content_hash, f.chunks, f.sentence_vectors, f.ingested_at
                )
                cat.set_generation(f.meta.doc_id, f.gen)
            cat.set_meta("server", ident)
            cat.set_meta("version", stamp)
        return True

    def _texts(self, ids: Sequence[str]) -> dict[str, tuple[str, str, tuple[str, ...]]]:
        texts: dict[str, tuple[str, str, tuple[str, ...]]] = {}
        for i in range(0, len(ids), 500):
            res = self.chunks.get(ids=list(ids[i : i + 500]), include=["documents", "metadatas"])
            for cid, text, md in zip(
                res["ids"], res["documents"] or [], res["metadatas"] or [], strict=True
            ):
                if md is not None and text is not None and "sentences" in md:
                    sents = tuple(json.loads(str(md["sentences"])))
                    texts[cid] = (text, str(md.get("section", "")), sents)
        return texts

    def fetch(self, records: Sequence[dict[str, Any]]) -> list[_Fetched]:
        """Chunks and sentence vectors of manifest records. A document some of whose chunks or
        sentence vectors are not on the server (replaced by a commit since its record was read,
        or a broken write) is left out: its cached rows stay until the next refresh."""
        try:
            texts = self._texts([c[0] for r in records for c in r["chunks"]])
            counts = {cid: len(t[2]) for cid, t in texts.items()}
            vecs = stored_sentence_vectors(self.sentences, counts)
        except Exception as exc:
            raise self.manifest.remote.error("fetching chunks for the local cache", exc) from exc
        out = []
        for r in records:
            meta = doc_meta(r)
            chunks: list[Chunk] = []
            for cid, ordinal, page in r["chunks"]:
                if cid not in texts or cid not in vecs:
                    break
                text, section, sents = texts[cid]
                chunks.append(
                    Chunk(
                        cid,
                        meta,
                        text,
                        section=section,
                        page=page,
                        ordinal=ordinal,
                        sentences=sents,
                    )
                )
            else:
                svecs = {c.id: vecs[c.id] for c in chunks}
                out.append(
                    _Fetched(
                        int(r["gen"]),
                        meta,
                        r["content_hash"],
                        chunks,
                        svecs,
                        float(r["ingested_at"]),
                    )
                )
        return out
