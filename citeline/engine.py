"""The engine: what answering needs (the index, the embedder and what the library's titles,
headings and publishers name), loaded once per process and shared by all sessions."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from citeline.config import Settings
from citeline.embeddings import Embedder, get_embedder
from citeline.question import stems_of
from citeline.sources import source_tokens
from citeline.store import Index, open_index


@dataclass
class Engine:
    """What answering needs, loaded once per process and shared by all sessions."""

    settings: Settings
    index: Index
    embedder: Embedder
    _entities: tuple[int, frozenset[str]] | None = None
    _names: tuple[int, dict[str, frozenset[str]], int] | None = None
    _titles: tuple[int, frozenset[str]] | None = None

    def entities(self) -> frozenset[str]:
        """Stems of the words the library's titles and headings use (what names a subject)."""
        version = self.index.version()
        if self._entities is None or self._entities[0] != version:
            # titles and section headings: a single guideline names its topics in its headings
            names = " ".join(
                f"{r.meta.title} {' '.join(r.sections)}" for r in self.index.documents().values()
            )
            self._entities = (version, frozenset(stems_of(names)))
        return self._entities[1]

    def title_words(self) -> frozenset[str]:
        """Stems of the library's titles alone (a subject a document is about)."""
        version = self.index.version()
        if self._titles is None or self._titles[0] != version:
            titles = " ".join(r.meta.title for r in self.index.documents().values())
            self._titles = (version, frozenset(stems_of(titles)))
        return self._titles[1]

    def source_names(self) -> tuple[dict[str, frozenset[str]], int]:
        """Capitalised words of each document's title and publisher -> the documents using
        them, and the number of documents (what a question can name a source by)."""
        version = self.index.version()
        if self._names is None or self._names[0] != version:
            docs = self.index.documents()
            names: dict[str, set[str]] = {}
            for doc_id, r in docs.items():
                for tok in source_tokens(r.meta.title, r.meta.publisher):
                    names.setdefault(tok, set()).add(doc_id)
            frozen = {k: frozenset(v) for k, v in names.items()}
            self._names = (version, frozen, len(docs))
        return self._names[1], self._names[2]


_engines: dict[tuple[str, ...], Engine] = {}
_engines_lock = threading.Lock()


def get_engine(settings: Settings) -> Engine:
    key = (
        str(settings.home_path),
        settings.chroma_url,
        settings.chroma_tenant,
        settings.chroma_database,
        settings.collection,
        settings.embed_model,
    )
    with _engines_lock:
        if key not in _engines:
            index = open_index(settings)
            _engines[key] = Engine(settings, index, get_embedder(settings.embed_model))
        return _engines[key]


def reset_engines() -> None:
    """Forget cached engines (tests, or after the index folder was replaced)."""
    with _engines_lock:
        for e in _engines.values():
            e.index.close()
        _engines.clear()
