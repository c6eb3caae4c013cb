"""PDF loader: text per page (so citations can give a page), sections from the PDF outline."""

from __future__ import annotations

import io
import itertools
import logging
import re
from collections import Counter
from typing import Any

from citeline.errors import LoaderError
from citeline.text import normalize
from ingest.loaders import Block

logging.getLogger("pypdf").setLevel(logging.ERROR)


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
            if title and page is not None and page >= 0:
                by_page.setdefault(page, []).append((depth, title))

    try:
        walk(reader.outline, 0)
    except Exception:
        return {}
    return by_page


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


def parse_pdf(raw: bytes) -> tuple[dict[str, Any], list[Block]]:
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
    outline = _outline_entries(reader)
    texts: list[str] = []
    for i, page in enumerate(reader.pages):
        try:
            # U+FFFD stands for glyphs pypdf could not map (a broken font): not text to cite.
            raw_text = (page.extract_text() or "").replace("\r", "\n").replace("\ufffd", "")
            texts.append(normalize(raw_text))
        except Exception as exc:
            raise LoaderError(
                f"cannot extract text from page {i + 1} ({exc.__class__.__name__})"
            ) from None
    running = _running_lines(texts)
    blocks: list[Block] = []
    state = ("", "")
    for i, raw_text in enumerate(texts):
        lines = [ln for ln in raw_text.splitlines() if _line_key(ln) not in running]
        pieces, state = _segments(lines, outline.get(i, []), state)
        for (top, deep), piece in pieces:
            text = "\n".join(piece).replace(" \n", "\n")
            if not text.strip():
                continue
            if not top:
                top = deep = f"Page {i + 1}"
            path = top if deep == top else f"{top} > {deep}"
            blocks.append(Block(top=top, path=path, text=text, page=i + 1))
    _join_continuations(blocks)
    blocks = [b for b in blocks if b.text.strip()]
    meta: dict[str, Any] = {}
    try:
        info = reader.metadata
        if info is not None and info.title and len(str(info.title).strip()) > 3:
            meta["title"] = normalize(str(info.title))
    except Exception:
        pass
    return meta, blocks
