"""What a store offers, as protocols (no inheritance needed: `tests/fakes.InMemoryIndex`
implements them without Chroma or SQLite)."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol, runtime_checkable

import numpy as np

from citeline.store.model import Audit, DocumentRecord, DocumentWrite, Filters
from citeline.types import Chunk, DocMeta


@runtime_checkable
class Store(Protocol):
    """The read side: what retrieval and the app use."""

    def version(self) -> int: ...

    def dense_search(
        self, vector: np.ndarray, k: int, filters: Filters | None = None
    ) -> list[tuple[str, float]]: ...

    def lexical_search(
        self, query: str, k: int, filters: Filters | None = None
    ) -> list[tuple[str, float]]: ...

    def best_sentences(self, ids: Sequence[str], vector: np.ndarray) -> list[tuple[str, float]]: ...

    def unknown_terms(self, terms: Sequence[str]) -> list[str]: ...

    def get_chunks(self, ids: Sequence[str]) -> dict[str, tuple[Chunk, np.ndarray]]: ...

    def documents(self) -> dict[str, DocumentRecord]: ...

    def doc_chunk_ids(self, doc_id: str) -> dict[str, tuple[str, bytes]]: ...

    def stats(self) -> dict[str, Any]: ...

    def facets(self) -> dict[str, Any]: ...

    def audit(self) -> Audit: ...

    def close(self) -> None: ...


@runtime_checkable
class WritableStore(Store, Protocol):
    """The write side: what ingest uses, inside `with store.writer():`."""

    def writer(self) -> AbstractContextManager[Any]: ...

    def replace_document(
        self,
        meta: DocMeta,
        content_hash: str,
        chunks: Sequence[Chunk],
        chunk_vectors: dict[str, np.ndarray],
        sentence_vectors: dict[str, bytes],
    ) -> None: ...

    def replace_documents(self, items: Sequence[DocumentWrite | Sequence[Any]]) -> None: ...

    def remove_document(self, doc_id: str) -> None: ...

    def reconcile(self) -> dict[str, int]: ...

    def drop_all(self) -> None: ...
