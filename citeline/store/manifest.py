"""Server mode's manifest: one record per document in the `-manifest` collection (metadata,
content hash, ingest time, commit generation, the ordered list of its chunks with ordinal and
page; each with a dummy 1-d vector because Chroma stores nothing without one), and in that
collection's metadata the version stamp (`citeline_version`) and the writer lease.

The commit point of server mode is one manifest upsert/delete followed by bumping the stamp.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from citeline.chroma_client import Endpoint, server_error
from citeline.errors import ChromaServerError
from citeline.faults import crash_point
from citeline.store import chroma
from citeline.store.chroma import VectorCollection
from citeline.store.lease import WriterLease
from citeline.store.model import LEASE_KEY, VERSION_KEY, Lease, doc_values
from citeline.types import Chunk, DocMeta

_PAGE = 500


@dataclass(frozen=True)
class Remote:
    """A server collection's client and its name and URL as messages show them."""

    endpoint: Endpoint
    client: Any
    name: str

    @property
    def url(self) -> str:
        return self.endpoint.url  # as shown: user:password masked

    def error(self, action: str, exc: BaseException) -> ChromaServerError:
        return server_error(
            self.endpoint,
            f"Chroma server at {self.url} (CITELINE_CHROMA_URL): {action} failed: ",
            exc,
        )


def record(meta: DocMeta, content_hash: str, chunks: Sequence[Chunk], now: float) -> dict[str, Any]:
    """A document's manifest record."""
    return {
        **doc_values(meta),
        "content_hash": content_hash,
        "ingested_at": now,
        "chunks": [[c.id, c.ordinal, c.page] for c in chunks],
    }


class Manifest:
    """The manifest collection of one server collection (a `lease.MetaStore`)."""

    def __init__(self, remote: Remote, collection: VectorCollection) -> None:
        self.remote = remote
        self.collection = collection
        self.url, self.name = remote.url, remote.name
        self.meta_lock = threading.Lock()

    def read_meta(self) -> tuple[dict[str, Any], str]:
        """The collection's metadata (stamp, lease) and its identity for caches."""
        try:
            meta, ident = chroma.collection_metadata(self.remote.client, self.collection.name)
        except Exception as exc:
            raise self.remote.error("reading the index version", exc) from exc
        return meta, f"{self.url}|{self.name}|{ident}"

    def write_meta(self, meta: dict[str, Any]) -> None:
        try:
            # modify() replaces the whole metadata: callers read-modify-write under meta_lock.
            self.collection.modify(metadata=meta)
        except Exception as exc:
            raise self.remote.error("writing the index version", exc) from exc

    def stamp(self) -> int:
        return int(self.read_meta()[0].get(VERSION_KEY, 0))

    def lease(self) -> Lease | None:
        """The lease the server holds now (anyone's)."""
        return Lease.parse(self.read_meta()[0].get(LEASE_KEY))

    def set_lease(self, lease: Lease | None) -> None:
        """Overwrite the lease record (operators clearing a stuck lease; tests)."""
        with self.meta_lock:
            meta, _ = self.read_meta()
            meta[LEASE_KEY] = lease.dump() if lease else ""
            self.write_meta(meta)

    def generations(self) -> dict[str, int]:
        """Document id -> generation of every record."""
        out: dict[str, int] = {}
        offset, page = 0, 5000
        try:
            while True:
                res = self.collection.get(include=["metadatas"], limit=page, offset=offset)
                for i, md in zip(res["ids"], res["metadatas"] or [], strict=True):
                    out[i] = int((md or {}).get("gen", 0))
                if len(res["ids"]) < page:
                    return out
                offset += page
        except Exception as exc:
            raise self.remote.error("listing the manifest", exc) from exc

    def top_generation(self) -> int:
        return max(self.generations().values(), default=0)

    def records(self, doc_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Records by document id (ids without a record are left out)."""
        out: dict[str, dict[str, Any]] = {}
        try:
            for i in range(0, len(doc_ids), _PAGE):
                res = self.collection.get(ids=list(doc_ids[i : i + _PAGE]), include=["documents"])
                for did, doc in zip(res["ids"], res["documents"] or [], strict=True):
                    if doc:
                        out[did] = json.loads(doc)
        except Exception as exc:
            raise self.remote.error("reading manifest records", exc) from exc
        return out

    def put(self, records: Sequence[dict[str, Any]], gen: int) -> None:
        """Write records at generation `gen` (no stamp bump: `commit` is the commit point)."""
        for i in range(0, len(records), _PAGE):
            batch = [{**r, "gen": gen} for r in records[i : i + _PAGE]]
            self.collection.upsert(
                ids=[r["doc_id"] for r in batch],
                embeddings=np.ones((len(batch), 1), dtype=np.float32),
                documents=[json.dumps(r) for r in batch],
                metadatas=[{"gen": gen} for _ in batch],
            )

    def delete(self, doc_ids: Sequence[str]) -> None:
        for i in range(0, len(doc_ids), _PAGE):
            self.collection.delete(ids=list(doc_ids[i : i + _PAGE]))

    def commit(
        self, records: Sequence[dict[str, Any]], removed: Sequence[str], lease: WriterLease
    ) -> int:
        """The commit point: write/delete records, then bump the stamp. Returns the new
        generation. Checks first that `lease` is still this collection's writer lease."""
        with self.meta_lock:
            meta, _ = self.read_meta()
            lease.fence(meta)
            gen = int(meta.get(VERSION_KEY, 0)) + 1
            try:
                self.put(records, gen)
                self.delete(removed)
            except Exception as exc:
                raise self.remote.error("writing the manifest", exc) from exc
            crash_point("before_stamp")
            lease.stamp(meta)
            meta[VERSION_KEY] = gen
            self.write_meta(meta)
            return gen
