"""The parsed-document types every format parser produces and chunking reads."""

from __future__ import annotations

from dataclasses import dataclass

from citeline.types import DocMeta


@dataclass
class Block:
    """Text under one heading path; `top` is the top-level section a chunk must not cross."""

    top: str
    path: str
    text: str
    page: int | None = None


@dataclass
class ParsedDocument:
    meta: DocMeta
    blocks: list[Block]
    content_hash: str  # bytes and metadata: a change of either re-ingests the document
    raw_hash: str  # bytes only: finds the same file under two names
