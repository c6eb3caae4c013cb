"""The embedded store (the default): Chroma's PersistentClient and `citeline.db` under
CITELINE_HOME.

SQLite is the commit point: readers only return chunk ids present in SQLite, so a half-written
Chroma is never visible, and `reconcile()` (run at the start of every ingest) deletes Chroma ids
that SQLite does not know and forgets documents whose vectors are missing, so the next sync
re-adds them. Sentence vectors are committed with their chunk rows, in SQLite only.
"""

from __future__ import annotations

from citeline.config import Settings
from citeline.errors import IndexMissingError, StoreUnavailableError
from citeline.store import chroma
from citeline.store.base import Index, implementation
from citeline.store.catalog import Catalog
from citeline.store.chroma import VectorCollection
from citeline.store.model import DB_NAME, SENTENCES_SUFFIX, Tuning


@implementation("embedded")
class EmbeddedIndex(Index):
    """Chroma's PersistentClient and citeline.db in one folder."""

    def __init__(
        self, settings: Settings, create: bool = False, *, tuning: Tuning | None = None
    ) -> None:
        super().__init__(settings, create, tuning=tuning)
        path = self.home / DB_NAME
        try:
            exists = path.exists()
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
        self._open_catalog(Catalog(path))
        self.chunks = chroma.open_embedded(self.home, settings.collection)

    def _collection_names(self) -> list[str]:
        return chroma.collection_names(chroma.persistent_client(self.home))

    def _all_ids(self, collection: VectorCollection) -> set[str]:
        return collection.all_ids()

    def _layers(self) -> tuple[set[str], set[str], dict[str, str]]:
        chunk_ids = self._all_ids(self.chunks)
        self._drop_legacy_sentences()
        return chunk_ids, set(chunk_ids), self.catalog.chunk_documents()

    def _drop_legacy_sentences(self) -> None:
        """Delete the `-sentences` collection an embedded index built before sentence vectors
        moved to SQLite only still holds (never read)."""
        client = chroma.persistent_client(self.home)
        try:
            chroma.drop_collection(client, self.settings.collection + SENTENCES_SUFFIX)
        except Exception as exc:
            raise self._failed("deleting the old sentence collection", exc) from exc
