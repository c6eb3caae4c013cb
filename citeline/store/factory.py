"""Opening an index: `open_index` and `index_exists` choose embedded or server mode from the
settings, once."""

from __future__ import annotations

from citeline.chroma_client import endpoint, server_error
from citeline.config import Settings
from citeline.store import chroma
from citeline.store.base import Index
from citeline.store.model import DB_NAME, MANIFEST_SUFFIX, Tuning


def index_exists(settings: Settings) -> bool:
    """Embedded: the SQLite file exists. Server mode: the collection's manifest exists on the
    server (ChromaServerError when the server cannot be reached)."""
    if not settings.chroma_url.strip():
        return (settings.home_path / DB_NAME).exists()
    ep = endpoint(settings)
    client = chroma.server_client(settings)
    try:
        return chroma.has_collection(client, settings.collection + MANIFEST_SUFFIX)
    except Exception as exc:
        raise server_error(ep, f"Chroma server at {ep.url} (CITELINE_CHROMA_URL): ", exc) from exc


def open_index(settings: Settings, create: bool = False, *, tuning: Tuning | None = None) -> Index:
    """The index of these settings: `EmbeddedIndex` or `ServerIndex` (`create`: make it when
    it does not exist yet)."""
    return Index(settings, create, tuning=tuning)
