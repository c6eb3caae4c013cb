"""The store contract (tests/store_contract.py) on the embedded index and the in-memory fake
(the server index runs it in tests/test_server_mode.py); the writer lease over an in-memory
metadata store; today's SQLite files opened as schema version 1."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from citeline.config import Settings
from citeline.errors import IngestLockedError, StoreUnavailableError
from citeline.store import (
    LEASE_KEY,
    SCHEMA_VERSION,
    VERSION_KEY,
    Lease,
    Store,
    Tuning,
    WritableStore,
    open_index,
)
from citeline.store.catalog import Catalog
from citeline.store.lease import WriterLease
from tests import legacy_store_v1
from tests.fakes import InMemoryIndex
from tests.store_contract import EMB, LIBRARY, StoreContract, document


@pytest.mark.integration
class TestEmbeddedStore(StoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Any:
        idx = open_index(Settings(home=tmp_path / "home"), create=True)
        yield idx
        idx.close()


class TestInMemoryStore(StoreContract):
    @pytest.fixture
    def store(self) -> Any:
        return InMemoryIndex()


def test_store_protocols_are_met_by_every_store(tmp_path: Path) -> None:
    idx = open_index(Settings(home=tmp_path / "home"), create=True)
    for store in (idx, InMemoryIndex()):
        assert isinstance(store, Store) and isinstance(store, WritableStore)
    idx.close()


# -- the writer lease, over an in-memory metadata store ------------------------------------------
class MemoryMeta:
    """A `lease.MetaStore` in a dict (what the manifest collection's metadata is on a server)."""

    def __init__(self) -> None:
        self.meta: dict[str, Any] = {}
        self.meta_lock = threading.Lock()
        self.url, self.name = "memory://", "coll"
        self.top = 0

    def read_meta(self) -> tuple[dict[str, Any], str]:
        return dict(self.meta), "memory"

    def write_meta(self, meta: dict[str, Any]) -> None:
        self.meta = dict(meta)

    def top_generation(self) -> int:
        return self.top


FAST = Tuning(lease_ttl=1.0, lease_renew=0.1, lease_settle=0.0)


def test_lease_is_taken_moved_past_every_generation_and_released() -> None:
    meta = MemoryMeta()
    meta.top = 7
    lease = WriterLease(meta)
    with pytest.raises(RuntimeError, match="writer lease"):
        lease.require()
    lease.acquire(FAST)
    try:
        held = Lease.parse(meta.meta[LEASE_KEY])
        assert held is not None and held == lease.held and not held.stale()
        assert meta.meta[VERSION_KEY] == 8, "the stamp moves past the manifest's generations"
        lease.require()
        lease.fence(meta.read_meta()[0])
    finally:
        lease.release()
    assert meta.meta[LEASE_KEY] == "" and lease.held is None


def test_lease_held_by_another_live_writer_is_refused() -> None:
    meta = MemoryMeta()
    meta.meta[LEASE_KEY] = Lease("other", "elsewhere", 1, time.time() + 60).dump()
    with pytest.raises(IngestLockedError, match="pid 1 on host elsewhere"):
        WriterLease(meta).acquire(FAST)
    meta.meta[LEASE_KEY] = Lease("other", "elsewhere", 1, time.time() - 1).dump()  # expired
    lease = WriterLease(meta)
    lease.acquire(FAST)
    lease.release()


def test_lease_is_renewed_and_a_lost_lease_fences_the_commit() -> None:
    meta = MemoryMeta()
    lease = WriterLease(meta)
    lease.acquire(FAST)
    try:
        first = Lease.parse(meta.meta[LEASE_KEY])
        time.sleep(0.35)
        renewed = Lease.parse(meta.meta[LEASE_KEY])
        assert first is not None and renewed is not None and renewed.expires > first.expires
        meta.meta[LEASE_KEY] = Lease("thief", "elsewhere", 1, time.time() + 60).dump()
        time.sleep(0.25)
        with pytest.raises(IngestLockedError, match="lost the writer lease"):
            lease.fence(meta.read_meta()[0])
    finally:
        lease.release()
    assert Lease.parse(meta.meta[LEASE_KEY]).owner == "thief"  # type: ignore[union-attr]


# -- today's files are schema version 1 ----------------------------------------------------------
def _v1_docs() -> list[Any]:
    items = [document(meta, sections) for meta, sections in LIBRARY.values()]
    return [(w.meta, w.content_hash, list(w.chunks), dict(w.sentence_vectors)) for w in items]


def _schema(path: Path) -> str:
    with sqlite3.connect(path) as conn:
        return str(conn.execute("SELECT value FROM meta WHERE key='schema'").fetchone()[0])


@pytest.mark.integration
def test_an_index_of_today_opens_unchanged_as_schema_1(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    legacy_store_v1.build(home / "citeline.db", _v1_docs())
    idx = open_index(Settings(home=home))
    try:
        assert SCHEMA_VERSION == 1 and _schema(home / "citeline.db") == "1"
        assert set(idx.documents()) == {"kale", "statin"} and idx.version() == 1
        assert [c for c, _ in idx.lexical_search("cholesterol", 5)] == ["statin-0"]
        chunk, vecs = idx.get_chunks(["kale-0"])["kale-0"]
        assert chunk.sentences == ("Kale is a leafy vegetable.", "It is rich in vitamin K.")
        assert np.allclose(vecs, EMB.embed(list(chunk.sentences)))
    finally:
        idx.close()


def test_a_server_cache_of_today_opens_unchanged_as_schema_1(tmp_path: Path) -> None:
    path = tmp_path / "server-cache-0123456789ab.db"
    legacy_store_v1.build(path, _v1_docs(), cache_gen=4)
    catalog = Catalog(path, cache=True)
    try:
        assert catalog.generations() == {"kale": 4, "statin": 4}
        assert catalog.documents()["statin"].meta == LIBRARY["statin"][0]
        assert _schema(path) == "1"
    finally:
        catalog.close()


def test_a_file_of_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "citeline.db"
    Catalog(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE meta SET value='99' WHERE key='schema'")
    with pytest.raises(StoreUnavailableError, match="schema version 99"):
        Catalog(path)


def test_store_codec_round_trips_sentence_vectors() -> None:
    from citeline.store import codec

    rows = np.arange(12, dtype=np.float64).reshape(3, 4)
    blob = codec.encode(rows)
    assert len(blob) == 3 * 4 * 4 and codec.count(blob, 4) == 3
    assert np.array_equal(codec.decode(blob, rows=3), rows.astype(np.float32))
    assert np.array_equal(codec.decode(blob, dim=4), rows.astype(np.float32))
    assert codec.decode(b"", rows=0).shape == (0, 0)
