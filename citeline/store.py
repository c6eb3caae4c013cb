"""The index: a Chroma collection (dense) and a SQLite database (manifest, chunk texts, sentence
vectors and an FTS5 BM25 index) kept in step.

Sentence vectors (small-to-big retrieval, citation support) live in the chunk rows in SQLite and
are only ever scored for the candidates of a query (`best_sentences`), never searched globally:
an HNSW index of every sentence (~4.5 per chunk) cost more memory than the chunks' own (~775 MB
of RSS at 100k chunks, bench/README.md) and most of the ingest's index writes.

Embedded mode (the default: Chroma's PersistentClient under CITELINE_HOME)
--------------------------------------------------------------------------
Write protocol (crash-safe without a shared transaction; see `replace_documents`):
1. upsert the document's new chunk vectors into Chroma;
2. one SQLite transaction swaps the document's rows (manifest, chunks and their sentence vectors,
   FTS);
3. delete the document's old chunk ids from Chroma.
SQLite is the commit point: readers only return chunk ids present in SQLite, so a half-written
Chroma is never visible, and `reconcile()` (run at the start of every ingest) deletes Chroma ids
that SQLite does not know and forgets documents whose vectors are missing, so the next sync
re-adds them.

Server mode (CITELINE_CHROMA_URL set: `chromadb.HttpClient` against a `chroma run` server)
-----------------------------------------------------------------------------------------
Several app processes, possibly on different machines and each with its own CITELINE_HOME, read
one collection that an ingest process writes. A SQLite file in one CITELINE_HOME cannot be their
commit point, so the server holds everything and each process keeps a disposable local cache:

- On the server: the chunk collection (vectors, chunk text as the document, metadata incl. the
  chunk's sentences), the `-sentences` collection (sentence vectors: the store readers fill
  their caches from; it is never searched), and a
  `-manifest` collection with one record per document (its metadata, content hash, ingest time,
  commit generation and the ordered list of its chunks with ordinal and page; the records carry
  a dummy 1-d vector because Chroma stores nothing without one). The manifest collection's
  metadata holds the version stamp (`citeline_version`) and the writer lease (`citeline_writer`).
- Commit point: one manifest upsert/delete, followed by bumping the stamp. Write protocol:
  1. upsert new chunk and sentence vectors (listed in no manifest record: invisible);
  2. upsert the documents' manifest records with generation stamp+1, then set stamp = stamp+1;
  3. delete the old chunk ids. The writer also applies the change to its own cache.
- Readers: `CITELINE_HOME/server-cache-<hash of url and collection>.db` has the embedded schema
  (so lexical search, `get_chunks`, `documents` and the "committed" check run unchanged) plus the
  generation of every cached document. At open, and at most once every `STAMP_TTL` seconds
  before a read, a reader compares the server stamp with the one its cache was built at; when
  they differ it lists (id, generation) of every manifest record, fetches only the records,
  chunks and sentence vectors of documents whose generation changed, drops documents that are
  gone, and swaps them into the cache in one SQLite transaction. Documents whose chunks are not
  all on the server (a concurrent commit replaced them mid-refresh, or a broken write) keep
  their old cached rows until the next stamp change. A new app replica builds its whole cache
  from the server; deleting the cache file is always safe. Cached sentence vectors are the
  server's copies, in the writer's cache too (a cosine collection stores re-normalised vectors,
  a few float32 ulps off the embedder's), so every server-mode process holds the same bytes.
- Crash safety: a crash before step 2 leaves orphan vectors; between the manifest write and the
  stamp bump, a manifest newer than the stamp (new readers see it, running ones at the next
  commit); after step 2, stale vectors. The next ingest repairs all three: taking the lease
  moves the stamp past every generation in the manifest (so running readers look again, at the
  cost of one refresh per ingest run), and `reconcile()` deletes vectors no manifest record
  lists and removes records whose chunks are missing.
- One writer: the ingest file lock only guards one CITELINE_HOME, so server-mode writes also
  need a lease in the manifest collection's metadata (`Index.writer()`): owner id, host, pid and
  expiry (`LEASE_TTL`), renewed every `LEASE_RENEW` seconds by a thread, checked again at every
  commit. A lease is free when empty, expired, or held by a dead process on the same host. Chroma
  has no compare-and-swap, so two writers starting within `LEASE_SETTLE` of each other are
  resolved by writing, waiting and re-reading; that is a lease, not consensus, hence the
  operational rule in the README: schedule one ingest writer.

Trade-offs of the server-mode design: every reader holds a full copy of chunk texts, sentence
vectors and the FTS index (disk, and a full download when a replica starts or its cache is
deleted) instead of querying a shared lexical service; a commit reaches a running reader after
at most `STAMP_TTL` seconds plus one refresh (dense hits for chunks the reader has not cached yet
are dropped, as in embedded mode); each refresh lists (id, generation) of every document, so it
costs O(documents) plus the changed documents' chunks; the stamp check is one HTTP round trip
per question at most. Distributed Chroma / Chroma Cloud with native sparse (BM25) search could
replace the local lexical cache altogether (see the README).
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import sqlite3
import threading
import time
import uuid
import weakref
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from citeline.chroma_client import connect, endpoint, server_error
from citeline.config import Settings, mask_url
from citeline.errors import (
    ChromaServerError,
    IndexMissingError,
    IngestLockedError,
    StoreUnavailableError,
)
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

# Server mode only: the manifest generation each cached document was fetched at.
_CACHE_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS server_docs (doc_id TEXT PRIMARY KEY, gen INTEGER NOT NULL);"
)

# BM25 column weights (title, section, text), chosen on NFCorpus/SciFact dev qrels
# (bench/retrieval.md); a match in the title says more than one in the body.
BM25_WEIGHTS = (2.0, 1.5, 1.0)
# Lexical search leaves out the query terms that more than this share of the chunks contain,
# unless every term is that common (then the rarest one is kept): their idf is small, and FTS5
# scores every row that matches any term before `ORDER BY bm25 LIMIT k` ("cancer" alone is in 15%
# of 100k chunks). Chosen on NFCorpus dev and SciFact train qrels (bench/README.md).
LEXICAL_MAX_DF_SHARE = 0.2
LEXICAL_MIN_ROWS = 500  # a term in fewer rows costs well under a millisecond: always searched

# Server mode: seconds between a reader's checks of the version stamp; writer lease lifetime,
# renewal period, and the pause between writing a lease and reading it back.
STAMP_TTL = 1.0
LEASE_TTL = 60.0
LEASE_RENEW = 15.0
LEASE_SETTLE = 0.5
VERSION_KEY = "citeline_version"
LEASE_KEY = "citeline_writer"
MANIFEST_SUFFIX = "-manifest"
SENTENCES_SUFFIX = "-sentences"

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


def query_terms(text: str) -> list[str]:
    """The content words of a query, as the lexical index is searched for them."""
    terms: list[str] = []
    for w in words(text):
        w = w.strip("'-").replace('"', "")
        if w and w not in STOPWORDS and w not in terms:
            terms.append(w)
    return terms


def fts_query(text: str) -> str:
    """An FTS5 MATCH expression that is always valid: quoted content words joined by OR."""
    return " OR ".join(f'"{t}"' for t in query_terms(text)[:64])


def server_cache_name(settings: Settings) -> str:
    """File name of a server-mode reader's local cache in CITELINE_HOME."""
    # The URL as shown (a password is no part of a file name); tenant and database when set.
    where = "".join(f"|{w}" for w in (settings.chroma_tenant, settings.chroma_database) if w)
    key = f"{mask_url(settings.chroma_url.strip())}|{settings.collection}{where}".encode()
    return f"server-cache-{hashlib.sha256(key).hexdigest()[:12]}.db"


@dataclass
class _Lease:
    owner: str
    host: str
    pid: int
    expires: float

    def dump(self) -> str:
        return json.dumps(
            {"owner": self.owner, "host": self.host, "pid": self.pid, "expires": self.expires}
        )

    @classmethod
    def parse(cls, raw: Any) -> _Lease | None:
        if not isinstance(raw, str) or not raw:
            return None
        try:
            d = json.loads(raw)
            return cls(str(d["owner"]), str(d["host"]), int(d["pid"]), float(d["expires"]))
        except (ValueError, KeyError, TypeError):
            return None

    def stale(self) -> bool:
        """Expired, or held by a process of this host that no longer exists."""
        if self.expires < time.time():
            return True
        if self.host != socket.gethostname():
            return False
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False

    def describe(self) -> str:
        left = max(0, round(self.expires - time.time()))
        return f"pid {self.pid} on host {self.host}, lease renewed until {left} s from now"


class _Server:
    """The server side of server mode: client, the three collections, stamp, lease, manifest."""

    def __init__(self, settings: Settings, *, create: bool) -> None:
        self.endpoint = endpoint(settings)
        self.url = self.endpoint.url  # as shown: user:password masked
        self.name = settings.collection
        self.client = connect(settings)
        names = (self.name, self.name + SENTENCES_SUFFIX, self.name + MANIFEST_SUFFIX)
        from chromadb.errors import NotFoundError

        try:
            if create:
                cols = [
                    self.client.get_or_create_collection(
                        n, embedding_function=None, configuration={"hnsw": {"space": "cosine"}}
                    )
                    for n in names
                ]
            else:
                cols = [self.client.get_collection(n, embedding_function=None) for n in names]
        except NotFoundError:
            raise IndexMissingError(
                f"No Citeline index in collection {self.name!r} on the Chroma server at "
                f"{self.url}: run `python -m ingest` with the same CITELINE_CHROMA_URL and "
                "CITELINE_COLLECTION first"
            ) from None
        except Exception as exc:
            raise self.error(f"opening collection {self.name!r}", exc) from exc
        self.chunks, self.sentences, self.manifest = cols
        self._meta_lock = threading.Lock()
        self.lease: _Lease | None = None
        self._lease_lost = False
        self._stop_renewal = threading.Event()
        self._renewal: threading.Thread | None = None

    def error(self, action: str, exc: BaseException) -> ChromaServerError:
        return server_error(
            self.endpoint,
            f"Chroma server at {self.url} (CITELINE_CHROMA_URL): {action} failed: ",
            exc,
        )

    # -- stamp and manifest ---------------------------------------------------------------------
    def read_meta(self) -> tuple[dict[str, Any], str]:
        """The manifest collection's metadata (stamp, lease) and its identity for caches."""
        try:
            col = self.client.get_collection(self.manifest.name, embedding_function=None)
        except Exception as exc:
            raise self.error("reading the index version", exc) from exc
        return dict(col.metadata or {}), f"{self.url}|{self.name}|{col.id}"

    def _write_meta(self, meta: dict[str, Any]) -> None:
        try:
            # modify() replaces the whole metadata, so callers read-modify-write under _meta_lock.
            self.manifest.modify(metadata=meta)
        except Exception as exc:
            raise self.error("writing the index version", exc) from exc

    def gens(self) -> dict[str, int]:
        """Document id -> generation of every manifest record."""
        out: dict[str, int] = {}
        offset, page = 0, 5000
        try:
            while True:
                res = self.manifest.get(include=["metadatas"], limit=page, offset=offset)
                for i, md in zip(res["ids"], res["metadatas"] or [], strict=True):
                    out[i] = int((md or {}).get("gen", 0))
                if len(res["ids"]) < page:
                    return out
                offset += page
        except Exception as exc:
            raise self.error("listing the manifest", exc) from exc

    def records(self, doc_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Manifest records by document id (ids without a record are left out)."""
        out: dict[str, dict[str, Any]] = {}
        try:
            for i in range(0, len(doc_ids), 500):
                res = self.manifest.get(ids=list(doc_ids[i : i + 500]), include=["documents"])
                for did, doc in zip(res["ids"], res["documents"] or [], strict=True):
                    if doc:
                        out[did] = json.loads(doc)
        except Exception as exc:
            raise self.error("reading manifest records", exc) from exc
        return out

    def commit(self, records: Sequence[dict[str, Any]], removed: Sequence[str]) -> int:
        """The commit point: write/delete manifest records, then bump the stamp. Returns the new
        generation. Checks first that this process still holds the writer lease."""
        with self._meta_lock:
            meta, _ = self.read_meta()
            self._fence(meta)
            gen = int(meta.get(VERSION_KEY, 0)) + 1
            try:
                for i in range(0, len(records), 500):
                    batch = [{**r, "gen": gen} for r in records[i : i + 500]]
                    self.manifest.upsert(
                        ids=[r["doc_id"] for r in batch],
                        embeddings=np.ones((len(batch), 1), dtype=np.float32),
                        documents=[json.dumps(r) for r in batch],
                        metadatas=[{"gen": gen} for _ in batch],
                    )
                for i in range(0, len(removed), 500):
                    self.manifest.delete(ids=list(removed[i : i + 500]))
            except Exception as exc:
                raise self.error("writing the manifest", exc) from exc
            crash_point("before_stamp")
            assert self.lease is not None
            self.lease.expires = time.time() + LEASE_TTL
            meta[VERSION_KEY] = gen
            meta[LEASE_KEY] = self.lease.dump()
            self._write_meta(meta)
            return gen

    # -- the writer lease -----------------------------------------------------------------------
    def acquire(self) -> None:
        """Take the writer lease or raise IngestLockedError naming the holder."""
        mine = _Lease(uuid.uuid4().hex, socket.gethostname(), os.getpid(), 0.0)
        with self._meta_lock:
            meta, _ = self.read_meta()
            held = _Lease.parse(meta.get(LEASE_KEY))
            if held is not None and not held.stale():
                raise self._locked(held)
            mine.expires = time.time() + LEASE_TTL
            meta[LEASE_KEY] = mine.dump()
            self._write_meta(meta)
        time.sleep(LEASE_SETTLE)  # a writer that read "free" at the same time has written by now
        with self._meta_lock:
            meta, _ = self.read_meta()
            held = _Lease.parse(meta.get(LEASE_KEY))
            if held is None or held.owner != mine.owner:
                raise self._locked(held)
            self.lease, self._lease_lost = mine, False
            # A commit killed between its manifest write and its stamp bump left a manifest that
            # running readers have not seen: moving the stamp past every generation makes them
            # look again (a deletion leaves no generation behind, so always move it), and keeps
            # every later generation new.
            top = max(self.gens().values(), default=0)
            meta[VERSION_KEY] = max(int(meta.get(VERSION_KEY, 0)), top) + 1
            self._write_meta(meta)
        self._stop_renewal.clear()
        self._renewal = threading.Thread(target=self._renew, name="citeline-lease", daemon=True)
        self._renewal.start()

    def release(self) -> None:
        self._stop_renewal.set()
        if self._renewal is not None:
            self._renewal.join()
            self._renewal = None
        mine, self.lease = self.lease, None
        if mine is None:
            return
        try:
            with self._meta_lock:
                meta, _ = self.read_meta()
                held = _Lease.parse(meta.get(LEASE_KEY))
                if held is not None and held.owner == mine.owner:
                    meta[LEASE_KEY] = ""
                    self._write_meta(meta)
        except ChromaServerError:
            pass  # unreachable server: the lease expires by itself

    def require_lease(self) -> None:
        if self.lease is None:
            raise RuntimeError("server-mode writes need `with index.writer():` (the writer lease)")

    def _renew(self) -> None:
        while not self._stop_renewal.wait(LEASE_RENEW):
            try:
                with self._meta_lock:
                    if self.lease is None:
                        return
                    meta, _ = self.read_meta()
                    held = _Lease.parse(meta.get(LEASE_KEY))
                    if held is None or held.owner != self.lease.owner:
                        self._lease_lost = True
                        return
                    self.lease.expires = time.time() + LEASE_TTL
                    meta[LEASE_KEY] = self.lease.dump()
                    self._write_meta(meta)
            except ChromaServerError:
                continue  # try again; the commit fence notices if the lease was lost

    def _fence(self, meta: dict[str, Any]) -> None:
        held = _Lease.parse(meta.get(LEASE_KEY))
        if self.lease is None or self._lease_lost or held is None or held.owner != self.lease.owner:
            raise IngestLockedError(
                f"This ingest lost the writer lease on the Chroma server at {self.url} "
                f"(collection {self.name!r}) to another ingest; nothing more was committed. "
                "Run it again when the other one has finished"
            )

    def _locked(self, held: _Lease | None) -> IngestLockedError:
        who = held.describe() if held else "another writer that took it at the same moment"
        return IngestLockedError(
            f"Another ingest is writing to collection {self.name!r} on the Chroma server at "
            f"{self.url} ({who}); wait for it to finish and run again"
        )


class Index:
    """Dense + lexical index under `settings.home`, or on a Chroma server (`chroma_url`) with a
    local cache under `settings.home` (see the module docstring)."""

    def __init__(self, settings: Settings, *, create: bool = False) -> None:
        self.settings = settings
        self.home = settings.home_path
        self._server: _Server | None = None
        self._local = threading.local()
        self._write_lock = threading.Lock()
        self._refresh_lock = threading.Lock()
        self._checked = float("-inf")
        # Sentence vectors: in SQLite only when embedded; on the server too in server mode.
        self._sentences: Any = None
        if settings.chroma_url.strip():
            self.db_path = self.home / server_cache_name(settings)
            self._server = _Server(settings, create=create)
            self._collection, self._sentences = self._server.chunks, self._server.sentences
            self._make_home()
            self._init_db()
            self.refresh(force=True)
            return
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
            self._make_home()
        self._init_db()
        self._collection = self._open_collection()

    def _make_home(self) -> None:
        try:
            self.home.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreUnavailableError(
                f"Cannot create the index folder {self.home}: {exc.strerror}"
            ) from exc

    def _init_db(self) -> None:
        with self._conn() as conn:
            conn.executescript(_SCHEMA + (_CACHE_SCHEMA if self._server else ""))
            conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
            conn.execute("INSERT OR IGNORE INTO meta VALUES ('version', '0')")

    @property
    def server_mode(self) -> bool:
        return self._server is not None

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

    def _chroma_client(self) -> Any:
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        try:
            return chromadb.PersistentClient(
                path=str(self.home / "chroma"),
                settings=ChromaSettings(anonymized_telemetry=False),
            )
        except Exception as exc:
            raise StoreUnavailableError(
                f"Cannot open the Chroma collection at {self.home / 'chroma'}: {exc}"
            ) from exc

    def _open_collection(self) -> Any:
        """The chunk collection (embedded mode)."""
        client = self._chroma_client()
        try:
            # embedding_function=None: Chroma must never embed by itself (its default downloads a model).
            return client.get_or_create_collection(
                self.settings.collection,
                embedding_function=None,
                configuration={"hnsw": {"space": "cosine"}},
            )
        except Exception as exc:
            raise StoreUnavailableError(
                f"Cannot open the Chroma collection at {self.home / 'chroma'}: {exc}"
            ) from exc

    def _drop_legacy_sentences(self) -> None:
        """Delete the `-sentences` collection an embedded index built before sentence vectors
        moved to SQLite only still holds (never read)."""
        name = self.settings.collection + SENTENCES_SUFFIX
        client = self._chroma_client()
        try:
            if name in {c.name for c in client.list_collections()}:
                client.delete_collection(name)
        except Exception as exc:
            raise self._failed("deleting the old sentence collection", exc) from exc

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def _failed(self, action: str, exc: Exception) -> StoreUnavailableError:
        if self._server is not None:
            return self._server.error(action, exc)
        return StoreUnavailableError(f"{action[0].upper()}{action[1:]} failed: {exc}")

    # -- server mode: the local cache ----------------------------------------------------------
    def refresh(self, *, force: bool = False) -> bool:
        """Server mode: bring the local cache (lexical index, chunk texts, sentence vectors,
        manifest) in line with the server when its version stamp moved. Checks the stamp at most
        once every STAMP_TTL seconds unless `force`. True when the cache changed."""
        if self._server is None:
            return False
        if not force and time.monotonic() - self._checked < STAMP_TTL:
            return False
        # One refresh at a time per process; other threads keep reading the current cache.
        if not self._refresh_lock.acquire(blocking=force):
            return False
        try:
            changed = self._refresh()
            self._checked = time.monotonic()
            return changed
        finally:
            self._refresh_lock.release()

    def _meta_value(self, key: str) -> str | None:
        row = self._conn().execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def _refresh(self) -> bool:
        assert self._server is not None
        srv = self._server
        for _ in range(5):
            meta, ident = srv.read_meta()
            stamp = str(int(meta.get(VERSION_KEY, 0)))
            conn = self._conn()
            seen = (self._meta_value("server"), self._meta_value("version"))
            if seen == (ident, stamp):
                return False
            same_server = seen[0] == ident
            local = (
                dict(conn.execute("SELECT doc_id, gen FROM server_docs").fetchall())
                if same_server
                else {}
            )
            gens = srv.gens()
            removed = sorted(set(local) - set(gens))
            wanted = sorted(d for d, g in gens.items() if local.get(d) != g)
            fetched = self._fetch_documents(list(srv.records(wanted).values()))
            with self._write_lock:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    # Another process sharing this cache may have refreshed meanwhile.
                    if (self._meta_value("server"), self._meta_value("version")) != seen:
                        conn.execute("ROLLBACK")
                        continue
                    if not same_server:
                        for table in ("chunks_fts", "chunks", "documents", "server_docs"):
                            conn.execute(f"DELETE FROM {table}")
                    for doc_id in removed:
                        self._delete_rows(conn, doc_id)
                        conn.execute("DELETE FROM server_docs WHERE doc_id=?", (doc_id,))
                    for doc_id, (gen, meta_, content_hash, chunks, svecs, at) in fetched.items():
                        self._delete_rows(conn, doc_id)
                        self._insert_rows(conn, meta_, content_hash, chunks, svecs, at)
                        conn.execute(
                            "INSERT OR REPLACE INTO server_docs VALUES (?,?)", (doc_id, gen)
                        )
                    conn.execute("INSERT OR REPLACE INTO meta VALUES ('server', ?)", (ident,))
                    conn.execute("INSERT OR REPLACE INTO meta VALUES ('version', ?)", (stamp,))
                    conn.execute("COMMIT")
                except BaseException:
                    _rollback(conn)
                    raise
            return True
        raise StoreUnavailableError(
            f"The local cache {self.db_path} kept changing under this refresh; try again"
        )

    def _fetch_documents(
        self, records: Sequence[dict[str, Any]]
    ) -> dict[str, tuple[int, DocMeta, str, list[Chunk], dict[str, bytes], float]]:
        """Chunks and sentence vectors of manifest records. A document some of whose chunks or
        sentence vectors are not on the server (replaced by a commit since its record was read,
        or a broken write) is left out: its cached rows stay until the next refresh."""
        ids = [c[0] for r in records for c in r["chunks"]]
        texts: dict[str, tuple[str, str, tuple[str, ...]]] = {}
        try:
            for batch in self._batches(ids, 500):
                res = self._collection.get(ids=list(batch), include=["documents", "metadatas"])
                for cid, text, md in zip(
                    res["ids"], res["documents"] or [], res["metadatas"] or [], strict=True
                ):
                    if md is not None and text is not None and "sentences" in md:
                        sents = tuple(json.loads(str(md["sentences"])))
                        texts[cid] = (text, str(md.get("section", "")), sents)
            vecs = self._stored_sentence_vectors({cid: len(t[2]) for cid, t in texts.items()})
        except Exception as exc:
            raise self._failed("fetching chunks for the local cache", exc) from exc
        out = {}
        for r in records:
            meta = DocMeta(
                doc_id=r["doc_id"],
                title=r["title"],
                publisher=r["publisher"],
                year=r["year"],
                type=r["type"],
                url=r["url"],
                audience=r["audience"],
                source_path=r["source_path"],
            )
            chunks: list[Chunk] = []
            svecs: dict[str, bytes] = {}
            for cid, ordinal, page in r["chunks"]:
                if cid not in texts or cid not in vecs:
                    break
                text, section, sents = texts[cid]
                chunks.append(
                    Chunk(
                        id=cid,
                        doc=meta,
                        text=text,
                        section=section,
                        page=page,
                        ordinal=ordinal,
                        sentences=sents,
                    )
                )
                svecs[cid] = vecs[cid]
            else:
                out[meta.doc_id] = (
                    int(r["gen"]),
                    meta,
                    r["content_hash"],
                    chunks,
                    svecs,
                    float(r["ingested_at"]),
                )
        return out

    # -- reads ---------------------------------------------------------------------------------
    def version(self) -> int:
        """Embedded: the commit counter. Server mode: the server stamp the cache was built at."""
        row = self._conn().execute("SELECT value FROM meta WHERE key='version'").fetchone()
        return int(row[0]) if row else 0

    def dense_search(
        self, vector: np.ndarray, k: int, filters: Filters | None = None
    ) -> list[tuple[str, float]]:
        """Top-k chunk ids by cosine similarity (only committed chunks)."""
        self.refresh()
        hits = self._query(self._collection, vector, k, filters)
        committed = self._committed([cid for cid, _ in hits])
        return [(cid, sim) for cid, sim in hits if cid in committed]

    def best_sentences(self, ids: Sequence[str], vector: np.ndarray) -> list[tuple[str, float]]:
        """The committed chunks among `ids` ranked by their best sentence's cosine with `vector`
        (small-to-big). The sentence vectors are read from SQLite for these candidates only: no
        index of every sentence is searched or held in memory (at 100k chunks the sentence
        collection's HNSW index took ~775 MB of RSS once queried, bench/README.md)."""
        ids = list(dict.fromkeys(ids))
        if not ids:
            return []
        q = f"SELECT id, sentence_vectors FROM chunks WHERE id IN ({','.join('?' * len(ids))})"
        rows = [(r[0], r[1]) for r in self._conn().execute(q, ids) if r[1]]
        if not rows:
            return []
        dim = vector.shape[-1]
        mats = [np.frombuffer(blob, dtype=np.float32).reshape(-1, dim) for _, blob in rows]
        sims = np.concatenate(mats) @ vector.astype(np.float32)
        starts = np.cumsum([0, *(len(m) for m in mats[:-1])])
        best = np.maximum.reduceat(sims, starts)
        order = sorted(range(len(rows)), key=lambda i: (-best[i], rows[i][0]))
        return [(rows[i][0], float(best[i])) for i in order]

    def _query(
        self, collection: Any, vector: np.ndarray, k: int, filters: Filters | None
    ) -> list[tuple[str, float]]:
        where = filters.chroma_where() if filters else None
        try:
            # No count() first: Chroma returns fewer than n_results (none when empty) by itself,
            # and the extra call cost as much as the query (bench/README.md).
            res = collection.query(
                query_embeddings=[vector.tolist()],
                n_results=k,
                where=where,
                include=["distances"],
            )
        except Exception as exc:
            raise self._failed("dense search", exc) from exc
        return [
            (i, 1.0 - float(d)) for i, d in zip(res["ids"][0], res["distances"][0], strict=True)
        ]

    def unknown_terms(self, terms: Sequence[str]) -> list[str]:
        """The terms that occur in no indexed chunk (matched as the lexical index does: Porter
        stems, case-folded), in the order given."""
        self.refresh()  # server mode: a term a new document brought must not count as unknown
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
        """Top-k chunk ids by BM25 (higher is better), over the query's selective terms."""
        self.refresh()
        terms = _TermShares.of(self).selective(self, query_terms(query)[:64])
        if not terms:
            return []
        match = " OR ".join(f'"{t}"' for t in terms)
        extra, args = (filters or Filters()).sql()
        w = BM25_WEIGHTS
        # The joins are only for the filters: FTS rows are written in the same transaction as
        # their chunks. Without filters they cost a lookup per matching row before the sort
        # (at 94k chunks: median 154 -> 21 ms per query, bench/README.md).
        joins = (
            "JOIN chunks c ON c.id = f.chunk_id JOIN documents d ON d.doc_id = c.doc_id "
            if extra
            else ""
        )
        sql = (
            f"SELECT f.chunk_id, -bm25(chunks_fts, 0, {w[0]}, {w[1]}, {w[2]}) AS s "
            f"FROM chunks_fts f {joins}"
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
        self.refresh()
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
        self.refresh()
        conn = self._conn()
        docs, last = conn.execute("SELECT COUNT(*), MAX(ingested_at) FROM documents").fetchone()
        chunks = conn.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
        return {"documents": docs, "chunks": chunks, "last_ingest": last, "version": self.version()}

    def facets(self) -> dict[str, Any]:
        self.refresh()
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

    # -- writes (callers hold the ingest lock; server mode also the writer lease) -------------
    @contextmanager
    def writer(self) -> Iterator[Index]:
        """Hold the right to write. Embedded: nothing to do (the ingest file lock guards the
        folder). Server mode: the writer lease on the server (IngestLockedError when another
        ingest holds it)."""
        if self._server is None:
            yield self
            return
        self._server.acquire()
        try:
            self.refresh(force=True)  # the writer starts from the server's state
            yield self
        finally:
            self._server.release()

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
        if self._server is not None:
            self._server.require_lease()
        old_ids: set[str] = set()
        new_ids: set[str] = set()
        to_add: list[Chunk] = []
        kept: list[Chunk] = []
        vectors: dict[str, np.ndarray] = {}
        sent_vecs: dict[str, bytes] = {}
        for meta, _, chunks, chunk_vectors, sentence_vectors in items:
            old_ids.update(self.doc_chunk_ids(meta.doc_id))
            new_ids.update(c.id for c in chunks)
            to_add += [c for c in chunks if c.id in chunk_vectors]
            kept += [c for c in chunks if c.id not in chunk_vectors]
            vectors.update(chunk_vectors)
            sent_vecs.update(sentence_vectors)
        if self._server is not None:  # the server's manifest is authoritative for old chunks
            for rec in self._server.records(doc_ids).values():
                old_ids.update(c[0] for c in rec["chunks"])
        stored = self._chroma_upsert(to_add, vectors, sent_vecs)  # 1. vectors first (invisible)
        # Chunks kept from the old version carry their document's metadata in Chroma too, which
        # dense-search filters read: rewrite it (a changed year, type or publisher), before the
        # commit so that a crash leaves the document changed for the next run to finish.
        self._chroma_update_metadata(kept)
        crash_point("after_vectors")
        now = time.time()
        gen = 0
        if self._server is not None:  # 2. the commit point is the server's manifest
            gen = self._server.commit(
                [_record(meta, h, chunks, now) for meta, h, chunks, _, _ in items], []
            )
        with self._write_lock:  # 2. the commit point (embedded); the local cache (server mode)
            conn = self._conn()
            conn.execute("BEGIN IMMEDIATE")
            try:
                known = {r[0] for r in conn.execute("SELECT doc_id FROM documents")}
                for meta, content_hash, chunks, _, sentence_vectors in items:
                    if meta.doc_id in known:
                        # Only then: the FTS delete scans the whole table (chunk_id is UNINDEXED),
                        # which made a 3,600-document bulk load quadratic (~20 s of 100).
                        self._delete_rows(conn, meta.doc_id)
                    svecs = {**sentence_vectors, **stored} if stored else sentence_vectors
                    self._insert_rows(conn, meta, content_hash, chunks, svecs, now)
                    if self._server is not None:
                        conn.execute(
                            "INSERT OR REPLACE INTO server_docs VALUES (?,?)", (meta.doc_id, gen)
                        )
                self._bump(conn, gen)
                crash_point("before_commit")
                conn.execute("COMMIT")
            except BaseException:
                _rollback(conn)
                raise
        crash_point("after_commit")
        stale = sorted(old_ids - new_ids)
        if stale:  # 3. old vectors go last
            self._chroma_delete(stale)

    def remove_document(self, doc_id: str) -> None:
        old_ids = set(self.doc_chunk_ids(doc_id))
        gen = 0
        if self._server is not None:
            self._server.require_lease()
            for rec in self._server.records([doc_id]).values():
                old_ids.update(c[0] for c in rec["chunks"])
            gen = self._server.commit([], [doc_id])
        with self._write_lock:
            conn = self._conn()
            conn.execute("BEGIN IMMEDIATE")
            try:
                self._delete_rows(conn, doc_id)
                if self._server is not None:
                    conn.execute("DELETE FROM server_docs WHERE doc_id=?", (doc_id,))
                self._bump(conn, gen)
                crash_point("before_remove_commit")
                conn.execute("COMMIT")
            except BaseException:
                _rollback(conn)
                raise
        crash_point("after_remove_commit")
        if old_ids:
            self._chroma_delete(sorted(old_ids))

    def reconcile(self) -> dict[str, int]:
        """Repair what an interrupted run left: Chroma orphans and documents missing vectors."""
        chunk_ids = self._chroma_all_ids(self._collection)
        if self._server is not None:
            sentence_chunks = {i.rsplit(":", 1)[0] for i in self._chroma_all_ids(self._sentences)}
            self._server.require_lease()
            records = self._server.records(sorted(self._server.gens()))
            sql_ids = {c[0]: r["doc_id"] for r in records.values() for c in r["chunks"]}
        else:  # embedded: sentence vectors are committed with their chunk rows
            sentence_chunks = set(chunk_ids)
            self._drop_legacy_sentences()
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
        self.refresh(force=True)
        return {"orphan_vectors": len(orphans), "documents_missing_vectors": len(broken_docs)}

    def drop_all(self) -> None:
        """Delete everything (for --rebuild)."""
        if self._server is not None:
            self._server.require_lease()
            gen = self._server.commit([], sorted(self._server.gens()))
        ids = self._chroma_all_ids(self._collection)
        if self._server is not None:
            ids |= {i.rsplit(":", 1)[0] for i in self._chroma_all_ids(self._sentences)}
        if ids:
            self._chroma_delete(sorted(ids))
        with self._write_lock:
            conn = self._conn()
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("DELETE FROM chunks_fts")
            conn.execute("DELETE FROM chunks")
            conn.execute("DELETE FROM documents")
            if self._server is not None:
                conn.execute("DELETE FROM server_docs")
                self._bump(conn, gen)
            else:
                self._bump(conn)
            conn.execute("COMMIT")

    @staticmethod
    def _insert_rows(
        conn: sqlite3.Connection,
        meta: DocMeta,
        content_hash: str,
        chunks: Sequence[Chunk],
        sentence_vectors: dict[str, bytes],
        ingested_at: float,
    ) -> None:
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
                ingested_at,
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

    @staticmethod
    def _delete_rows(conn: sqlite3.Connection, doc_id: str) -> None:
        conn.execute(
            "DELETE FROM chunks_fts WHERE chunk_id IN (SELECT id FROM chunks WHERE doc_id=?)",
            (doc_id,),
        )
        conn.execute("DELETE FROM chunks WHERE doc_id=?", (doc_id,))
        conn.execute("DELETE FROM documents WHERE doc_id=?", (doc_id,))

    @staticmethod
    def _bump(conn: sqlite3.Connection, gen: int = 0) -> None:
        """Embedded: count a commit. Server mode (`gen` > 0): the cache now holds generation
        `gen` of the written documents; it is at stamp `gen` only if it was at `gen - 1`,
        otherwise the next refresh fills in the commits it missed."""
        if gen:
            conn.execute(
                "UPDATE meta SET value = ? WHERE key='version' AND value = ?",
                (str(gen), str(gen - 1)),
            )
        else:
            conn.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key='version'")

    @staticmethod
    def _batches(items: Sequence[Any], size: int = 1000) -> Iterable[Sequence[Any]]:
        for i in range(0, len(items), size):
            yield items[i : i + size]

    def _chroma_upsert(
        self,
        chunks: Sequence[Chunk],
        vectors: dict[str, np.ndarray],
        sentence_vectors: dict[str, bytes],
    ) -> dict[str, bytes]:
        """Write chunk and sentence vectors. Server mode: returns the sentence vectors as the
        server stores them, for the writer's own cache (see `_stored_sentence_vectors`)."""
        stored: dict[str, bytes] = {}
        try:
            for batch in self._batches(chunks):
                self._collection.upsert(
                    ids=[c.id for c in batch],
                    embeddings=np.stack([vectors[c.id] for c in batch]),
                    metadatas=[self._chunk_meta(c) for c in batch],
                    documents=[c.text for c in batch],
                )
                crash_point("between_collections")  # embedded: after a batch of chunk vectors
                if self._server is None:
                    continue  # embedded: sentence vectors go into SQLite with the commit
                s_ids, s_vecs, s_meta = [], [], []
                for c in batch:
                    sv = np.frombuffer(sentence_vectors[c.id], dtype=np.float32)
                    sv = sv.reshape(len(c.sentences), -1)
                    s_ids += [f"{c.id}:{i}" for i in range(len(c.sentences))]
                    s_vecs.append(sv)
                    s_meta += [self._chunk_meta(c, sentences=False)] * len(c.sentences)
                all_vecs = np.concatenate(s_vecs)
                for i in range(0, len(s_ids), 1000):
                    self._sentences.upsert(
                        ids=s_ids[i : i + 1000],
                        embeddings=all_vecs[i : i + 1000],
                        metadatas=s_meta[i : i + 1000],
                    )
                stored.update(
                    self._stored_sentence_vectors({c.id: len(c.sentences) for c in batch})
                )
        except Exception as exc:
            raise self._failed("writing vectors to Chroma", exc) from exc
        return stored

    def _chunk_meta(self, c: Chunk, *, sentences: bool = True) -> dict[str, Any]:
        """A chunk's Chroma metadata: its document's (what dense-search filters read), section,
        page and id. Server mode: readers build their cache from the server, so the chunk also
        carries its sentences (a function of its text, like its id)."""
        meta: dict[str, Any] = {
            **c.doc.to_chroma(),
            "section": c.section,
            "page": c.page or 0,
            "chunk_id": c.id,
        }
        if sentences and self._server is not None:
            meta["sentences"] = json.dumps(list(c.sentences))
        return meta

    def _chroma_update_metadata(self, chunks: Sequence[Chunk]) -> None:
        """Rewrite the metadata of chunks Chroma already holds (their text, id and vectors are
        unchanged, their document's front matter may not be)."""
        try:
            for batch in self._batches(chunks):
                self._collection.update(
                    ids=[c.id for c in batch], metadatas=[self._chunk_meta(c) for c in batch]
                )
        except Exception as exc:
            raise self._failed("updating chunk metadata in Chroma", exc) from exc

    def _stored_sentence_vectors(self, counts: dict[str, int]) -> dict[str, bytes]:
        """Sentence vectors per chunk (chunk id -> number of sentences) as the server stores
        them, float32 bytes; chunks with a sentence missing are left out. A cosine collection
        keeps a re-normalised copy that differs from the embedder's output in the last bits, so
        every server-mode process (the writer too) caches the server's copy: they then all hold
        the same bytes and give the same answers."""
        sids = [f"{cid}:{i}" for cid, n in counts.items() for i in range(n)]
        vecs: dict[str, np.ndarray] = {}
        for batch in self._batches(sids, 1000):
            res = self._sentences.get(ids=list(batch), include=["embeddings"])
            embs = res["embeddings"]
            for sid, e in zip(res["ids"], embs if embs is not None else [], strict=True):
                vecs[sid] = np.asarray(e, dtype=np.float32)
        out: dict[str, bytes] = {}
        for cid, n in counts.items():
            keys = [f"{cid}:{i}" for i in range(n)]
            if all(k in vecs for k in keys):
                rows = np.stack([vecs[k] for k in keys]) if keys else np.zeros((0, 0))
                out[cid] = np.ascontiguousarray(rows, dtype=np.float32).tobytes()
        return out

    def _chroma_delete(self, ids: Sequence[str]) -> None:
        try:
            for batch in self._batches(ids):
                self._collection.delete(ids=list(batch))
                crash_point("between_deletes")  # embedded: after a batch of chunk deletes
                if self._server is not None:
                    self._sentences.delete(where={"chunk_id": {"$in": list(batch)}})
        except Exception as exc:
            raise self._failed("deleting vectors from Chroma", exc) from exc

    def _chroma_all_ids(self, collection: Any) -> set[str]:
        ids: set[str] = set()
        offset, page = 0, 5000
        try:
            while True:
                got = collection.get(include=[], limit=page, offset=offset)["ids"]
                ids.update(got)
                if len(got) < page:
                    return ids
                offset += page
        except Exception as exc:
            if self._server is None:
                raise
            raise self._failed("listing vector ids", exc) from exc


class _TermShares:
    """Which query terms are selective enough to search for, cached per index (weakly: it holds
    no reference to it) and version. A term is common when more than `LEXICAL_MAX_DF_SHARE` of
    the chunks, and more than `LEXICAL_MIN_ROWS`, contain it; telling so reads at most that many
    rows (`LIMIT 1 OFFSET n`: FTS5 stops there), far less than scoring all of them."""

    def __init__(self) -> None:
        self.key = (-1, -1.0)
        self.limit = 0
        self.common: dict[str, bool] = {}
        self.counts: dict[str, int] = {}

    @classmethod
    def of(cls, index: Index) -> _TermShares:
        stats = _TERM_SHARES.get(index)
        if stats is None:
            stats = _TERM_SHARES[index] = cls()
        key = (index.version(), LEXICAL_MAX_DF_SHARE)
        if stats.key != key:  # the index changed (or the share did): start over
            n = index._conn().execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
            stats.key, stats.limit = key, max(int(LEXICAL_MAX_DF_SHARE * n), LEXICAL_MIN_ROWS)
            stats.common, stats.counts = {}, {}
        return stats

    def selective(self, index: Index, terms: Sequence[str]) -> list[str]:
        terms = [t for t in (t.replace('"', "") for t in terms) if t]
        if LEXICAL_MAX_DF_SHARE >= 1 or len(terms) < 2:
            return terms
        conn = index._conn()
        for t in terms:  # the index holds more than `limit` rows for a common term
            if t not in self.common:
                sql = "SELECT 1 FROM chunks_fts WHERE chunks_fts MATCH ? LIMIT 1 OFFSET ?"
                self.common[t] = conn.execute(sql, [f'"{t}"', self.limit]).fetchone() is not None
        keep = [t for t in terms if not self.common[t]]
        if keep:
            return keep
        for t in terms:  # every term is common: the rarest one (exact counts, cached)
            if t not in self.counts:
                sql = "SELECT COUNT(*) FROM chunks_fts WHERE chunks_fts MATCH ?"
                self.counts[t] = conn.execute(sql, [f'"{t}"']).fetchone()[0]
        return [min(terms, key=lambda t: self.counts[t])]


_TERM_SHARES: weakref.WeakKeyDictionary[Index, _TermShares] = weakref.WeakKeyDictionary()


def _rollback(conn: sqlite3.Connection) -> None:
    """Roll back if a transaction is still open: after some errors (a full disk, an I/O error)
    SQLite has already rolled it back, and a second ROLLBACK would raise "no transaction is
    active" in place of the error that says what went wrong."""
    if conn.in_transaction:
        conn.execute("ROLLBACK")


def _record(
    meta: DocMeta, content_hash: str, chunks: Sequence[Chunk], now: float
) -> dict[str, Any]:
    """A document's manifest record on the server (server mode)."""
    return {
        "doc_id": meta.doc_id,
        "title": meta.title,
        "publisher": meta.publisher,
        "year": meta.year,
        "type": meta.type,
        "url": meta.url,
        "audience": meta.audience,
        "source_path": meta.source_path,
        "content_hash": content_hash,
        "ingested_at": now,
        "chunks": [[c.id, c.ordinal, c.page] for c in chunks],
    }


def index_exists(settings: Settings) -> bool:
    """Embedded: the SQLite file exists. Server mode: the collection's manifest exists on the
    server (ChromaServerError when the server cannot be reached)."""
    if not settings.chroma_url.strip():
        return (settings.home_path / DB_NAME).exists()
    from chromadb.errors import NotFoundError

    ep = endpoint(settings)
    client = connect(settings)
    try:
        client.get_collection(settings.collection + MANIFEST_SUFFIX, embedding_function=None)
    except NotFoundError:
        return False
    except Exception as exc:
        raise server_error(ep, f"Chroma server at {ep.url} (CITELINE_CHROMA_URL): ", exc) from exc
    return True


def open_index(settings: Settings, create: bool = False) -> Index:
    return Index(settings, create=create)
