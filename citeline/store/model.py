"""The store's own types: filters, document records, one write, tunables and an audit."""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from citeline.text import STOPWORDS, words
from citeline.types import Chunk, DocMeta

DB_NAME = "citeline.db"
VERSION_KEY = "citeline_version"
LEASE_KEY = "citeline_writer"
MANIFEST_SUFFIX = "-manifest"
SENTENCES_SUFFIX = "-sentences"

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


@dataclass(frozen=True)
class Tuning:
    """The store's tunables, passed to `open_index` (or set with `Index.tune`), never patched."""

    bm25_weights: tuple[float, float, float] = BM25_WEIGHTS
    lexical_max_df_share: float = LEXICAL_MAX_DF_SHARE
    lexical_min_rows: int = LEXICAL_MIN_ROWS
    stamp_ttl: float = STAMP_TTL
    lease_ttl: float = LEASE_TTL
    lease_renew: float = LEASE_RENEW
    lease_settle: float = LEASE_SETTLE
    batch: int = 1000  # ids per Chroma call


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

    def accepts(self, meta: DocMeta) -> bool:
        """Whether a document passes (the rule both searches apply; year 0 when unknown)."""
        year = meta.year if meta.year is not None else 0
        return (
            (not self.types or meta.type in self.types)
            and (not self.publishers or meta.publisher in self.publishers)
            and (not self.doc_ids or meta.doc_id in self.doc_ids)
            and (self.year_min is None or year >= self.year_min)
            and (self.year_max is None or year <= self.year_max)
        )


@dataclass(frozen=True)
class DocumentRecord:
    meta: DocMeta
    content_hash: str
    n_chunks: int
    sections: tuple[str, ...]
    ingested_at: float


@dataclass(frozen=True)
class DocumentWrite:
    """One document to write: its chunks, vectors for the chunk ids the index lacks, and every
    chunk's sentence vectors (float32 bytes, see `codec`). Unpacks as the 5-tuple it replaces."""

    meta: DocMeta
    content_hash: str
    chunks: Sequence[Chunk]
    chunk_vectors: Mapping[str, np.ndarray]
    sentence_vectors: Mapping[str, bytes]

    def __iter__(self) -> Any:
        return iter(
            (self.meta, self.content_hash, self.chunks, self.chunk_vectors, self.sentence_vectors)
        )

    @classmethod
    def of(cls, item: DocumentWrite | Sequence[Any]) -> DocumentWrite:
        return item if isinstance(item, DocumentWrite) else cls(*item)


@dataclass(frozen=True)
class ChunkRow:
    """One chunk row of the catalog as stored (for audits)."""

    id: str
    doc_id: str
    text: str
    sentences: tuple[str, ...]
    sentence_vectors: bytes


@dataclass(frozen=True)
class Lease:
    """The writer lease record of server mode (JSON in the manifest collection's metadata)."""

    owner: str
    host: str
    pid: int
    expires: float

    def dump(self) -> str:
        return json.dumps(
            {"owner": self.owner, "host": self.host, "pid": self.pid, "expires": self.expires}
        )

    @classmethod
    def parse(cls, raw: Any) -> Lease | None:
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


@dataclass(frozen=True)
class Audit:
    """What every layer of a store holds, for tests and operators: the catalog's chunk rows and
    lexical rows (storage order), the chunk ids of the dense collection, and in server mode the
    sentence collection's ids, the manifest records, the version stamp and the writer lease."""

    rows: tuple[ChunkRow, ...]
    lexical: tuple[str, ...]
    dense: frozenset[str]
    collections: tuple[str, ...]
    telemetry: bool = False
    sentence_collection: frozenset[str] | None = None
    manifest: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    stamp: int | None = None
    lease: Lease | None = None

    @property
    def chunk_ids(self) -> list[str]:
        return [r.id for r in self.rows]


DOC_FIELDS = tuple(f.name for f in fields(DocMeta))


def doc_meta(values: Mapping[str, Any]) -> DocMeta:
    """A DocMeta from any mapping holding its fields (a catalog row, a manifest record)."""
    return DocMeta(**{k: values[k] for k in DOC_FIELDS})


def doc_values(meta: DocMeta) -> dict[str, Any]:
    """A DocMeta's fields by name (what the catalog and the manifest store)."""
    return {k: getattr(meta, k) for k in DOC_FIELDS}


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
