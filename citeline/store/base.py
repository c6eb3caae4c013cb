"""`Index`: what the embedded and the server store share (reads over the catalog, the lexical
index and the dense collection; the write protocol), with the steps where they differ left to
`EmbeddedIndex` and `ServerIndex`. `Index(settings)` picks one of them once, from the settings
(as Chroma's `Client` picks its `ServerAPI`): nothing tests the mode after that."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import Any, ClassVar

import numpy as np

from citeline.config import Settings
from citeline.errors import StoreUnavailableError
from citeline.faults import crash_point
from citeline.store import codec
from citeline.store.catalog import Catalog
from citeline.store.chroma import VectorCollection, chunk_metadata
from citeline.store.lexical import Lexical
from citeline.store.model import Audit, DocumentRecord, DocumentWrite, Filters, Tuning
from citeline.types import Chunk, DocMeta

_IMPLEMENTATIONS: dict[str, type[Index]] = {}


def implementation(mode: str) -> Any:
    """Register a store class for `mode` ("embedded" or "server")."""

    def register(cls: type[Index]) -> type[Index]:
        _IMPLEMENTATIONS[mode] = cls
        return cls

    return register


class Index:
    """Dense + lexical index under `settings.home`, or on a Chroma server (`chroma_url`) with a
    local cache under `settings.home` (see `citeline.store`)."""

    server_mode: ClassVar[bool] = False
    catalog: Catalog
    chunks: VectorCollection

    def __new__(cls, settings: Settings, create: bool = False, **_: Any) -> Index:
        if cls is Index:
            cls = _IMPLEMENTATIONS["server" if settings.chroma_url.strip() else "embedded"]
        return object.__new__(cls)

    def __init__(
        self, settings: Settings, create: bool = False, *, tuning: Tuning | None = None
    ) -> None:
        self.settings = settings
        self.home = settings.home_path
        self.tuning = tuning or Tuning()

    def _open_catalog(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.lexical = Lexical(catalog)

    def tune(self, **changes: Any) -> None:
        """Change tunables (`model.Tuning` fields), e.g. `index.tune(bm25_weights=(3, 1.5, 1))`."""
        self.tuning = replace(self.tuning, **changes)

    @property
    def db_path(self) -> Any:
        return self.catalog.path

    def _make_home(self) -> None:
        try:
            self.home.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreUnavailableError(
                f"Cannot create the index folder {self.home}: {exc.strerror}"
            ) from exc

    def close(self) -> None:
        self.catalog.close()

    def _failed(self, action: str, exc: Exception) -> StoreUnavailableError:
        return StoreUnavailableError(f"{action[0].upper()}{action[1:]} failed: {exc}")

    # -- reads -----------------------------------------------------------------------------------
    def refresh(self, *, force: bool = False) -> bool:
        """Server mode: catch up with the server (see `ServerIndex.refresh`). Embedded: nothing."""
        return False

    def version(self) -> int:
        """Embedded: the commit counter. Server mode: the server stamp the cache was built at."""
        return self.catalog.version()

    def dense_search(
        self, vector: np.ndarray, k: int, filters: Filters | None = None
    ) -> list[tuple[str, float]]:
        """Top-k chunk ids by cosine similarity (only committed chunks)."""
        self.refresh()
        try:
            hits = self.chunks.query(vector, k, filters)
        except Exception as exc:
            raise self._failed("dense search", exc) from exc
        committed = self.catalog.committed([cid for cid, _ in hits])
        return [(cid, sim) for cid, sim in hits if cid in committed]

    def best_sentences(self, ids: Sequence[str], vector: np.ndarray) -> list[tuple[str, float]]:
        """The committed chunks among `ids` ranked by their best sentence's cosine with `vector`
        (small-to-big). The sentence vectors are read from SQLite for these candidates only: no
        index of every sentence is searched or held in memory (at 100k chunks the sentence
        collection's HNSW index took ~775 MB of RSS once queried, bench/README.md)."""
        ids = list(dict.fromkeys(ids))
        rows = self.catalog.sentence_blobs(ids) if ids else []
        if not rows:
            return []
        mats = [codec.decode(blob, dim=vector.shape[-1]) for _, blob in rows]
        sims = np.concatenate(mats) @ vector.astype(np.float32)
        starts = np.cumsum([0, *(len(m) for m in mats[:-1])])
        best = np.maximum.reduceat(sims, starts)
        order = sorted(range(len(rows)), key=lambda i: (-best[i], rows[i][0]))
        return [(rows[i][0], float(best[i])) for i in order]

    def unknown_terms(self, terms: Sequence[str]) -> list[str]:
        """The terms that occur in no indexed chunk (matched as the lexical index does: Porter
        stems, case-folded), in the order given."""
        self.refresh()  # server mode: a term a new document brought must not count as unknown
        return self.lexical.unknown_terms(terms)

    def lexical_search(
        self, query: str, k: int, filters: Filters | None = None
    ) -> list[tuple[str, float]]:
        """Top-k chunk ids by BM25 (higher is better), over the query's selective terms."""
        self.refresh()
        return self.lexical.search(query, k, filters, self.tuning)

    def get_chunks(self, ids: Sequence[str]) -> dict[str, tuple[Chunk, np.ndarray]]:
        """Committed chunks by id, each with its sentence vectors (one row per sentence)."""
        return self.catalog.get_chunks(ids)

    def documents(self) -> dict[str, DocumentRecord]:
        self.refresh()
        return self.catalog.documents()

    def doc_chunk_ids(self, doc_id: str) -> dict[str, tuple[str, bytes]]:
        """Chunk id -> (section, sentence vectors) of one document, to reuse on update."""
        return self.catalog.doc_chunk_ids(doc_id)

    def stats(self) -> dict[str, Any]:
        self.refresh()
        return self.catalog.stats()

    def facets(self) -> dict[str, Any]:
        self.refresh()
        return self.catalog.facets()

    def audit(self) -> Audit:
        """What every layer holds (tests, operators): see `model.Audit`."""
        return Audit(
            rows=self.catalog.rows(),
            lexical=self.catalog.lexical_ids(),
            dense=frozenset(self._all_ids(self.chunks)),
            collections=tuple(self._collection_names()),
            telemetry=self.chunks.telemetry(),
        )

    def _collection_names(self) -> list[str]:
        raise NotImplementedError

    # -- writes (callers hold the ingest lock; server mode also the writer lease) --------------
    @contextmanager
    def writer(self) -> Iterator[Index]:
        """Hold the right to write (see `ServerIndex.writer`)."""
        yield self

    def replace_document(
        self,
        meta: DocMeta,
        content_hash: str,
        chunks: Sequence[Chunk],
        chunk_vectors: dict[str, np.ndarray],
        sentence_vectors: dict[str, bytes],
    ) -> None:
        """Swap in a document's new chunks; `chunk_vectors` holds vectors for ids Chroma lacks."""
        self.replace_documents(
            [DocumentWrite(meta, content_hash, chunks, chunk_vectors, sentence_vectors)]
        )

    def replace_documents(self, items: Sequence[DocumentWrite | Sequence[Any]]) -> None:
        """Swap in many documents at once: one Chroma upsert pass, one commit.

        Write protocol, crash-safe without a shared transaction: 1. upsert the new chunk vectors
        (invisible: no committed row lists them); 2. the commit point swaps the documents' rows;
        3. delete the old chunk ids. Bulk loads pay one pass, not one per document."""
        writes = [DocumentWrite.of(item) for item in items]
        doc_ids = [w.meta.doc_id for w in writes]
        if len(set(doc_ids)) != len(doc_ids):
            # A repeated id would delete its own first version's rows inside the transaction.
            raise ValueError("replace_documents got the same doc_id twice")
        self._require_writer()
        old_ids = self._listed_chunks(doc_ids)
        new_ids: set[str] = set()
        to_add: list[Chunk] = []
        kept: list[Chunk] = []
        vectors: dict[str, np.ndarray] = {}
        sent_vecs: dict[str, bytes] = {}
        for w in writes:
            old_ids.update(self.catalog.doc_chunk_ids(w.meta.doc_id))
            new_ids.update(c.id for c in w.chunks)
            to_add += [c for c in w.chunks if c.id in w.chunk_vectors]
            kept += [c for c in w.chunks if c.id not in w.chunk_vectors]
            vectors.update(w.chunk_vectors)
            sent_vecs.update(w.sentence_vectors)
        stored = self._upsert_vectors(to_add, vectors, sent_vecs)  # 1. vectors first (invisible)
        # Chunks kept from the old version carry their document's metadata in Chroma too, which
        # dense-search filters read: rewrite it (a changed year, type or publisher), before the
        # commit so that a crash leaves the document changed for the next run to finish.
        self._update_metadata(kept)
        crash_point("after_vectors")
        now = time.time()
        gen = self._publish(writes, [], now)  # 2. the commit point (server mode)
        self._commit_rows(writes, stored, now, gen)  # 2. the commit point (embedded); the cache
        crash_point("after_commit")
        stale = sorted(old_ids - new_ids)
        if stale:  # 3. old vectors go last
            self._delete_vectors(stale)

    def _commit_rows(
        self, writes: Sequence[DocumentWrite], stored: dict[str, bytes], now: float, gen: int
    ) -> None:
        with self.catalog.transaction():
            known = self.catalog.known_documents()
            for w in writes:
                if w.meta.doc_id in known:
                    # Only then: the FTS delete scans the whole table (chunk_id is UNINDEXED),
                    # which made a 3,600-document bulk load quadratic (~20 s of 100).
                    self.catalog.delete_document(w.meta.doc_id)
                svecs = {**w.sentence_vectors, **stored}
                self.catalog.insert_document(w.meta, w.content_hash, w.chunks, svecs, now)
                self._cached(w.meta.doc_id, gen)
            self.catalog.bump(gen)
            crash_point("before_commit")

    def remove_document(self, doc_id: str) -> None:
        self._require_writer()
        old_ids = set(self.catalog.doc_chunk_ids(doc_id)) | self._listed_chunks([doc_id])
        gen = self._publish([], [doc_id], time.time())
        with self.catalog.transaction():
            self.catalog.delete_document(doc_id)
            self.catalog.bump(gen)
            crash_point("before_remove_commit")
        crash_point("after_remove_commit")
        if old_ids:
            self._delete_vectors(sorted(old_ids))

    def reconcile(self) -> dict[str, int]:
        """Repair what an interrupted run left: Chroma orphans and documents missing vectors."""
        chunk_ids, sentence_chunks, listed = self._layers()
        orphans = sorted((chunk_ids | sentence_chunks) - set(listed))
        if orphans:
            self._delete_vectors(orphans)
        crash_point("reconcile")
        complete = chunk_ids & sentence_chunks
        broken_docs = sorted({listed[i] for i in set(listed) - complete})
        for doc_id in broken_docs:
            self.remove_document(doc_id)
        self.refresh(force=True)
        return {"orphan_vectors": len(orphans), "documents_missing_vectors": len(broken_docs)}

    def drop_all(self) -> None:
        """Delete everything (for --rebuild)."""
        self._require_writer()
        gen = self._publish_drop()
        ids = self._vector_chunk_ids()
        if ids:
            self._delete_vectors(sorted(ids))
        with self.catalog.transaction():
            self.catalog.clear()
            self.catalog.bump(gen)

    # -- the steps where the embedded and the server store differ -------------------------------
    def _require_writer(self) -> None:
        """Raise unless this process may write now."""

    def _listed_chunks(self, doc_ids: Sequence[str]) -> set[str]:
        """Chunk ids that an authority other than the catalog lists for these documents."""
        return set()

    def _publish(self, writes: Sequence[DocumentWrite], removed: Sequence[str], now: float) -> int:
        """The commit point outside the catalog, if any; returns the generation written (0)."""
        return 0

    def _publish_drop(self) -> int:
        return 0

    def _cached(self, doc_id: str, gen: int) -> None:
        """The catalog now holds generation `gen` of a document (server cache)."""

    def _layers(self) -> tuple[set[str], set[str], dict[str, str]]:
        """(ids with chunk vectors, ids with sentence vectors, committed chunk id -> doc id)."""
        raise NotImplementedError

    def _vector_chunk_ids(self) -> set[str]:
        return self._all_ids(self.chunks)

    def _chunk_meta(self, c: Chunk) -> dict[str, Any]:
        return chunk_metadata(c)

    def _after_chunk_batch(
        self, batch: Sequence[Chunk], sentence_vectors: dict[str, bytes]
    ) -> dict[str, bytes]:
        """After a batch of chunk vectors: write what else belongs to them; returns sentence
        vectors as stored, when they differ from the given ones."""
        return {}

    def _after_delete_batch(self, batch: Sequence[str]) -> None:
        """After a batch of chunk deletes."""

    # -- vectors ---------------------------------------------------------------------------------
    def _batches(self, items: Sequence[Any], size: int = 0) -> Iterable[Sequence[Any]]:
        size = size or self.tuning.batch
        for i in range(0, len(items), size):
            yield items[i : i + size]

    def _all_ids(self, collection: VectorCollection) -> set[str]:
        try:
            return collection.all_ids()
        except Exception as exc:
            raise self._failed("listing vector ids", exc) from exc

    def _upsert_vectors(
        self,
        chunks: Sequence[Chunk],
        vectors: dict[str, np.ndarray],
        sentence_vectors: dict[str, bytes],
    ) -> dict[str, bytes]:
        """Write chunk vectors (and whatever `_after_chunk_batch` adds)."""
        stored: dict[str, bytes] = {}
        try:
            for batch in self._batches(chunks):
                self.chunks.upsert(
                    ids=[c.id for c in batch],
                    embeddings=np.stack([vectors[c.id] for c in batch]),
                    metadatas=[self._chunk_meta(c) for c in batch],
                    documents=[c.text for c in batch],
                )
                crash_point("between_collections")  # after a batch of chunk vectors
                stored.update(self._after_chunk_batch(batch, sentence_vectors))
        except Exception as exc:
            raise self._failed("writing vectors to Chroma", exc) from exc
        return stored

    def _update_metadata(self, chunks: Sequence[Chunk]) -> None:
        """Rewrite the metadata of chunks Chroma already holds (their text, id and vectors are
        unchanged, their document's front matter may not be)."""
        try:
            for batch in self._batches(chunks):
                self.chunks.update(
                    ids=[c.id for c in batch], metadatas=[self._chunk_meta(c) for c in batch]
                )
        except Exception as exc:
            raise self._failed("updating chunk metadata in Chroma", exc) from exc

    def _delete_vectors(self, ids: Sequence[str]) -> None:
        try:
            for batch in self._batches(ids):
                self.chunks.delete(ids=list(batch))
                crash_point("between_deletes")  # after a batch of chunk deletes
                self._after_delete_batch(batch)
        except Exception as exc:
            raise self._failed("deleting vectors from Chroma", exc) from exc
