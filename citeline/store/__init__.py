"""The index: a Chroma collection (dense) and a SQLite catalog (manifest, chunk texts, sentence
vectors and an FTS5 BM25 index) kept in step, embedded under CITELINE_HOME or on a Chroma server
with a local cache per process.

Sentence vectors (small-to-big retrieval, citation support) live in the chunk rows in SQLite and
are only ever scored for the candidates of a query (`best_sentences`), never searched globally:
an HNSW index of every sentence (~4.5 per chunk) cost more memory than the chunks' own (~775 MB
of RSS at 100k chunks, bench/README.md) and most of the ingest's index writes.

Modules: `protocol` (what a store offers), `model` (its types and tunables), `factory`
(`open_index`: embedded or server, chosen once), `base` (what both modes share), `embedded`,
`server` (with `manifest`, `lease` and `replica`), `catalog` (SQLite, with numbered migrations),
`lexical` (FTS5), `codec` (the vector blobs), `chroma` (the Chroma adapter).
"""

from citeline.store import embedded as _embedded  # noqa: F401  (registers the embedded store)
from citeline.store import server as _server_mode  # noqa: F401  (registers the server store)
from citeline.store.base import Index
from citeline.store.catalog import SCHEMA_VERSION, DatabaseError
from citeline.store.embedded import EmbeddedIndex
from citeline.store.factory import index_exists, open_index
from citeline.store.model import (
    BM25_WEIGHTS,
    DB_NAME,
    LEASE_KEY,
    LEASE_RENEW,
    LEASE_SETTLE,
    LEASE_TTL,
    LEXICAL_MAX_DF_SHARE,
    LEXICAL_MIN_ROWS,
    MANIFEST_SUFFIX,
    SENTENCES_SUFFIX,
    STAMP_TTL,
    VERSION_KEY,
    Audit,
    ChunkRow,
    DocumentRecord,
    DocumentWrite,
    Filters,
    Lease,
    Tuning,
    fts_query,
    query_terms,
)
from citeline.store.protocol import Store, WritableStore
from citeline.store.server import ServerIndex, server_cache_name

__all__ = [
    "BM25_WEIGHTS",
    "DB_NAME",
    "LEASE_KEY",
    "LEASE_RENEW",
    "LEASE_SETTLE",
    "LEASE_TTL",
    "LEXICAL_MAX_DF_SHARE",
    "LEXICAL_MIN_ROWS",
    "MANIFEST_SUFFIX",
    "SCHEMA_VERSION",
    "SENTENCES_SUFFIX",
    "STAMP_TTL",
    "VERSION_KEY",
    "Audit",
    "ChunkRow",
    "DatabaseError",
    "DocumentRecord",
    "DocumentWrite",
    "EmbeddedIndex",
    "Filters",
    "Index",
    "Lease",
    "ServerIndex",
    "Store",
    "Tuning",
    "WritableStore",
    "fts_query",
    "index_exists",
    "open_index",
    "query_terms",
    "server_cache_name",
]
