"""A persistent embedding cache: vectors keyed by sha256(model name + text) in one SQLite file.

Encoding is the slow part of every benchmark run on a CPU (tens of texts per second here), and
the texts rarely change between runs; with the cache a re-run encodes only what is new.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

CACHE_FILE = "embeddings.sqlite"
# Texts per round trip: under SQLite's bound-parameter limit, and a batch of misses small enough
# that an interrupted cold run keeps most of its work (each batch is committed).
_LOOKUP_BATCH = 500
_ENCODE_BATCH = 512


def default_cache_dir() -> Path:
    """`$XDG_CACHE_HOME/citeline`, else `~/.cache/citeline`."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "citeline"


def cache_key(model: str, text: str) -> bytes:
    # The unit separator keeps ("ab", "c") and ("a", "bc") apart.
    return hashlib.sha256(f"{model}\x1f{text}".encode()).digest()


class Model(Protocol):
    """What the cache wraps: the `Embedder` protocol, with `dim` allowed to be a property."""

    @property
    def name(self) -> str: ...

    @property
    def dim(self) -> int: ...

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


class LazyEmbedder:
    """Defers building the real embedder until a text must be encoded.

    A warm-cache run then never loads the model (torch and the weights take seconds to load).
    """

    def __init__(self, name: str, factory: Callable[[], Model]) -> None:
        self.name = name
        self._factory = factory
        self._inner: Model | None = None

    @property
    def loaded(self) -> bool:
        return self._inner is not None

    def _get(self) -> Model:
        if self._inner is None:
            self._inner = self._factory()
        return self._inner

    @property
    def dim(self) -> int:
        return self._get().dim

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return self._get().embed(texts)


class CachedEmbedder:
    """Wraps any `Embedder`; `encoded` counts the texts the wrapped model actually encoded."""

    def __init__(self, inner: Model, cache_dir: Path) -> None:
        self.inner = inner
        self.name = inner.name
        self.encoded = 0
        self.path = Path(cache_dir) / CACHE_FILE
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(self.path, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.executescript(
            "CREATE TABLE IF NOT EXISTS vectors (key BLOB PRIMARY KEY, vec BLOB NOT NULL);"
            "CREATE TABLE IF NOT EXISTS models (name TEXT PRIMARY KEY, dim INTEGER NOT NULL);"
        )
        # Recorded at the first write, so a warm cache never loads a lazy model just for this.
        row = self._conn.execute("SELECT dim FROM models WHERE name=?", (self.name,)).fetchone()
        self.dim: int = int(row[0]) if row else inner.dim

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        keys = [cache_key(self.name, t) for t in texts]
        found = self._lookup(set(keys))
        missing = list(dict.fromkeys(k for k in keys if k not in found))
        if missing:
            text_of = dict(zip(keys, texts, strict=True))
            for i in range(0, len(missing), _ENCODE_BATCH):
                batch = missing[i : i + _ENCODE_BATCH]
                vecs = np.asarray(self.inner.embed([text_of[k] for k in batch]), dtype=np.float32)
                self.encoded += len(batch)
                self._conn.execute("BEGIN")
                self._conn.execute(
                    "INSERT OR IGNORE INTO models VALUES (?, ?)", (self.name, vecs.shape[1])
                )
                self._conn.executemany(
                    "INSERT OR REPLACE INTO vectors VALUES (?, ?)",
                    [(k, v.tobytes()) for k, v in zip(batch, vecs, strict=True)],
                )
                self._conn.execute("COMMIT")
                found.update(zip(batch, vecs, strict=True))
        return np.stack([found[k] for k in keys])

    def _lookup(self, keys: set[bytes]) -> dict[bytes, np.ndarray]:
        out: dict[bytes, np.ndarray] = {}
        todo = list(keys)
        for i in range(0, len(todo), _LOOKUP_BATCH):
            batch = todo[i : i + _LOOKUP_BATCH]
            q = f"SELECT key, vec FROM vectors WHERE key IN ({','.join('?' * len(batch))})"
            for key, blob in self._conn.execute(q, batch):
                out[key] = np.frombuffer(blob, dtype=np.float32)
        return out

    def close(self) -> None:
        self._conn.close()
