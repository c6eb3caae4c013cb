"""Tables in PDFs as rows that each carry the table's title and column headers:
"Morphine milligram equivalent doses ...: Oxycodone, conversion factor 1.5." One row is one
sentence, so one row can be quoted as an answer.

pypdf's plain text joins a row's cells with one space ("Oxycodone 1.5"), so a page with a table
caption is read again with pypdf's layout engine, which keeps the gap between cells as a run of
spaces. Only those pages: the layout engine takes about 2.5 times as long as plain extraction
(ingest/README.md has the measurements), and pdfplumber, which also finds cells, about 6 to 9
times as long and found no table on the CDC 2022 guideline's unruled table."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from citeline.text import normalize
from ingest.pdflines import Line

_CAPTION = re.compile(r"^(?:TABLE|Table)\s*(?:\d{1,3}[A-Za-z]?)?\s*[.:\u2014\u2013-]\s*(?=\S)")
_CELL_GAP = re.compile(r"\s{3,}")
_NOTE_MARKS = "*\u2020\u2021\u00a7\u00b6#"
MIN_ROWS = 2
PROSE_CHARS = 40  # a text run this long in another column is running text, not a cell
log = logging.getLogger(__name__)


@dataclass
class Table:
    title: str
    header: list[str]
    rows: list[list[str]]
    printed: str  # the caption, header and rows as plain text shows them (letters and digits)

    def sentences(self) -> list[str]:
        heads = [_header_name(h) for h in self.header]
        out = []
        for row in self.rows:
            parts = [_clean(row[0])]
            for k, cell in enumerate(row[1:], start=1):
                cell = _clean(cell)
                if not cell:
                    continue
                head = heads[k] if k < len(heads) else ""
                parts.append(f"{head} {cell}" if head else cell)
            text = ", ".join(p for p in parts if p)
            out.append(f"{self.title}: {text}" + ("" if text.endswith((".", "?", "!")) else "."))
        return out


def _squash(text: str) -> str:
    return re.sub(r"[\W_]+", "", text).lower()


def _clean(cell: str) -> str:
    return " ".join(cell.split()).rstrip(_NOTE_MARKS).strip()


def _header_name(head: str) -> str:
    head = _clean(head)
    if len(head) > 1 and head[0].isupper() and head[1].islower():
        head = head[0].lower() + head[1:]  # "Conversion factor" -> "conversion factor"
    return head


def is_caption(line: Line) -> bool:
    return bool(_CAPTION.match(line.text))


def _groups(page: Any) -> list[dict[str, Any]]:
    """pypdf's layout-mode text runs of the page (tx, ty, displaced_tx, text)."""
    from pypdf._text_extraction import _layout_mode
    from pypdf.generic import ContentStream

    contents = page.get("/Contents")
    if contents is None:
        return []
    ops = iter(ContentStream(contents.get_object(), page.pdf, "bytes").operations)
    found = _layout_mode.text_show_operations(ops, page._layout_mode_fonts(), True, None)
    return [dict(g) for g in found]


def _rows(groups: list[dict[str, Any]], caption: dict[str, Any]) -> list[list[str]]:
    """Cells of the lines below the caption, in the caption's column, top to bottom."""
    x_lo = caption["tx"] - 2
    # the table ends where another column of running text starts to the right of the caption
    prose = [
        g["tx"]
        for g in groups
        if g["tx"] > caption["tx"] + 150 and len(g["text"].strip()) >= PROSE_CHARS
    ]
    x_hi = min(prose) - 2 if prose else float("inf")
    below = [
        g
        for g in groups
        if g["ty"] < caption["ty"] - 0.5 and x_lo <= g["tx"] <= x_hi and g["text"].strip()
    ]
    below.sort(key=lambda g: (-g["ty"], g["tx"]))
    lines: list[list[dict[str, Any]]] = []
    for g in below:
        if lines and abs(lines[-1][0]["ty"] - g["ty"]) <= 2:
            lines[-1].append(g)
        else:
            lines.append([g])
    rows = []
    for line in lines:
        cells = [c for g in line for c in _CELL_GAP.split(g["text"].strip()) if c.strip()]
        rows.append([normalize(c) for c in cells])
    return rows


def find_table(page: Any, caption_text: str) -> Table | None:
    """The table under the caption line, or None when no rows of two or more cells follow."""
    try:
        groups = _groups(page)
    except Exception as exc:  # layout reading is an extra: plain text stays
        log.debug("no layout text (%s)", exc.__class__.__name__)
        return None
    want = _squash(caption_text)[:40]
    caption = next((g for g in groups if want and _squash(g["text"]).startswith(want)), None)
    if caption is None:
        return None
    title = normalize(caption["text"].split("\n")[0])
    rows = _rows(groups, caption)
    k = 0
    while k < len(rows) and len(rows[k]) == 1:  # the caption wrapped over more lines
        title = f"{title} {rows[k][0]}"
        k += 1
    if k >= len(rows) or k > 3:
        return None
    header = rows[k]
    body: list[list[str]] = []
    for row in rows[k + 1 :]:
        if len(row) < 2 or len(row) > len(header) + 1:
            break
        body.append(row)
    if len(body) < MIN_ROWS:
        return None
    printed = _squash(title) + "".join(_squash("".join(r)) for r in [header, *body])
    title = _CAPTION.sub("", title).strip().rstrip(":").strip()
    return Table(title=title, header=header, rows=body, printed=printed)


def merge_tables(page: Any, lines: list[Line]) -> list[Line]:
    """`lines` with each captioned table's printed lines replaced by one Line of row sentences
    (separated by blank lines, so each row is a sentence of its own)."""
    out: list[Line] = []
    i = 0
    while i < len(lines):
        ln = lines[i]
        table = find_table(page, ln.text) if is_caption(ln) else None
        if table is None:
            out.append(ln)
            i += 1
            continue
        j, got = i, ""
        while j < len(lines) and table.printed.startswith(got + _squash(lines[j].text)):
            got += _squash(lines[j].text)
            j += 1
            if got == table.printed:
                break
        if got != table.printed:  # plain text shows the table otherwise: leave it as printed
            out.append(ln)
            i += 1
            continue
        text = "\n\n".join(table.sentences())
        out.append(Line(text=text, font=ln.font, size=ln.size, x=ln.x, y=ln.y, table=True))
        i = j
    return out
