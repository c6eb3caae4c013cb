"""Today's (schema version 1) SQLite files, written exactly as `citeline/store.py` wrote them
before it became a package: the DDL and row writes are frozen here so that a test can build a
file of that version and open it with the current code."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from citeline.types import Chunk, DocMeta

SCHEMA_V1 = """
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
CACHE_SCHEMA_V1 = (
    "CREATE TABLE IF NOT EXISTS server_docs (doc_id TEXT PRIMARY KEY, gen INTEGER NOT NULL);"
)


def build(
    path: Path,
    docs: list[tuple[DocMeta, str, list[Chunk], dict[str, bytes]]],
    *,
    cache_gen: int | None = None,
) -> None:
    """A v1 file holding `docs` (meta, content hash, chunks, sentence vectors), one commit; a
    server-mode cache (with `server_docs` at generation `cache_gen`) when that is given."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.executescript(SCHEMA_V1 + (CACHE_SCHEMA_V1 if cache_gen is not None else ""))
    conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", ("1",))
    conn.execute("INSERT OR IGNORE INTO meta VALUES ('version', '0')")
    conn.execute("BEGIN IMMEDIATE")
    for meta, content_hash, chunks, vectors in docs:
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
                1700000000.0,
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
                    vectors[c.id],
                )
                for c in chunks
            ],
        )
        conn.executemany(
            "INSERT INTO chunks_fts(chunk_id, title, section, text) VALUES (?,?,?,?)",
            [(c.id, meta.title, c.section, c.text) for c in chunks],
        )
        if cache_gen is not None:
            conn.execute(
                "INSERT OR REPLACE INTO server_docs VALUES (?,?)", (meta.doc_id, cache_gen)
            )
    conn.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key='version'")
    conn.execute("COMMIT")
    conn.close()
