"""PDF loader: text per page (so citations can give a page), sections from the PDF outline and
from the headings as printed (font size and face), list items with their lead-in, tables as
rows (ingest.pdftables), inline reference numbers and split words repaired (ingest.pdftext)."""

from __future__ import annotations

import io
import itertools
import logging
import re
from collections import Counter
from typing import Any

from citeline.errors import LoaderError
from citeline.text import normalize
from ingest.document import Block
from ingest.pdflines import Line, body_font, page_lines
from ingest.pdflists import assemble, paragraphs
from ingest.pdfsections import find_headings, page_blocks, printed_title
from ingest.pdftables import is_caption, merge_tables
from ingest.pdftext import checklist_paragraphs, clean, publisher_and_year, vocabulary

logging.getLogger("pypdf").setLevel(logging.ERROR)
# Part of each PDF's content hash: a new way of reading PDFs re-ingests them once.
PARSER_VERSION = "pdf-layout-2"


def _outline_entries(reader: Any) -> dict[int, list[tuple[int, str]]]:
    """Page index -> the outline entries (depth, title) that start on it, in outline order."""
    by_page: dict[int, list[tuple[int, str]]] = {}

    def walk(items: list[Any], depth: int) -> None:
        for item in items:
            if isinstance(item, list):
                walk(item, depth + 1)
                continue
            try:
                page = reader.get_destination_page_number(item)
            except Exception:  # a broken outline entry is not worth failing the file for
                continue
            title = " ".join(normalize(str(getattr(item, "title", "") or "")).split())
            if title and page is not None and page >= 0 and not _is_bookmark(title):
                by_page.setdefault(page, []).append((depth, title))

    try:
        walk(reader.outline, 0)
    except Exception:
        return {}
    return by_page


# Bookmarks that are not section titles: Word's "_GoBack" and other hidden ones, "Page 9".
_BOOKMARK = re.compile(r"^(?:_.*|(?:page|p\.?)\s*\d+|[\W\d_]*)$", re.IGNORECASE)


def _is_bookmark(title: str) -> bool:
    return bool(_BOOKMARK.match(title.strip()))


def _squash(text: str) -> str:
    """Letters and digits only, lower case: PDF text extraction adds and drops spaces
    ("No vember") and headings wrap over lines."""
    return re.sub(r"[\W_]+", "", text).lower()


def _heading_line(lines: list[str], start: int, title: str) -> int | None:
    """Index of the line (at or after `start`) where `title` is printed as a heading, possibly
    wrapped over up to four lines; None when the page does not show it."""
    want = _squash(title)
    if not want:
        return None
    for i in range(start, len(lines)):
        got = ""
        for k in range(i, min(i + 4, len(lines))):
            got += _squash(lines[k])
            if got == want:
                return i
            if not want.startswith(got):
                break
    return None


def _segments(
    lines: list[str],
    entries: list[tuple[int, str]],
    state: tuple[str, str],
) -> tuple[list[tuple[tuple[str, str], list[str]]], tuple[str, str]]:
    """Split one page's lines where its outline entries' headings are printed, so the text above
    a heading stays in the section before it (the outline only says on which page a section
    starts). An entry whose heading is not found starts where the previous one did, as before.
    Returns the (top, deepest) title of each piece and the state after the page."""
    pieces: list[tuple[tuple[str, str], list[str]]] = []
    cursor = 0
    top, deep = state
    for depth, title in entries:
        at = _heading_line(lines, cursor, title)
        if at is not None and at > cursor:
            pieces.append(((top, deep), lines[cursor:at]))
            cursor = at
        if depth == 0:
            top, deep = title, title
        else:
            deep = title
    pieces.append(((top, deep), lines[cursor:]))
    return pieces, (top, deep)


# A page that ends inside a sentence continues it on the next page: "... are likely to be better"
# | "tolerated than more rapid tapers ...". The continuation is moved back to the page where the
# sentence starts, so the sentence stays whole (a chunk never crosses a page) and cites that page.
_SENTENCE_END = re.compile(r"[.!?][\"'\u201d\u2019)\]]*(?=\s+[\"'(\[\u201c]?[A-Z0-9]|\s*$)")
_ENDS_SENTENCE = re.compile(r"[.!?:;][\"'\u201d\u2019)\]]*\s*$")
MAX_CONTINUATION_CHARS = 600


def _join_continuations(blocks: list[Block]) -> None:
    for prev, nxt in itertools.pairwise(blocks):
        if prev.page is None or nxt.page != prev.page + 1:
            continue
        head = nxt.text.lstrip()
        if (
            not head
            or _ENDS_SENTENCE.search(prev.text)
            or not (head[0].islower() or head[0] == "(")
        ):
            continue
        end = _SENTENCE_END.search(head, 0, MAX_CONTINUATION_CHARS)
        if end is None:
            continue
        cut = end.end()
        prev.text = f"{prev.text.rstrip()}\n{head[:cut].strip()}"
        nxt.text = head[cut:].strip()


def _line_key(line: str) -> str:
    return re.sub(r"\d+", "#", line.strip().lower())


def _running_lines(pages: list[str]) -> set[str]:
    """Running headers and footers: lines (numbers ignored) on at least 30% of the pages."""
    if len(pages) < 4:
        return set()
    counts: Counter[str] = Counter()
    for p in pages:
        counts.update({k for ln in p.splitlines() if (k := _line_key(ln))})
    return {k for k, n in counts.items() if n >= 0.3 * len(pages) and len(k) < 200}


# Check-box columns of forms: "[ ] Yes [ ] No" with the boxes as glyphs.
_CHECKBOXES = re.compile(r"^[\u2022\s]*(?:(?:Yes|No|N/?A|Unknown)[\u2022\s]*)+$")


def _open(raw: bytes) -> Any:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(raw), strict=False)
        if reader.is_encrypted:
            try:
                if not reader.decrypt(""):
                    raise LoaderError("encrypted PDF (a password is needed)")
            except LoaderError:
                raise
            except Exception:
                raise LoaderError("encrypted PDF (a password is needed)") from None
        n_pages = len(reader.pages)
    except LoaderError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise LoaderError(f"corrupt PDF ({exc.__class__.__name__}: {str(exc)[:80]})") from None
    except Exception as exc:
        raise LoaderError(f"unreadable PDF ({exc.__class__.__name__})") from None
    if n_pages == 0:
        raise LoaderError("PDF has no pages")
    return reader


def _read_pages(reader: Any) -> list[list[Line]]:
    pages: list[list[Line]] = []
    for i, page in enumerate(reader.pages):
        try:
            lines = page_lines(page)
            if any(is_caption(ln) for ln in lines):
                lines = merge_tables(page, lines)
        except Exception as exc:
            raise LoaderError(
                f"cannot extract text from page {i + 1} ({exc.__class__.__name__})"
            ) from None
        pages.append(lines)
    running = _running_lines(["\n".join(ln.text for ln in lines) for lines in pages])
    return [
        [
            ln
            for ln in lines
            if ln.table or (_line_key(ln.text) not in running and not _CHECKBOXES.match(ln.text))
        ]
        for lines in pages
    ]


def _metadata(reader: Any, pages: list[list[Line]], texts: list[str]) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    info = None
    try:
        info = reader.metadata
        if info is not None and info.title and len(str(info.title).strip()) > 3:
            meta["title"] = normalize(str(info.title))
    except Exception:
        info = None
    if "title" not in meta and pages:
        title = printed_title(pages[0])
        if title:
            meta["title"] = title
    meta.update(publisher_and_year(info, texts[:3], "\n".join(texts)))
    return meta


def parse_pdf(raw: bytes) -> tuple[dict[str, Any], list[Block]]:
    reader = _open(raw)
    outline = _outline_entries(reader)
    pages = _read_pages(reader)
    texts = ["\n".join(ln.text for ln in lines) for lines in pages]
    vocab = vocabulary(texts)
    body = body_font(pages)
    headings = find_headings(pages, body)
    fallback = "Front matter" if outline or headings else "Text"

    def render(lines: list[Line]) -> str:
        return "\n\n".join(
            checklist_paragraphs([clean(t, vocab) for t in assemble(paragraphs(lines))])
        )

    blocks: list[Block] = []
    seg_state = ("", "")
    state: tuple[tuple[str, str], list[tuple[int, str]]] = (("", ""), [])
    for i, lines in enumerate(pages):
        entries = outline.get(i, [])
        pieces, seg_state = _segments([ln.text for ln in lines], entries, seg_state)
        line_pieces: list[tuple[tuple[str, str], list[Line]]] = []
        pos = 0
        for where, piece in pieces:
            line_pieces.append((where, lines[pos : pos + len(piece)]))
            pos += len(piece)
        on_page = {k: h for (p, k), h in headings.items() if p == i}
        titles = [t for _d, t in entries]
        page_out, state = page_blocks(i + 1, line_pieces, on_page, state, render, fallback, titles)
        blocks.extend(page_out)
    _join_continuations(blocks)
    blocks = [b for b in blocks if b.text.strip()]
    return _metadata(reader, pages, texts), blocks
