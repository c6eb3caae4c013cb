"""Server mode (CITELINE_CHROMA_URL set: `chromadb.HttpClient` against a `chroma run` server).

Several app processes, possibly on different machines and each with its own CITELINE_HOME, read
one collection that an ingest process writes. A SQLite file in one CITELINE_HOME cannot be their
commit point, so the server holds everything and each process keeps a disposable local cache
(`replica`):

- On the server: the chunk collection (vectors, chunk text as the document, metadata incl. the
  chunk's sentences), the `-sentences` collection (sentence vectors: the store readers fill
  their caches from; it is never searched), and the `-manifest` collection (`manifest`).
- Write protocol: 1. upsert new chunk and sentence vectors (listed in no manifest record:
  invisible); 2. upsert the documents' manifest records with generation stamp+1, then set
  stamp = stamp+1 (the commit point); 3. delete the old chunk ids. The writer also applies the
  change to its own cache.
- Crash safety: a crash before step 2 leaves orphan vectors; between the manifest write and the
  stamp bump, a manifest newer than the stamp (new readers see it, running ones at the next
  commit); after step 2, stale vectors. The next ingest repairs all three: taking the lease
  moves the stamp past every generation in the manifest (so running readers look again, at the
  cost of one refresh per ingest run), and `reconcile()` deletes vectors no manifest record
  lists and removes records whose chunks are missing.
- One writer: the writer lease (`lease`).

Trade-offs: every reader holds a full copy of chunk texts, sentence vectors and the FTS index
(disk, and a full download when a replica starts or its cache is deleted) instead of querying a
shared lexical service; a commit reaches a running reader after at most `stamp_ttl` seconds plus
one refresh (dense hits for chunks the reader has not cached yet are dropped, as in embedded
mode); each refresh lists (id, generation) of every document, so it costs O(documents) plus the
changed documents' chunks; the stamp check is one HTTP round trip per question at most.
Distributed Chroma / Chroma Cloud with native sparse (BM25) search could replace the local
lexical cache altogether (see the README).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import numpy as np

from citeline.chroma_client import endpoint
from citeline.config import Settings, mask_url
from citeline.errors import IndexMissingError, StoreUnavailableError
from citeline.store import chroma, codec
from citeline.store.base import Index, implementation
from citeline.store.catalog import Catalog
from citeline.store.chroma import VectorCollection, chunk_metadata
from citeline.store.lease import WriterLease
from citeline.store.manifest import Manifest, Remote, record
from citeline.store.model import (
    MANIFEST_SUFFIX,
    SENTENCES_SUFFIX,
    Audit,
    DocumentWrite,
    Tuning,
)
from citeline.store.replica import Replica, stored_sentence_vectors
from citeline.types import Chunk


def server_cache_name(settings: Settings) -> str:
    """File name of a server-mode reader's local cache in CITELINE_HOME."""
    # The URL as shown (a password is no part of a file name); tenant and database when set.
    where = "".join(f"|{w}" for w in (settings.chroma_tenant, settings.chroma_database) if w)
    key = f"{mask_url(settings.chroma_url.strip())}|{settings.collection}{where}".encode()
    return f"server-cache-{hashlib.sha256(key).hexdigest()[:12]}.db"


def _open_remote(settings: Settings, create: bool) -> tuple[Remote, list[VectorCollection]]:
    name = settings.collection
    remote = Remote(endpoint(settings), chroma.server_client(settings), name)
    names = (name, name + SENTENCES_SUFFIX, name + MANIFEST_SUFFIX)
    try:
        return remote, chroma.open_server(remote.client, names, create=create)
    except chroma.CollectionMissing:
        raise IndexMissingError(
            f"No Citeline index in collection {name!r} on the Chroma server at "
            f"{remote.url}: run `python -m ingest` with the same CITELINE_CHROMA_URL and "
            "CITELINE_COLLECTION first"
        ) from None
    except Exception as exc:
        raise remote.error(f"opening collection {name!r}", exc) from exc


@implementation("server")
class ServerIndex(Index):
    """A server collection, read through a local cache (see the module docstring)."""

    server_mode = True

    def __init__(
        self, settings: Settings, create: bool = False, *, tuning: Tuning | None = None
    ) -> None:
        super().__init__(settings, create, tuning=tuning)
        self.remote, (self.chunks, self.sentences, manifest) = _open_remote(settings, create)
        self.manifest = Manifest(self.remote, manifest)
        self.lease = WriterLease(self.manifest)
        self._make_home()
        self._open_catalog(Catalog(self.home / server_cache_name(settings), cache=True))
        self.replica = Replica(
            self.catalog, self.manifest, self.chunks, self.sentences, lambda: self.tuning
        )
        self.refresh(force=True)

    def _failed(self, action: str, exc: Exception) -> StoreUnavailableError:
        return self.remote.error(action, exc)

    def refresh(self, *, force: bool = False) -> bool:
        """Bring the local cache (lexical index, chunk texts, sentence vectors, manifest) in line
        with the server when its version stamp moved. Checks the stamp at most once every
        `stamp_ttl` seconds unless `force`. True when the cache changed."""
        return self.replica.refresh(force=force)

    def nearest_sentences(self, vector: np.ndarray, k: int) -> list[tuple[str, float]]:
        """The server's sentence collection searched directly (audits: it is what caches are
        filled from, never searched by the app)."""
        try:
            return self.sentences.query(vector, k)
        except Exception as exc:
            raise self._failed("dense search", exc) from exc

    def audit(self) -> Audit:
        gens = self.manifest.generations()
        return replace(
            super().audit(),
            sentence_collection=frozenset(self._all_ids(self.sentences)),
            manifest=self.manifest.records(sorted(gens)),
            stamp=self.manifest.stamp(),
            lease=self.manifest.lease(),
        )

    def _collection_names(self) -> list[str]:
        return [self.chunks.name, self.sentences.name, self.manifest.collection.name]

    @contextmanager
    def writer(self) -> Iterator[Index]:
        """Hold the writer lease on the server (IngestLockedError when another ingest holds
        it); the writer starts from the server's state."""
        self.lease.acquire(self.tuning)
        try:
            self.refresh(force=True)
            yield self
        finally:
            self.lease.release()

    # -- the server-mode steps of the write protocol ---------------------------------------------
    def _require_writer(self) -> None:
        self.lease.require()

    def _listed_chunks(self, doc_ids: Sequence[str]) -> set[str]:
        # The server's manifest is authoritative for old chunks.
        return {c[0] for rec in self.manifest.records(doc_ids).values() for c in rec["chunks"]}

    def _publish(self, writes: Sequence[DocumentWrite], removed: Sequence[str], now: float) -> int:
        records = [record(w.meta, w.content_hash, w.chunks, now) for w in writes]
        return self.manifest.commit(records, removed, self.lease)

    def _publish_drop(self) -> int:
        return self.manifest.commit([], sorted(self.manifest.generations()), self.lease)

    def _cached(self, doc_id: str, gen: int) -> None:
        self.catalog.set_generation(doc_id, gen)

    def _layers(self) -> tuple[set[str], set[str], dict[str, str]]:
        chunk_ids = self._all_ids(self.chunks)
        sentence_chunks = {i.rsplit(":", 1)[0] for i in self._all_ids(self.sentences)}
        self.lease.require()
        records = self.manifest.records(sorted(self.manifest.generations()))
        listed = {c[0]: r["doc_id"] for r in records.values() for c in r["chunks"]}
        return chunk_ids, sentence_chunks, listed

    def _vector_chunk_ids(self) -> set[str]:
        sentence_ids = self._all_ids(self.sentences)
        return self._all_ids(self.chunks) | {i.rsplit(":", 1)[0] for i in sentence_ids}

    def _chunk_meta(self, c: Chunk) -> dict[str, Any]:
        # Readers build their cache from the server, so the chunk also carries its sentences
        # (a function of its text, like its id).
        return chunk_metadata(c, json.dumps(list(c.sentences)))

    def _after_chunk_batch(
        self, batch: Sequence[Chunk], sentence_vectors: dict[str, bytes]
    ) -> dict[str, bytes]:
        """Write the batch's sentence vectors; returns them as the server stores them, for the
        writer's own cache (see `replica.stored_sentence_vectors`)."""
        s_ids: list[str] = []
        s_vecs: list[np.ndarray] = []
        s_meta: list[dict[str, Any]] = []
        for c in batch:
            s_ids += [f"{c.id}:{i}" for i in range(len(c.sentences))]
            s_vecs.append(codec.decode(sentence_vectors[c.id], rows=len(c.sentences)))
            s_meta += [chunk_metadata(c)] * len(c.sentences)
        all_vecs = np.concatenate(s_vecs)
        for i in range(0, len(s_ids), 1000):
            self.sentences.upsert(
                ids=s_ids[i : i + 1000],
                embeddings=all_vecs[i : i + 1000],
                metadatas=s_meta[i : i + 1000],
            )
        return stored_sentence_vectors(self.sentences, {c.id: len(c.sentences) for c in batch})

    def _after_delete_batch(self, batch: Sequence[str]) -> None:
        self.sentences.delete_chunks(list(batch))
