"""Sentence vectors as stored: float32 rows, C order, as bytes (the one encoder and decoder)."""

from __future__ import annotations

import numpy as np


def encode(rows: np.ndarray) -> bytes:
    """One chunk's sentence vectors (one row per sentence) as bytes."""
    return np.ascontiguousarray(rows, dtype=np.float32).tobytes()


def decode(blob: bytes, rows: int | None = None, dim: int | None = None) -> np.ndarray:
    """The matrix of `encode`, shaped by its number of rows or its dimension (an empty blob with
    `rows` 0 is a 0 x 0 matrix)."""
    if rows == 0:
        return np.zeros((0, 0), dtype=np.float32)
    flat = np.frombuffer(blob, dtype=np.float32)
    if rows is not None:
        return flat.reshape(rows, -1)
    return flat.reshape(-1, dim if dim is not None else flat.size or 1)


def count(blob: bytes, dim: int) -> int:
    """How many vectors of dimension `dim` a blob holds."""
    return len(blob) // (4 * dim)
