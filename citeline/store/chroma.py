"""The Chroma adapter of the store (with `citeline.chroma_client`, the only modules that import
chromadb): clients, collections, filters as `where` clauses, chunk metadata."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from citeline.chroma_client import connect
from citeline.config import Settings
from citeline.errors import StoreUnavailableError
from citeline.store.model import Filters
from citeline.types import Chunk

_COSINE: Any = {"hnsw": {"space": "cosine"}}


class CollectionMissing(Exception):
    """A collection that was to be opened, not created, does not exist."""


def persistent_client(home: Path) -> Any:
    """The embedded client of an index folder (Chroma keeps one per folder and process)."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    try:
        return chromadb.PersistentClient(
            path=str(home / "chroma"), settings=ChromaSettings(anonymized_telemetry=False)
        )
    except Exception as exc:
        raise StoreUnavailableError(
            f"Cannot open the Chroma collection at {home / 'chroma'}: {exc}"
        ) from exc


def open_embedded(home: Path, name: str) -> VectorCollection:
    """The chunk collection of an embedded index."""
    client = persistent_client(home)
    try:
        # embedding_function=None: Chroma must never embed by itself (its default downloads a model).
        col = client.get_or_create_collection(name, embedding_function=None, configuration=_COSINE)
    except Exception as exc:
        raise StoreUnavailableError(
            f"Cannot open the Chroma collection at {home / 'chroma'}: {exc}"
        ) from exc
    return VectorCollection(col)


def collection_names(client: Any) -> list[str]:
    return [c.name for c in client.list_collections()]


def drop_collection(client: Any, name: str) -> None:
    """Delete a collection if it exists."""
    if name in collection_names(client):
        client.delete_collection(name)


def server_client(settings: Settings) -> Any:
    return connect(settings)


def open_server(client: Any, names: Sequence[str], *, create: bool) -> list[VectorCollection]:
    """Server mode: the named collections (CollectionMissing when one is absent and not
    `create`)."""
    from chromadb.errors import NotFoundError

    try:
        if create:
            cols = [
                client.get_or_create_collection(n, embedding_function=None, configuration=_COSINE)
                for n in names
            ]
        else:
            cols = [client.get_collection(n, embedding_function=None) for n in names]
    except NotFoundError:
        raise CollectionMissing(names[0]) from None
    return [VectorCollection(c) for c in cols]


def has_collection(client: Any, name: str) -> bool:
    from chromadb.errors import NotFoundError

    try:
        client.get_collection(name, embedding_function=None)
    except NotFoundError:
        return False
    return True


def collection_metadata(client: Any, name: str) -> tuple[dict[str, Any], str]:
    """A collection's metadata as the server holds it now, and the collection's id."""
    col = client.get_collection(name, embedding_function=None)
    return dict(col.metadata or {}), str(col.id)


def where(filters: Filters | None) -> dict[str, Any] | None:
    """The filters as a Chroma `where` clause on chunk metadata (None: no filter)."""
    if filters is None:
        return None
    conds: list[dict[str, Any]] = []
    for key, values in (
        ("type", filters.types),
        ("publisher", filters.publishers),
        ("doc_id", filters.doc_ids),
    ):
        if values:
            conds.append({key: {"$in": list(values)}})
    if filters.year_min is not None:
        conds.append({"year": {"$gte": filters.year_min}})
    if filters.year_max is not None:
        conds.append({"year": {"$lte": filters.year_max}})
    if not conds:
        return None
    return conds[0] if len(conds) == 1 else {"$and": conds}


def chunk_metadata(c: Chunk, sentences: str | None = None) -> dict[str, Any]:
    """A chunk's Chroma metadata: its document's (flat, no None: what dense-search filters
    read), section, page and id, and its sentences as JSON when given (server mode)."""
    d = c.doc
    meta: dict[str, Any] = {
        "doc_id": d.doc_id,
        "title": d.title,
        "publisher": d.publisher,
        "year": d.year if d.year is not None else 0,
        "type": d.type,
        "audience": d.audience,
        "section": c.section,
        "page": c.page or 0,
        "chunk_id": c.id,
    }
    if sentences is not None:
        meta["sentences"] = sentences
    return meta


class VectorCollection:
    """One Chroma collection, as the store uses it (exceptions pass through: callers say what
    failed)."""

    def __init__(self, col: Any) -> None:
        self._col = col
        self.name: str = col.name

    def count(self) -> int:
        return int(self._col.count())

    def telemetry(self) -> bool:
        return bool(self._col._client.get_settings().anonymized_telemetry)

    def query(
        self, vector: np.ndarray, k: int, filters: Filters | None = None
    ) -> list[tuple[str, float]]:
        """Top-k ids by cosine similarity."""
        # No count() first: Chroma returns fewer than n_results (none when empty) by itself,
        # and the extra call cost as much as the query (bench/README.md).
        res = self._col.query(
            query_embeddings=[vector.tolist()],
            n_results=k,
            where=where(filters),
            include=["distances"],
        )
        return [
            (i, 1.0 - float(d)) for i, d in zip(res["ids"][0], res["distances"][0], strict=True)
        ]

    def upsert(self, ids: list[str], embeddings: Any, metadatas: list[Any], **kw: Any) -> None:
        self._col.upsert(ids=ids, embeddings=embeddings, metadatas=metadatas, **kw)

    def update(self, ids: list[str], metadatas: list[Any]) -> None:
        self._col.update(ids=ids, metadatas=metadatas)

    def delete(self, ids: list[str]) -> None:
        self._col.delete(ids=ids)

    def delete_chunks(self, chunk_ids: list[str]) -> None:
        """Delete the records whose `chunk_id` metadata is one of these."""
        self._col.delete(where={"chunk_id": {"$in": chunk_ids}})

    def get(self, **kw: Any) -> Any:
        return self._col.get(**kw)

    def modify(self, metadata: dict[str, Any]) -> None:
        self._col.modify(metadata=metadata)

    def all_ids(self) -> set[str]:
        ids: set[str] = set()
        offset, page = 0, 5000
        while True:
            got = self._col.get(include=[], limit=page, offset=offset)["ids"]
            ids.update(got)
            if len(got) < page:
                return ids
            offset += page
