"""Sections of a PDF: the outline's titles, and below them (or, without an outline, alone) the
headings as printed. A heading is a short run of at most three lines set larger than the body
text or in another face; it names the section and is not glued to the sentence after it."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from ingest.document import Block
from ingest.pdflines import BodyFont, Line, family, is_heading

MAX_HEADING_LINES = 3
MAX_PATH_PARTS = 3
# A heading printed on this many pages with this many words is a repeated table or form header
# ("Elements to be assessed Assessment Notes/Areas for Improvement"), not a section title.
REPEATED_PAGES = 3
REPEATED_WORDS = 5
# A box or figure caption set apart from the text ("BOX 1. Executive summary of ...") titles
# what follows, whatever its size.
_CAPTION = re.compile(r"^(?:BOX|Box|FIGURE|Figure|Exhibit)\s*\d{1,3}[A-Za-z]?\s*[.:]\s+[A-Z(]")


@dataclass
class Heading:
    text: str
    n_lines: int
    level: int = 0
    drop: bool = False  # a repeated header: neither a section nor text


def _squash(text: str) -> str:
    return re.sub(r"[\W_]+", "", text).lower()


def _runs(lines: list[Line], body: BodyFont) -> dict[int, Heading]:
    found: dict[int, Heading] = {}
    i = 0
    while i < len(lines):
        j = i + 1
        while (
            j < len(lines)
            and (lines[j].font, lines[j].size) == (lines[i].font, lines[i].size)
            and not lines[j].table
        ):
            j += 1
        run = lines[i:j]
        caption = _CAPTION.match(run[0].text) is not None and not run[-1].text.endswith(".")
        # a line that goes on in lower case continues a sentence: no heading ends there
        goes_on = j < len(lines) and lines[j].text[:1].islower()
        if (
            len(run) <= MAX_HEADING_LINES
            and not goes_on
            and (caption or (is_heading(run[-1], body) and is_heading(run[0], body)))
        ):
            text = " ".join(ln.text.strip() for ln in run)
            found[i] = Heading(text=" ".join(text.split()), n_lines=len(run))
        i = j
    return found


def find_headings(pages: list[list[Line]], body: BodyFont) -> dict[tuple[int, int], Heading]:
    """(page index, line index) -> the heading that starts there, with its level (0 = top)."""
    found: dict[tuple[int, int], Heading] = {}
    keys: dict[tuple[int, int], tuple[float, int]] = {}
    for p, lines in enumerate(pages):
        for i, h in _runs(lines, body).items():
            found[(p, i)] = h
            ln = lines[i]
            keys[(p, i)] = (round(ln.size), 1 if family(ln.font) == family(body.font) else 0)
    on_pages: dict[str, set[int]] = {}
    for (p, _i), h in found.items():
        on_pages.setdefault(h.text.lower(), set()).add(p)
    sizes_pages: dict[float, set[int]] = {}
    for (p, _i), (size, _) in keys.items():
        sizes_pages.setdefault(size, set()).add(p)
    common = [s for s, ps in sizes_pages.items() if len(ps) >= 2]
    top_size = max(common) if common else max(sizes_pages, default=0.0)
    ranked = sorted({(-s, f) for s, f in keys.values() if s < 0.9 * top_size})
    for pos, h in found.items():
        size, fam = keys[pos]
        h.level = 0 if size >= 0.9 * top_size else 1 + ranked.index((-size, fam))
        repeated = len(on_pages[h.text.lower()]) >= REPEATED_PAGES
        h.drop = repeated and len(h.text.split()) >= REPEATED_WORDS
    return found


def _printed_titles(lines: list[Line], titles: list[str]) -> int:
    """How many lines at the start of `lines` print outline titles (possibly wrapped)."""
    n = 0
    wants = [w for w in (_squash(t) for t in titles) if w]
    while n < len(lines):
        got, k, hit = "", n, 0
        while k < len(lines) and k < n + 4:
            got += _squash(lines[k].text)
            k += 1
            if got in wants:
                hit = k
                break
            if not any(w.startswith(got) for w in wants):
                break
        if not hit:
            break
        n = hit
    return n


def path_of(
    outline: tuple[str, str], stack: list[tuple[int, str]], fallback: str
) -> tuple[str, str]:
    top, deep = outline
    parts = ([top] if deep == top else [top, deep]) if top else []
    for _lvl, h in stack:
        if not parts or _squash(parts[-1]) != _squash(h):
            parts.append(h)
    if not parts:
        return fallback, fallback
    if len(parts) > MAX_PATH_PARTS:
        parts = parts[:1] + parts[-(MAX_PATH_PARTS - 1) :]
    return parts[0], " > ".join(parts)


def page_blocks(
    page_no: int,
    pieces: list[tuple[tuple[str, str], list[Line]]],
    headings: dict[int, Heading],
    state: tuple[tuple[str, str], list[tuple[int, str]]],
    render: Callable[[list[Line]], str],
    fallback: str,
    titles: list[str],
) -> tuple[list[Block], tuple[tuple[str, str], list[tuple[int, str]]]]:
    """Blocks of one page from its outline pieces (each with its outline (top, deep)) and the
    printed headings (by line index on the page). `state` is the outline position and the
    printed-heading stack carried from page to page."""
    outline, stack = state
    blocks: list[Block] = []
    offset = 0
    for where, piece in pieces:
        start, offset = offset, offset + len(piece)
        if where != outline:
            outline, stack = where, []
        buf: list[Line] = []
        skip = _printed_titles(piece, titles) if where != ("", "") else 0
        k = skip
        while k < len(piece):
            h = headings.get(start + k)
            if h is None:
                buf.append(piece[k])
                k += 1
                continue
            _emit(blocks, page_no, render(buf), path_of(outline, stack, fallback))
            buf = []
            k += h.n_lines
            if h.drop or _squash(h.text) in {_squash(t) for t in outline if t}:
                continue
            stack = [(lvl, t) for lvl, t in stack if lvl < h.level] + [(h.level, h.text)]
        _emit(blocks, page_no, render(buf), path_of(outline, stack, fallback))
    return blocks, (outline, stack)


def _emit(blocks: list[Block], page_no: int, text: str, where: tuple[str, str]) -> None:
    if text.strip():
        blocks.append(Block(top=where[0], path=where[1], text=text, page=page_no))


def printed_title(lines: list[Line]) -> str:
    """The first page's largest text (consecutive lines), as a title when metadata has none."""
    sized = [ln for ln in lines if any(ch.isalpha() for ch in ln.text)]
    if not sized:
        return ""
    biggest = max(ln.size for ln in sized)
    out: list[str] = []
    for ln in lines:
        if ln.size >= biggest - 0.5 and any(ch.isalpha() for ch in ln.text):
            out.append(ln.text.strip())
        elif out:
            break
    title = " ".join(" ".join(out).split())
    return title if 3 < len(title) <= 300 else ""
