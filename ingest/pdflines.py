"""PDF pages as printed lines: each line's text with its dominant font, size and position, as
pypdf draws them (so headings can be told from body text and list items from wrapped lines)."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from typing import Any

from citeline.text import normalize


@dataclass
class Line:
    text: str
    font: str = ""  # base font name without the subset prefix ("AGaramondPro-Regular")
    size: float = 0.0  # effective size in points
    x: float = 0.0
    y: float = 0.0
    table: bool = False  # a table rendered as rows (see ingest.pdftables)
    purity: float = 1.0  # share of the line's characters set in its dominant font


@dataclass(frozen=True)
class BodyFont:
    font: str
    size: float


# Citation numbers printed as superscripts: digits, commas and dashes only.
_SUPERSCRIPT = re.compile(r"^\s*\d{1,3}(?:\s?[,\u2013\u2014-]\s?\d{1,3})*\s*$")
_BOLD = re.compile(r"bold|semibold|black|heavy|[-,]bd\b|demi", re.IGNORECASE)
_ITALIC = re.compile(r"italic|oblique|-it\b", re.IGNORECASE)


def _font_name(font_dict: Any) -> str:
    try:
        name = str(font_dict.get("/BaseFont", "")) if font_dict else ""
    except Exception:
        return ""
    return name.lstrip("/").split("+", 1)[-1]


def family(font: str) -> str:
    return re.split(r"[-,]", font, maxsplit=1)[0].lower()


def is_bold(font: str) -> bool:
    return bool(_BOLD.search(font))


def is_italic(font: str) -> bool:
    return bool(_ITALIC.search(font))


def _visible(text: str) -> str:
    """Without U+FFFD, which stands for glyphs pypdf could not map (a broken font): not text to
    cite. Private-use glyphs (Wingdings bullets and check boxes) stay until the line is made."""
    return text.replace("\ufffd", "").replace("\r", "\n")


_PRIVATE_LEAD = re.compile(r"^[\s\ue000-\uf8ff]*[\ue000-\uf8ff]\s*(?=\S)")


def _private_glyphs(text: str) -> str:
    """A private-use glyph opening a line is a bullet ("\u2022 "); elsewhere it is no text."""
    text = _PRIVATE_LEAD.sub("\u2022 ", text)
    return "".join(" " if unicodedata.category(ch) == "Co" else ch for ch in text)


def page_lines(page: Any) -> list[Line]:
    """The page's lines in pypdf's reading order. Small raised digits after a word (superscript
    citation numbers) are left out."""
    frags: list[tuple[str, str, float, float, float]] = []

    def visit(text: str, cm: Any, tm: Any, font_dict: Any, font_size: float) -> None:
        if not text:
            return
        a, b, _c, _d, e, f = (float(v) for v in tm)
        ca, cb, cc, cd, ce, cf = (float(v) for v in cm)
        x = e * ca + f * cc + ce
        y = e * cb + f * cd + cf
        scale = ((a * ca + b * cc) ** 2 + (a * cb + b * cd) ** 2) ** 0.5
        frags.append((_visible(text), _font_name(font_dict), float(font_size) * scale, x, y))

    page.extract_text(visitor_text=visit)
    lines: list[Line] = []
    current: list[tuple[str, str, float, float, float]] = []

    def flush() -> None:
        if current:
            line = _make_line(current)
            if line is not None:
                lines.append(line)
        current.clear()

    for text, font, size, x, y in frags:
        parts = text.split("\n")
        for k, part in enumerate(parts):
            if k:
                flush()
            if part:
                current.append((part, font, size, x, y))
    flush()
    return lines


def _make_line(frags: list[tuple[str, str, float, float, float]]) -> Line | None:
    weights: Counter[tuple[str, float]] = Counter()
    for text, font, size, _x, _y in frags:
        n = sum(1 for ch in text if not ch.isspace())
        if n:
            weights[(font, round(size, 1))] += n
    if not weights:
        return None
    (font, size), top = weights.most_common(1)[0]
    purity = top / sum(weights.values())
    kept: list[str] = []
    for k, (text, _font, fsize, _x, _y) in enumerate(frags):
        prev = "".join(kept).rstrip()
        # a citation number set smaller after a word or a full stop ("infections.12,13")
        if (
            k
            and fsize < 0.8 * size
            and _SUPERSCRIPT.match(text)
            and prev
            and (prev[-1].isalpha() or prev[-1] in ".,;:)")
        ):
            continue
        kept.append(text)
    first = next(fr for fr in frags if fr[0].strip())
    text = normalize(_private_glyphs("".join(kept)))
    if not text:
        return None
    return Line(text=text, font=font, size=size, x=first[3], y=first[4], purity=purity)


def body_font(pages: list[list[Line]]) -> BodyFont:
    """The font and size most of the text is set in."""
    weights: Counter[tuple[str, float]] = Counter()
    for lines in pages:
        for ln in lines:
            weights[(ln.font, round(ln.size))] += len(ln.text)
    if not weights:
        return BodyFont("", 0.0)
    (font, size), _ = weights.most_common(1)[0]
    return BodyFont(font, float(size))


MIN_HEADING_PURITY = 0.95
_ENDS_CLAUSE = re.compile(r"[.,;:!]$")
_LIST_MARKER = re.compile(
    r"^(?:[\u2022\u25aa\u25a0\u25cf\u25e6\u2023\u2043\u203a\u00bb*\u2013-]"
    r"|\(?(?:\d{1,2}|[a-zA-Z]|[ivxIVX]{1,5})[.)])\s"
)


def is_heading(line: Line, body: BodyFont) -> bool:
    """Is this line set as a heading: larger than the body text, or in another font family or in
    bold at about body size, short, not ending a clause and not a list item?"""
    t = line.text.strip()
    if not (2 <= len(t) <= 150) or not any(ch.isalpha() for ch in t) or line.table:
        return False
    if _ENDS_CLAUSE.search(t) or not (t[0].isupper() or t[0].isdigit()):
        return False
    if body.size <= 0 or line.size < 0.9 * body.size or line.purity < MIN_HEADING_PURITY:
        return False  # a bold term opening a definition ("Bundle: An implementation ...")
    if line.size >= 1.15 * body.size:
        return True
    if _LIST_MARKER.match(t) and not t[0].isdigit():
        return False
    other_family = family(line.font) != family(body.font)
    bolder = is_bold(line.font) and not is_bold(body.font)
    return (other_family and not is_italic(line.font)) or bolder
