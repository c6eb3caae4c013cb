"""The SQLite catalog: documents, chunk texts and sentence vectors, the FTS5 table, and the commit
counter (the one module that imports sqlite3).

Schema changes are numbered migrations, applied in order to a file whose `meta.schema` is lower
(in the style of simonw/llm's `embeddings_migrations.py`); the files of every version so far are
schema version 1.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from citeline.errors import StoreUnavailableError
from citeline.store import codec
from citeline.store.model import (
    DOC_FIELDS,
    ChunkRow,
    DocumentRecord,
    Filters,
    doc_meta,
    doc_values,
)
from citeline.types import Chunk, DocMeta

# What a failed database call raises (callers that must tell a full disk apart catch it).
DatabaseError = sqlite3.Error
Connection = sqlite3.Connection


def _m001_initial(conn: sqlite3.Connection) -> None:
    conn.executescript(
        """
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
    )


# Append a function to change the schema; never edit one that has shipped.
MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (_m001_initial,)
SCHEMA_VERSION = len(MIGRATIONS)

# Server mode only: the manifest generation each cached document was fetched at.
_CACHE_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS server_docs (doc_id TEXT PRIMARY KEY, gen INTEGER NOT NULL);"
)
_DOC_COLUMNS = ", ".join(f"d.{k}" for k in DOC_FIELDS)


def schema_version(conn: sqlite3.Connection) -> int:
    """The schema version a file is at (0 for a new file)."""
    if not conn.execute("SELECT 1 FROM sqlite_master WHERE name='meta'").fetchone():
        return 0
    row = conn.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
    return int(row[0]) if row else 0


def migrate(conn: sqlite3.Connection, path: Path) -> int:
    """Apply the migrations a file lacks, each in its own transaction; returns the version."""
    current = schema_version(conn)
    if current > SCHEMA_VERSION:
        raise StoreUnavailableError(
            f"{path} has schema version {current}, newer than this Citeline ({SCHEMA_VERSION}): "
            "update Citeline or rebuild the index"
        )
    for number, step in enumerate(MIGRATIONS[current:], start=current + 1):
        step(conn)
        conn.execute("INSERT OR REPLACE INTO meta VALUES ('schema', ?)", (str(number),))
    return SCHEMA_VERSION


def _rollback(conn: sqlite3.Connection) -> None:
    """Roll back if a transaction is still open: after some errors (a full disk, an I/O error)
    SQLite has already rolled it back, and a second ROLLBACK would raise "no transaction is
    active" in place of the error that says what went wrong."""
    if conn.in_transaction:
        conn.execute("ROLLBACK")


def filter_sql(filters: Filters | None) -> tuple[str, list[Any]]:
    """The filters as SQL conditions on the documents table `d`, and their arguments."""
    f = filters or Filters()
    clauses: list[str] = []
    args: list[Any] = []
    for column, values in (("type", f.types), ("publisher", f.publishers), ("doc_id", f.doc_ids)):
        if values:
            clauses.append(f"d.{column} IN ({','.join('?' * len(values))})")
            args.extend(values)
    if f.year_min is not None:
        clauses.append("d.year >= ?")
        args.append(f.year_min)
    if f.year_max is not None:
        clauses.append("d.year <= ?")
        args.append(f.year_max)
    return (" AND " + " AND ".join(clauses)) if clauses else "", args


def _marks(items: Sequence[Any]) -> str:
    return ",".join("?" * len(items))


class Catalog:
    """One SQLite file: `citeline.db` (embedded) or a server-mode replica's cache (`cache`,
    which also records the generation of each cached document)."""

    def __init__(self, path: Path, *, cache: bool = False) -> None:
        self.path = path
        self.cache = cache
        self._local = threading.local()
        self.write_lock = threading.Lock()
        conn = self.conn()
        migrate(conn, path)
        if cache:
            conn.executescript(_CACHE_SCHEMA)
        conn.execute("INSERT OR IGNORE INTO meta VALUES ('version', '0')")

    def conn(self) -> sqlite3.Connection:
        """This thread's connection."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            try:
                conn = sqlite3.connect(
                    self.path, timeout=30, isolation_level=None, check_same_thread=False
                )
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                conn.execute("PRAGMA foreign_keys=ON")
            except sqlite3.Error as exc:  # unreadable, or not a database (a damaged file)
                raise StoreUnavailableError(f"Cannot open {self.path}: {exc}") from exc
            self._local.conn = conn
        return conn

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (BEGIN IMMEDIATE ... COMMIT, rolled back on any error)."""
        with self.write_lock:
            conn = self.conn()
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                _rollback(conn)
                raise

    # -- meta ------------------------------------------------------------------------------------
    def meta_value(self, key: str) -> str | None:
        row = self.conn().execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self.conn().execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def version(self) -> int:
        value = self.meta_value("version")
        return int(value) if value is not None else 0

    def bump(self, gen: int = 0) -> None:
        """Embedded: count a commit. Server mode (`gen` > 0): the cache now holds generation
        `gen` of the written documents; it is at stamp `gen` only if it was at `gen - 1`,
        otherwise the next refresh fills in the commits it missed."""
        if gen:
            self.conn().execute(
                "UPDATE meta SET value = ? WHERE key='version' AND value = ?",
                (str(gen), str(gen - 1)),
            )
        else:
            self.conn().execute(
                "UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key='version'"
            )

    # -- reads -----------------------------------------------------------------------------------
    def committed(self, ids: Sequence[str]) -> set[str]:
        if not ids:
            return set()
        q = f"SELECT id FROM chunks WHERE id IN ({_marks(ids)})"
        return {r[0] for r in self.conn().execute(q, list(ids))}

    def sentence_blobs(self, ids: Sequence[str]) -> list[tuple[str, bytes]]:
        """(chunk id, sentence vectors) of the committed chunks among `ids` that have any."""
        q = f"SELECT id, sentence_vectors FROM chunks WHERE id IN ({_marks(ids)})"
        return [(r[0], r[1]) for r in self.conn().execute(q, list(ids)) if r[1]]

    def get_chunks(self, ids: Sequence[str]) -> dict[str, tuple[Chunk, Any]]:
        """Committed chunks by id, each with its sentence vectors (one row per sentence)."""
        if not ids:
            return {}
        q = (
            "SELECT c.id, c.ordinal, c.section, c.page, c.text, c.sentences, c.sentence_vectors, "
            f"{_DOC_COLUMNS} FROM chunks c JOIN documents d ON d.doc_id = c.doc_id "
            f"WHERE c.id IN ({_marks(ids)})"
        )
        out: dict[str, tuple[Chunk, Any]] = {}
        for r in self.conn().execute(q, list(ids)):
            meta = doc_meta(dict(zip(DOC_FIELDS, r[7:], strict=True)))
            sentences = tuple(json.loads(r[5]))
            chunk = Chunk(
                id=r[0],
                doc=meta,
                text=r[4],
                section=r[2],
                page=r[3],
                ordinal=r[1],
                sentences=sentences,
            )
            out[r[0]] = (chunk, codec.decode(r[6], rows=len(sentences)))
        return out

    def documents(self) -> dict[str, DocumentRecord]:
        q = (
            f"SELECT {_DOC_COLUMNS}, d.content_hash, d.n_chunks, d.sections, d.ingested_at "
            "FROM documents d"
        )
        out = {}
        n = len(DOC_FIELDS)
        for r in self.conn().execute(q):
            meta = doc_meta(dict(zip(DOC_FIELDS, r[:n], strict=True)))
            h, n_chunks, sections, at = r[n:]
            out[meta.doc_id] = DocumentRecord(meta, h, n_chunks, tuple(json.loads(sections)), at)
        return out

    def known_documents(self) -> set[str]:
        return {r[0] for r in self.conn().execute("SELECT doc_id FROM documents")}

    def doc_chunk_ids(self, doc_id: str) -> dict[str, tuple[str, bytes]]:
        """Chunk id -> (section, sentence vectors) of one document, to reuse on update."""
        rows = self.conn().execute(
            "SELECT id, section, sentence_vectors FROM chunks WHERE doc_id=?", (doc_id,)
        )
        return {r[0]: (r[1], r[2]) for r in rows}

    def chunk_documents(self) -> dict[str, str]:
        """Chunk id -> document id of every committed chunk."""
        return {r[0]: r[1] for r in self.conn().execute("SELECT id, doc_id FROM chunks")}

    def stats(self) -> dict[str, Any]:
        conn = self.conn()
        docs, last = conn.execute("SELECT COUNT(*), MAX(ingested_at) FROM documents").fetchone()
        chunks = conn.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
        return {"documents": docs, "chunks": chunks, "last_ingest": last, "version": self.version()}

    def facets(self) -> dict[str, Any]:
        conn = self.conn()
        types = [r[0] for r in conn.execute("SELECT DISTINCT type FROM documents ORDER BY type")]
        pubs = [
            r[0]
            for r in conn.execute("SELECT DISTINCT publisher FROM documents ORDER BY publisher")
        ]
        lo, hi = conn.execute(
            "SELECT MIN(year), MAX(year) FROM documents WHERE year > 0"
        ).fetchone()
        return {"types": types, "publishers": pubs, "year_min": lo, "year_max": hi}

    def rows(self) -> tuple[ChunkRow, ...]:
        """Every chunk row as stored, in storage order (audits)."""
        q = "SELECT id, doc_id, text, sentences, sentence_vectors FROM chunks"
        return tuple(
            ChunkRow(r[0], r[1], r[2], tuple(json.loads(r[3])), r[4])
            for r in self.conn().execute(q)
        )

    def lexical_ids(self) -> tuple[str, ...]:
        """The chunk id of every FTS row, in storage order (audits)."""
        return tuple(r[0] for r in self.conn().execute("SELECT chunk_id FROM chunks_fts"))

    # -- writes (inside `transaction()`) ---------------------------------------------------------
    def insert_document(
        self,
        meta: DocMeta,
        content_hash: str,
        chunks: Sequence[Chunk],
        sentence_vectors: dict[str, bytes],
        ingested_at: float,
    ) -> None:
        conn = self.conn()
        sections = list(dict.fromkeys(c.section for c in chunks))
        row = {
            **doc_values(meta),
            "content_hash": content_hash,
            "n_chunks": len(chunks),
            "sections": json.dumps(sections),
            "ingested_at": ingested_at,
        }
        conn.execute(
            f"INSERT INTO documents ({', '.join(row)}) VALUES ({_marks(list(row))})",
            list(row.values()),
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

    def delete_document(self, doc_id: str) -> None:
        conn = self.conn()
        conn.execute(
            "DELETE FROM chunks_fts WHERE chunk_id IN (SELECT id FROM chunks WHERE doc_id=?)",
            (doc_id,),
        )
        conn.execute("DELETE FROM chunks WHERE doc_id=?", (doc_id,))
        conn.execute("DELETE FROM documents WHERE doc_id=?", (doc_id,))
        if self.cache:
            conn.execute("DELETE FROM server_docs WHERE doc_id=?", (doc_id,))

    def clear(self) -> None:
        tables = ["chunks_fts", "chunks", "documents"] + (["server_docs"] if self.cache else [])
        for table in tables:
            self.conn().execute(f"DELETE FROM {table}")

    # -- a server-mode cache: the generation of each cached document ----------------------------
    def generations(self) -> dict[str, int]:
        return dict(self.conn().execute("SELECT doc_id, gen FROM server_docs").fetchall())

    def set_generation(self, doc_id: str, gen: int) -> None:
        self.conn().execute("INSERT OR REPLACE INTO server_docs VALUES (?,?)", (doc_id, gen))
