"""Section-aware chunking: whole sentences packed up to a size, never across a top-level section
(nor across a PDF page, so every chunk has one page number)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

from citeline.safety import is_instruction
from citeline.text import split_sentences
from citeline.types import Chunk, DocMeta
from ingest.backmatter import in_reference_section, strip_citations
from ingest.document import Block

# Chunk size in characters and overlap in sentences. all-MiniLM-L6-v2 reads at most 256 word
# pieces (about 1,000 characters of English prose), so 900 keeps a whole chunk inside the
# model's window while holding a paragraph or two of guideline text; one sentence of overlap
# keeps a caveat next to the claim it qualifies.
# Measured (2026-11-25, both bundled suites, defaults otherwise; bundled corpus re-ingested at
# each size): 500 chars -> 325 chunks, gut_brain MRR 0.773, fact coverage 0.538, safety fact
# coverage 0.80; 900 -> 240 chunks, 0.764, 0.538, 0.70; 1400 -> 238 chunks, 0.764, 0.538, 0.70.
# Every threshold (citation P/R 1.0, refusal recall 1.0, no false refusals) holds at all three,
# so the suites cannot tell the sizes apart: the bundled documents' sections are mostly shorter
# than 900 characters. 900 stays, for the model-window reason above and because smaller chunks
# cost more vectors per document (BEIR's abstracts at 900: ~2.5 chunks each, bench/retrieval.md).
CHUNK_CHARS = 900
OVERLAP_SENTENCES = 1
MAX_SENTENCE_CHARS = 1200  # a "sentence" longer than this (tables, lists without stops) is cut


def chunk_id(doc_id: str, section: str, text: str) -> str:
    """Stable id: the same text in the same section of the same document keeps its id."""
    return hashlib.sha256(f"{doc_id}\x1f{section}\x1f{text}".encode()).hexdigest()[:32]


def _sentences(block: Block, dropped: list[str] | None = None) -> Iterator[str]:
    for s in split_sentences(block.text):
        if is_instruction(s):
            # Text addressed to the assistant ("ignore previous instructions ...") is an injection,
            # not guidance: it is never indexed, so it can neither be retrieved nor quoted.
            if dropped is not None:
                dropped.append(s)
            continue
        while len(s) > MAX_SENTENCE_CHARS:
            cut = s.rfind(" ", 0, MAX_SENTENCE_CHARS)
            cut = cut if cut > MAX_SENTENCE_CHARS // 2 else MAX_SENTENCE_CHARS
            yield s[:cut].strip()
            s = s[cut:].strip()
        if s:
            yield s


def chunk_blocks(
    meta: DocMeta,
    blocks: list[Block],
    chunk_chars: int = CHUNK_CHARS,
    overlap: int = OVERLAP_SENTENCES,
    dropped: list[str] | None = None,
) -> list[Chunk]:
    """Chunks of one document, in reading order, duplicates removed. Sentences left out as
    instructions to the assistant are appended to `dropped` when it is given."""
    chunks: list[Chunk] = []
    seen: set[str] = set()
    # Consecutive blocks with the same top-level section, path and page form one run.
    runs: list[tuple[str, int | None, list[str]]] = []
    for block in blocks:
        if in_reference_section(block.path):
            continue
        block = Block(block.top, block.path, strip_citations(block.text), block.page)
        sents = list(_sentences(block, dropped))
        if not sents:
            continue
        if runs and runs[-1][0] == block.path and runs[-1][1] == block.page:
            runs[-1][2].extend(sents)
        else:
            runs.append((block.path, block.page, sents))
    for path, page, sents in runs:
        start = 0
        while start < len(sents):
            end, size = start, 0
            while end < len(sents) and (end == start or size + len(sents[end]) + 1 <= chunk_chars):
                size += len(sents[end]) + 1
                end += 1
            piece = sents[start:end]
            text = " ".join(piece)
            cid = chunk_id(meta.doc_id, path, text)
            if cid not in seen:
                seen.add(cid)
                chunks.append(
                    Chunk(
                        id=cid,
                        doc=meta,
                        text=text,
                        section=path,
                        page=page,
                        ordinal=len(chunks),
                        sentences=tuple(piece),
                    )
                )
            if end >= len(sents):
                break
            start = max(end - overlap, start + 1)
    return chunks
