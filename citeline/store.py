"""The index: a Chroma collection (dense) and a SQLite database (manifest, chunk texts, sentence
vectors and an FTS5 BM25 index) kept in step.

Write protocol (crash-safe without a shared transaction; see `replace_documents`):
1. upsert the document's new chunk vectors into Chroma;
2. one SQLite transaction swaps the document's rows (manifest, chunks, FTS, sentences);
3. delete the document's old chunk ids from Chroma.
SQLite is the commit point: readers only return chunk ids present in SQLite, so a half-written
Chroma is never visible, and `reconcile()` (run at the start of every ingest) deletes Chroma ids
that SQLite does not know and forgets documents whose vectors are missing, so the next sync
re-adds them.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from citeline.config import Settings
from citeline.errors import IndexMissingError, StoreUnavailableError
from citeline.faults import crash_point
from citeline.text import STOPWORDS, words
from citeline.types import Chunk, DocMeta

DB_NAME = "citeline.db"
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    doc_id TEXT PRIMARY KEY, source_path TEXT NOT NULL, content_hash TEXT NOT NULL,
    title TEXT NOT NULL, publisher TEXT NOT NULL, year INTEGER, type TEXT NOT NULL,
    url TEXT NOT NULL, audience TEXT NOT NULL, n_chunks INTEGER NOT NULL,
    sections TEXT NOT NULL, ingested_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS chunks (
    id TEXT PRIMARY KEY, doc_id TEXT NOT NULL REFERENCES documents(doc_id),
    ordinal INTEGER NOT NULL, section TEXT NOT NULL, page INTEGER, text TEXT NOT NULL,
    sentences TEXT NOT NULL, sentence_vectors BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc_id);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(
    chunk_id UNINDEXED, title, section, text, tokenize = 'porter unicode61');
"""

# BM25 column weights (title, section, text), chosen on NFCorpus/SciFact dev qrels
# (bench/retrieval.md); a match in the title says more than one in the body.
BM25_WEIGHTS = (2.0, 1.5, 1.0)

# One document to write: (meta, content_hash, chunks, chunk vectors for the ids Chroma lacks,
# sentence vectors per chunk as float32 bytes), the arguments of `Index.replace_document`.
DocumentWrite = tuple[DocMeta, str, Sequence[Chunk], dict[str, np.ndarray], dict[str, bytes]]


@dataclass(frozen=True)
class Filters:
    """Metadata filters applied to both the dense and the lexical search."""

    types: tuple[str, ...] = ()
    publishers: tuple[str, ...] = ()
    year_min: int | None = None
    year_max: int | None = None
    doc_ids: tuple[str, ...] = ()

    def is_empty(self) -> bool:
        return not (
            self.types
            or self.publishers
            or self.doc_ids
            or self.year_min is not None
            or self.year_max is not None
        )

    def chroma_where(self) -> dict[str, Any] | None:
        conds: list[dict[str, Any]] = []
        if self.types:
            conds.append({"type": {"$in": list(self.types)}})
        if self.publishers:
            conds.append({"publisher": {"$in": list(self.publishers)}})
        if self.doc_ids:
            conds.append({"doc_id": {"$in": list(self.doc_ids)}})
        if self.year_min is not None:
            conds.append({"year": {"$gte": self.year_min}})
        if self.year_max is not None:
            conds.append({"year": {"$lte": self.year_max}})
        if not conds:
            return None
        return conds[0] if len(conds) == 1 else {"$and": conds}

    def sql(self) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        args: list[Any] = []
        for column, values in (
            ("type", self.types),
            ("publisher", self.publishers),
            ("doc_id", self.doc_ids),
        ):
            if values:
                clauses.append(f"d.{column} IN ({','.join('?' * len(values))})")
                args.extend(values)
        if self.year_min is not None:
            clauses.append("d.year >= ?")
            args.append(self.year_min)
        if self.year_max is not None:
            clauses.append("d.year <= ?")
            args.append(self.year_max)
        return (" AND " + " AND ".join(clauses)) if clauses else "", args


@dataclass(frozen=True)
class DocumentRecord:
    meta: DocMeta
    content_hash: str
    n_chunks: int
    sections: tuple[str, ...]
    ingested_at: float


def fts_query(text: str) -> str:
    """An FTS5 MATCH expression that is always valid: quoted content words joined by OR."""
    terms = []
    for w in words(text):
        w = w.strip("'-").replace('"', "")
        if w and w not in STOPWORDS and w not in terms:
            terms.append(w)
    return " OR ".join(f'"{t}"' for t in terms[:64])


class Index:
    """Dense + lexical index under `settings.home` (or a Chroma server for the dense side)."""

    def __init__(self, settings: Settings, *, create: bool = False) -> None:
        self.settings = settings
        self.home = settings.home_path
        self.db_path = self.home / DB_NAME
        try:
            exists = self.db_path.exists()
        except OSError as exc:  # the folder cannot be read (permissions)
            raise StoreUnavailableError(
                f"Cannot read the index folder {self.home}: {exc.strerror}"
            ) from exc
        if not exists and not create:
            raise IndexMissingError(
                f"No index at {self.home}: run `python -m ingest corpus` (or `make run`) first"
            )
        if create:
            try:
                self.home.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreUnavailableError(
                    f"Cannot create the index folder {self.home}: {exc.strerror}"
                ) from exc
        self._local = threading.local()
        self._write_lock = threading.Lock()
        with self._conn() as conn:
            conn.executescript(_SCHEMA)
            conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
            conn.execute("INSERT OR IGNORE INTO meta VALUES ('version', '0')")
        self._collection, self._sentences = self._open_collections()

    # -- connections ---------------------------------------------------------------------------
    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            try:
                conn = sqlite3.connect(
                    self.db_path, timeout=30, isolation_level=None, check_same_thread=False
                )
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                conn.execute("PRAGMA foreign_keys=ON")
            except sqlite3.Error as exc:  # unreadable, or not a database (a damaged file)
                raise StoreUnavailableError(f"Cannot open {self.db_path}: {exc}") from exc
            self._local.conn = conn
        return conn

    def _open_collections(self) -> tuple[Any, Any]:
        """The chunk collection and the sentence collection (small-to-big retrieval)."""
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        chroma_settings = ChromaSettings(anonymized_telemetry=False)
        try:
            if self.settings.chroma_url:
                from urllib.parse import urlparse

                url = urlparse(self.settings.chroma_url)
                client = chromadb.HttpClient(
                    host=url.hostname or "127.0.0.1",
                    port=url.port or 8000,
                    ssl=url.scheme == "https",
                    settings=chroma_settings,
                )
            else:
                client = chromadb.PersistentClient(
                    path=str(self.home / "chroma"), settings=chroma_settings
                )
            # embedding_function=None: Chroma must never embed by itself (its default downloads a model).
            return tuple(  # type: ignore[return-value]
                client.get_or_create_collection(
                    name,
                    embedding_function=None,
                    configuration={"hnsw": {"space": "cosine"}},
                )
                for name in (self.settings.collection, f"{self.settings.collection}-sentences")
            )
        except Exception as exc:
            where = self.settings.chroma_url or str(self.home / "chroma")
            raise StoreUnavailableError(
                f"Cannot open the Chroma collection at {where}: {exc}"
            ) from exc

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # -- reads ---------------------------------------------------------------------------------
    def version(self) -> int:
        row = self._conn().execute("SELECT value FROM meta WHERE key='version'").fetchone()
        return int(row[0]) if row else 0

    def dense_search(
        self, vector: np.ndarray, k: int, filters: Filters | None = None
    ) -> list[tuple[str, float]]:
        """Top-k chunk ids by cosine similarity (only committed chunks)."""
        hits = self._query(self._collection, vector, k, filters)
        committed = self._committed([cid for cid, _ in hits])
        return [(cid, sim) for cid, sim in hits if cid in committed]

    def sentence_search(
        self, vector: np.ndarray, k: int, filters: Filters | None = None
    ) -> list[tuple[str, float]]:
        """Chunk ids ranked by their best sentence among the top-k sentences (small-to-big)."""
        best: dict[str, float] = {}
        for sid, sim in self._query(self._sentences, vector, k, filters):
            cid = sid.rsplit(":", 1)[0]
            if cid not in best:
                best[cid] = sim
        committed = self._committed(list(best))
        return [(cid, sim) for cid, sim in best.items() if cid in committed]

    @staticmethod
    def _query(
        collection: Any, vector: np.ndarray, k: int, filters: Filters | None
    ) -> list[tuple[str, float]]:
        where = filters.chroma_where() if filters else None
        try:
            count = collection.count()
            if count == 0:
                return []
            res = collection.query(
                query_embeddings=[vector.tolist()],
                n_results=min(k, count),
                where=where,
                include=["distances"],
            )
        except Exception as exc:
            raise StoreUnavailableError(f"Dense search failed: {exc}") from exc
        return [
            (i, 1.0 - float(d)) for i, d in zip(res["ids"][0], res["distances"][0], strict=True)
        ]

    def unknown_terms(self, terms: Sequence[str]) -> list[str]:
        """The terms that occur in no indexed chunk (matched as the lexical index does: Porter
        stems, case-folded), in the order given."""
        conn = self._conn()
        out = []
        sql = "SELECT 1 FROM chunks_fts WHERE chunks_fts MATCH ? LIMIT 1"
        for t in terms:
            t = t.replace('"', "")
            if t and conn.execute(sql, [f'"{t}"']).fetchone() is None:
                out.append(t)
        return out

    def lexical_search(
        self, query: str, k: int, filters: Filters | None = None
    ) -> list[tuple[str, float]]:
        """Top-k chunk ids by BM25 (higher is better)."""
        match = fts_query(query)
        if not match:
            return []
        extra, args = (filters or Filters()).sql()
        w = BM25_WEIGHTS
        sql = (
            f"SELECT f.chunk_id, -bm25(chunks_fts, 0, {w[0]}, {w[1]}, {w[2]}) AS s "
            "FROM chunks_fts f JOIN chunks c ON c.id = f.chunk_id "
            "JOIN documents d ON d.doc_id = c.doc_id "
            f"WHERE chunks_fts MATCH ?{extra} ORDER BY s DESC LIMIT ?"
        )
        rows = self._conn().execute(sql, [match, *args, k]).fetchall()
        return [(r[0], float(r[1])) for r in rows]

    def _committed(self, ids: Sequence[str]) -> set[str]:
        if not ids:
            return set()
        q = f"SELECT id FROM chunks WHERE id IN ({','.join('?' * len(ids))})"
        return {r[0] for r in self._conn().execute(q, list(ids))}

    def get_chunks(self, ids: Sequence[str]) -> dict[str, tuple[Chunk, np.ndarray]]:
        """Committed chunks by id, each with its sentence vectors (one row per sentence)."""
        if not ids:
            return {}
        q = (
            "SELECT c.id, c.ordinal, c.section, c.page, c.text, c.sentences, c.sentence_vectors, "
            "d.doc_id, d.title, d.publisher, d.year, d.type, d.url, d.audience, d.source_path "
            f"FROM chunks c JOIN documents d ON d.doc_id = c.doc_id WHERE c.id IN ({','.join('?' * len(ids))})"
        )
        out: dict[str, tuple[Chunk, np.ndarray]] = {}
        for r in self._conn().execute(q, list(ids)):
            meta = DocMeta(
                doc_id=r[7],
                title=r[8],
                publisher=r[9],
                year=r[10],
                type=r[11],
                url=r[12],
                audience=r[13],
                source_path=r[14],
            )
            sentences = tuple(json.loads(r[5]))
            vecs = (
                np.frombuffer(r[6], dtype=np.float32).reshape(len(sentences), -1)
                if sentences
                else np.zeros((0, 0), dtype=np.float32)
            )
            out[r[0]] = (
                Chunk(
                    id=r[0],
                    doc=meta,
                    text=r[4],
                    section=r[2],
                    page=r[3],
                    ordinal=r[1],
                    sentences=sentences,
                ),
                vecs,
            )
        return out

    def documents(self) -> dict[str, DocumentRecord]:
        q = (
            "SELECT doc_id, title, publisher, year, type, url, audience, source_path, content_hash, "
            "n_chunks, sections, ingested_at FROM documents"
        )
        out = {}
        for r in self._conn().execute(q):
            meta = DocMeta(
                doc_id=r[0],
                title=r[1],
                publisher=r[2],
                year=r[3],
                type=r[4],
                url=r[5],
                audience=r[6],
                source_path=r[7],
            )
            out[r[0]] = DocumentRecord(meta, r[8], r[9], tuple(json.loads(r[10])), r[11])
        return out

    def doc_chunk_ids(self, doc_id: str) -> dict[str, tuple[str, bytes]]:
        """Chunk id -> (section, sentence vectors) of one document, to reuse on update."""
        rows = self._conn().execute(
            "SELECT id, section, sentence_vectors FROM chunks WHERE doc_id=?", (doc_id,)
        )
        return {r[0]: (r[1], r[2]) for r in rows}

    def stats(self) -> dict[str, Any]:
        conn = self._conn()
        docs, last = conn.execute("SELECT COUNT(*), MAX(ingested_at) FROM documents").fetchone()
        chunks = conn.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
        return {"documents": docs, "chunks": chunks, "last_ingest": last, "version": self.version()}

    def facets(self) -> dict[str, Any]:
        conn = self._conn()
        types = [r[0] for r in conn.execute("SELECT DISTINCT type FROM documents ORDER BY type")]
        pubs = [
            r[0]
            for r in conn.execute("SELECT DISTINCT publisher FROM documents ORDER BY publisher")
        ]
        lo, hi = conn.execute(
            "SELECT MIN(year), MAX(year) FROM documents WHERE year > 0"
        ).fetchone()
        return {"types": types, "publishers": pubs, "year_min": lo, "year_max": hi}

    # -- writes (callers hold the ingest lock) -------------------------------------------------
    def replace_document(
        self,
        meta: DocMeta,
        content_hash: str,
        chunks: Sequence[Chunk],
        chunk_vectors: dict[str, np.ndarray],
        sentence_vectors: dict[str, bytes],
    ) -> None:
        """Swap in a document's new chunks; `chunk_vectors` holds vectors for ids Chroma lacks."""
        self.replace_documents([(meta, content_hash, chunks, chunk_vectors, sentence_vectors)])

    def replace_documents(self, items: Sequence[DocumentWrite]) -> None:
        """Swap in many documents at once: one Chroma upsert pass, one SQLite transaction.

        Each item is (meta, content_hash, chunks, chunk_vectors, sentence_vectors) as for
        `replace_document`. Bulk loads (the BEIR eval) would otherwise pay a transaction and a
        Chroma round trip per document; the 3-step protocol is unchanged, only wider.
        """
        doc_ids = [item[0].doc_id for item in items]
        if len(set(doc_ids)) != len(doc_ids):
            # A repeated id would delete its own first version's rows inside the transaction.
            raise ValueError("replace_documents got the same doc_id twice")
        old_ids: set[str] = set()
        new_ids: set[str] = set()
        to_add: list[Chunk] = []
        vectors: dict[str, np.ndarray] = {}
        sent_vecs: dict[str, bytes] = {}
        for meta, _, chunks, chunk_vectors, sentence_vectors in items:
            old_ids.update(self.doc_chunk_ids(meta.doc_id))
            new_ids.update(c.id for c in chunks)
            to_add += [c for c in chunks if c.id in chunk_vectors]
            vectors.update(chunk_vectors)
            sent_vecs.update(sentence_vectors)
        self._chroma_upsert(to_add, vectors, sent_vecs)  # 1. vectors first (invisible)
        crash_point("after_vectors")
        now = time.time()
        with self._write_lock:  # 2. the commit point
            conn = self._conn()
            conn.execute("BEGIN IMMEDIATE")
            try:
                known = {r[0] for r in conn.execute("SELECT doc_id FROM documents")}
                for meta, content_hash, chunks, _, sentence_vectors in items:
                    if meta.doc_id in known:
                        # Only then: the FTS delete scans the whole table (chunk_id is UNINDEXED),
                        # which made a 3,600-document bulk load quadratic (~20 s of 100).
                        self._delete_rows(conn, meta.doc_id)
                    sections = list(dict.fromkeys(c.section for c in chunks))
                    conn.execute(
                        "INSERT INTO documents VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                        (
                            meta.doc_id,
                            meta.source_path,
                            content_hash,
                            meta.title,
                            meta.publisher,
                            meta.year,
                            meta.type,
                            meta.url,
                            meta.audience,
                            len(chunks),
                            json.dumps(sections),
                            now,
                        ),
                    )
                    conn.executemany(
                        "INSERT INTO chunks VALUES (?,?,?,?,?,?,?,?)",
                        [
                            (
                                c.id,
                                meta.doc_id,
                                c.ordinal,
                                c.section,
                                c.page,
                                c.text,
                                json.dumps(list(c.sentences)),
                                sentence_vectors[c.id],
                            )
                            for c in chunks
                        ],
                    )
                    conn.executemany(
                        "INSERT INTO chunks_fts(chunk_id, title, section, text) VALUES (?,?,?,?)",
                        [(c.id, meta.title, c.section, c.text) for c in chunks],
                    )
                self._bump(conn)
                crash_point("before_commit")
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        crash_point("after_commit")
        stale = sorted(old_ids - new_ids)
        if stale:  # 3. old vectors go last
            self._chroma_delete(stale)

    def remove_document(self, doc_id: str) -> None:
        old_ids = sorted(self.doc_chunk_ids(doc_id))
        with self._write_lock:
            conn = self._conn()
            conn.execute("BEGIN IMMEDIATE")
            try:
                self._delete_rows(conn, doc_id)
                self._bump(conn)
                crash_point("before_remove_commit")
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        crash_point("after_remove_commit")
        if old_ids:
            self._chroma_delete(old_ids)

    def reconcile(self) -> dict[str, int]:
        """Repair what an interrupted run left: Chroma orphans and documents missing vectors."""
        chunk_ids = self._chroma_all_ids(self._collection)
        sentence_chunks = {i.rsplit(":", 1)[0] for i in self._chroma_all_ids(self._sentences)}
        conn = self._conn()
        sql_ids = {r[0]: r[1] for r in conn.execute("SELECT id, doc_id FROM chunks")}
        orphans = sorted((chunk_ids | sentence_chunks) - set(sql_ids))
        if orphans:
            self._chroma_delete(orphans)
        crash_point("reconcile")
        complete = chunk_ids & sentence_chunks
        broken_docs = sorted({sql_ids[i] for i in set(sql_ids) - complete})
        for doc_id in broken_docs:
            self.remove_document(doc_id)
        return {"orphan_vectors": len(orphans), "documents_missing_vectors": len(broken_docs)}

    def drop_all(self) -> None:
        """Delete everything (for --rebuild)."""
        ids = self._chroma_all_ids(self._collection)
        ids |= {i.rsplit(":", 1)[0] for i in self._chroma_all_ids(self._sentences)}
        if ids:
            self._chroma_delete(sorted(ids))
        with self._write_lock:
            conn = self._conn()
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("DELETE FROM chunks_fts")
            conn.execute("DELETE FROM chunks")
            conn.execute("DELETE FROM documents")
            self._bump(conn)
            conn.execute("COMMIT")

    @staticmethod
    def _delete_rows(conn: sqlite3.Connection, doc_id: str) -> None:
        conn.execute(
            "DELETE FROM chunks_fts WHERE chunk_id IN (SELECT id FROM chunks WHERE doc_id=?)",
            (doc_id,),
        )
        conn.execute("DELETE FROM chunks WHERE doc_id=?", (doc_id,))
        conn.execute("DELETE FROM documents WHERE doc_id=?", (doc_id,))

    @staticmethod
    def _bump(conn: sqlite3.Connection) -> None:
        conn.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key='version'")

    def _batches(self, items: Sequence[Any]) -> Iterable[Sequence[Any]]:
        size = 1000
        for i in range(0, len(items), size):
            yield items[i : i + size]

    def _chroma_upsert(
        self,
        chunks: Sequence[Chunk],
        vectors: dict[str, np.ndarray],
        sentence_vectors: dict[str, bytes],
    ) -> None:
        try:
            for batch in self._batches(chunks):
                metas = [
                    {
                        **c.doc.to_chroma(),
                        "section": c.section,
                        "page": c.page or 0,
                        "chunk_id": c.id,
                    }
                    for c in batch
                ]
                self._collection.upsert(
                    ids=[c.id for c in batch],
                    embeddings=np.stack([vectors[c.id] for c in batch]),
                    metadatas=metas,
                    documents=[c.text for c in batch],
                )
                crash_point("between_collections")
                s_ids, s_vecs, s_meta = [], [], []
                for c, meta in zip(batch, metas, strict=True):
                    sv = np.frombuffer(sentence_vectors[c.id], dtype=np.float32)
                    sv = sv.reshape(len(c.sentences), -1)
                    s_ids += [f"{c.id}:{i}" for i in range(len(c.sentences))]
                    s_vecs.append(sv)
                    s_meta += [meta] * len(c.sentences)
                all_vecs = np.concatenate(s_vecs)
                for i in range(0, len(s_ids), 1000):
                    self._sentences.upsert(
                        ids=s_ids[i : i + 1000],
                        embeddings=all_vecs[i : i + 1000],
                        metadatas=s_meta[i : i + 1000],
                    )
        except Exception as exc:
            raise StoreUnavailableError(f"Writing vectors to Chroma failed: {exc}") from exc

    def _chroma_delete(self, ids: Sequence[str]) -> None:
        try:
            for batch in self._batches(ids):
                self._collection.delete(ids=list(batch))
                crash_point("between_deletes")
                self._sentences.delete(where={"chunk_id": {"$in": list(batch)}})
        except Exception as exc:
            raise StoreUnavailableError(f"Deleting vectors from Chroma failed: {exc}") from exc

    @staticmethod
    def _chroma_all_ids(collection: Any) -> set[str]:
        ids: set[str] = set()
        offset, page = 0, 5000
        while True:
            got = collection.get(include=[], limit=page, offset=offset)["ids"]
            ids.update(got)
            if len(got) < page:
                return ids
            offset += page


def index_exists(settings: Settings) -> bool:
    return (settings.home_path / DB_NAME).exists()


def open_index(settings: Settings, create: bool = False) -> Index:
    return Index(settings, create=create)
