"""Printed lines into paragraphs, and list items kept with their lead-in.

A lead-in ending in ":" and its items ("Key situations where hand hygiene should be performed
include: a. ... b. ...") become one list sentence when the joined text reads as one sentence;
otherwise each item carries the lead-in ("Key recommendations ...: Use soap and water ...").
Either way no sentence ends in ":" or is a bare list marker."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from citeline.text import split_sentences
from ingest.pdflines import Line

_MARKER = re.compile(
    r"^(?P<m>[\u2022\u25aa\u25a0\u25cf\u25e6\u2023\u2043\u203a\u00bb*\u2020\u2021\u00a7\u00b6\u2013-"
    r"\u2751\u2752\u25a1\u2610\u2713\u2714\u27a2\u25ba\u25b6\u25c6\u2666]"
    r"|\(?(?P<tok>\d{1,2}|[a-zA-Z]|[ivxIVX]{1,5})(?P<close>[.)]))\s+(?=\S)"
)
_ENDS_SENTENCE = re.compile(r"[.!?:;][\"'\u201d\u2019)\]]*$")
_ROMAN = ["i", "ii", "iii", "iv", "v", "vi", "vii", "viii", "ix", "x", "xi", "xii"]
_ABBREV = {"al", "e.g", "i.e", "etc", "vs", "no", "fig", "ref", "p", "pp"}
# An enumeration inside a paragraph after a lead-in: "... should be noted: 1) All doses ...
# mcg/hr. 2) Equianalgesic ...": each item after a full stop, numbered in sequence.
_INLINE_FIRST = re.compile(r":\s+(?=\(?1[.)]\s)")
MAX_LIST_CHARS = 1000  # a longer list is given item by item, each with its lead-in


@dataclass
class Para:
    text: str
    marker: str = ""  # the list marker the paragraph starts with ("1.", "a.", "•"), if any
    x: float = 0.0
    table: bool = False
    leadin_done: bool = False
    carried: bool = False  # an item given with its lead-in, continuing the item before it


def _style(marker: str) -> tuple[str, str]:
    """The kind of a marker: bullets by their glyph; numbers; letters and roman numerals by
    case (the two are not told apart: "i." may start either)."""
    m = _MARKER.match(marker + " x")
    if m is None or not m.group("tok"):
        return ("bullet", marker)
    tok, close = m.group("tok"), m.group("close")
    if tok.isdigit():
        return ("digit", close)
    return ("lower" if tok.islower() else "upper", close)


def _successors(marker: str) -> set[str]:
    """Markers that may follow `marker` in the same list ("a." -> "b."; "i." -> "ii." and "j.")."""
    m = _MARKER.match(marker + " x")
    if m is None or not m.group("tok"):
        return {marker}
    tok, close = m.group("tok"), m.group("close")
    opening = "(" if marker.startswith("(") else ""
    out: set[str] = set()
    if tok.isdigit():
        out.add(f"{opening}{int(tok) + 1}{close}")
    else:
        if len(tok) == 1:
            out.add(f"{opening}{chr(ord(tok) + 1)}{close}")
        low = tok.lower()
        if low in _ROMAN[:-1]:
            nxt = _ROMAN[_ROMAN.index(low) + 1]
            out.add(f"{opening}{nxt if tok.islower() else nxt.upper()}{close}")
    return out


def _join_lines(a: str, b: str) -> str:
    if a.endswith("-") and b[:1].islower() and len(a) > 1 and a[-2].isalpha():
        return a + b  # a word broken at its hyphen: "alcohol-" + "based"
    return f"{a} {b}"


def paragraphs(lines: list[Line]) -> list[Para]:
    """Lines into paragraphs. A line that starts with a list marker starts an item when the line
    before ended a sentence or clause, when it is set further left than that line, or when its
    marker follows an open item's ("ii." after "i."); a marker inside running text ("include:
    1) hand hygiene, 2) ...") does not. A vertical gap after a sentence also starts one."""
    paras: list[Para] = []
    prev: Line | None = None
    open_items: dict[int, str] = {}  # x bucket -> marker of the last item there
    first_line = False  # the line before opened its paragraph
    last_item = (
        ""  # the marker of the last item, wherever it was set (lists go on in the next column)
    )
    for ln in lines:
        if ln.table:
            paras.append(Para(ln.text, table=True))
            prev, open_items = None, {}
            continue
        m = _MARKER.match(ln.text)
        marker = m.group(0).strip() if m else ""
        start = prev is None
        if prev is not None:
            last = prev.text.rsplit(" ", 1)[-1].rstrip(".").lower()
            ends = bool(_ENDS_SENTENCE.search(prev.text)) and last not in _ABBREV
            gap = prev.y - ln.y
            bucket = round(ln.x / 4)
            follows = any(
                marker in _successors(open_items[b])
                for b in (bucket - 1, bucket, bucket + 1)
                if b in open_items
            ) or (bool(marker) and marker in _successors(last_item))
            # set left of the line before, unless that line opened an indented paragraph
            outdent = ln.x < prev.x - 3 and not first_line
            if marker:
                start = ends or outdent or follows
            else:
                size = max(ln.size, 1.0)
                indent = ln.x > prev.x + 3 and abs(gap) < 2.0 * size  # a first-line indent
                # after a gap, a line in another face starts a paragraph even when the line
                # before did not end a sentence ("... visit OneandOnlyCampaign.org")
                restyled = (ln.font, round(ln.size)) != (prev.font, round(prev.size))
                start = (ends and (gap > 1.8 * size or gap < -2.0 * size or indent)) or (
                    restyled and gap > 1.8 * size
                )
        first_line = start
        if start:
            paras.append(Para(ln.text, marker=marker, x=ln.x))
            if marker:
                open_items[round(ln.x / 4)] = marker
                last_item = marker
        else:
            paras[-1].text = _join_lines(paras[-1].text, ln.text)
        prev = ln
    return paras


def _split_inline(p: Para) -> list[Para]:
    """A paragraph holding a lead-in and numbered items, as a lead-in paragraph and items."""
    m = _INLINE_FIRST.search(p.text)
    if m is None or p.table:
        return [p]
    cuts, k, pos = [m.end()], 2, m.end()
    while True:
        nxt = re.compile(rf"(?<=[.;])\s+(?=\(?{k}[.)]\s)").search(p.text, pos)
        if nxt is None:
            break
        cuts.append(nxt.end())
        pos, k = nxt.end(), k + 1
    if len(cuts) < 3:  # two items are not worth splitting a paragraph for
        return [p]
    bounds = [*cuts, len(p.text)]
    head = Para(p.text[: cuts[0]].strip(), p.marker, p.x)
    items = []
    for a, b in itertools.pairwise(bounds):
        chunk = p.text[a:b].strip()
        mk = _MARKER.match(chunk)
        items.append(Para(chunk, mk.group(0).strip() if mk else "", p.x + 10))
    return [head, *items]


def _strip_marker(text: str) -> str:
    return _MARKER.sub("", text, count=1)


def _body(p: Para) -> str:
    """An item's text without its marker, except a number (strip_citations reads numbered
    reference entries by their numbers; split_sentences drops them)."""
    if p.marker and _style(p.marker)[0] != "digit":
        return _strip_marker(p.text)
    return p.text


def _join_items(lead: str, items: list[Para]) -> str:
    out = lead
    for k, it in enumerate(items):
        text = it.text if not it.carried else _strip_marker(it.text)
        if k and not _ENDS_SENTENCE.search(out):
            out += ";"
        out += " " + text
    return out if _ENDS_SENTENCE.search(out) else out + "."


def _merge_list(paras: list[Para], i: int) -> bool:
    """Merge the lead-in paras[i] with the items after it; False when no item follows."""
    lead = paras[i]
    first = paras[i + 1] if i + 1 < len(paras) else None
    if first is None or first.table:
        return False
    sentences = split_sentences(lead.text)
    if len(sentences) > 1:  # only the sentence that ends in ":" leads into the list
        rest = lead.text[: lead.text.rindex(sentences[-1])].strip()
        if rest:
            paras[i : i + 1] = [
                Para(rest, lead.marker, lead.x, leadin_done=True),
                Para(lead.text[len(rest) :].strip(), "", lead.x),
            ]
            return True
    if not first.marker:  # a lead-in before a plain paragraph reads into it
        paras[i : i + 2] = [
            Para(f"{lead.text} {first.text}", lead.marker, lead.x, leadin_done=True)
        ]
        return True
    style, x0, last = _style(first.marker), first.x, first.marker
    j = i + 2
    while j < len(paras):
        p = paras[j]
        # an item of this list: same kind of marker, set at the same indent or next in sequence
        # (a list can go on at the top of the next column)
        same = p.marker and _style(p.marker) == style
        if not (p.carried or (same and (abs(p.x - x0) <= 4 or p.marker in _successors(last)))):
            break
        last = p.marker or last
        j += 1
    items = paras[i + 1 : j]
    joined = _join_items(lead.text, items)
    if len(joined) <= MAX_LIST_CHARS and len(split_sentences(joined)) == 1:
        paras[i:j] = [Para(joined, lead.marker, lead.x, leadin_done=True)]
        return True
    carried = [
        Para(
            f"{_strip_marker(lead.text) if k else lead.text} {_strip_marker(it.text)}",
            lead.marker if not k else "",
            lead.x,
            leadin_done=True,
            carried=bool(k),
        )
        for k, it in enumerate(items)
    ]
    paras[i:j] = carried
    return True


def assemble(paras: list[Para]) -> list[str]:
    """Paragraph texts with every lead-in merged into its list, innermost list first."""
    paras = [q for p in paras for q in _split_inline(p)]
    while True:
        leads = [
            k
            for k, p in enumerate(paras)
            if not p.leadin_done and not p.table and p.text.endswith(":") and k + 1 < len(paras)
        ]
        if not leads or not _merge_list(paras, leads[-1]):
            if leads:
                paras[leads[-1]].leadin_done = True
                continue
            break
    return [p.text if p.table else _body(p) for p in paras if any(ch.isalpha() for ch in p.text)]
