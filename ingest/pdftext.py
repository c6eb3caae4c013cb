"""Text repairs for PDF extraction, and the document's publisher and year from its metadata or
first pages. Pure functions."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from citeline.text import normalize

# A capital letter split from its word by a kerning gap or a drop capital ("M ultiply",
# "T apentadol", "No vember"): the split is joined when the document uses the joined word and
# not the tail, or the head is one letter that is not a word ("A", "I").
_SPLIT_WORD = re.compile(r"\b([A-Z][a-z]?) ([a-z]{2,})\b")
_WORD = re.compile(r"[A-Za-z]+")
# Inline reference numbers: "(232)", "( 123)", "(55,202,203)", "(7-9)", "[12]".
_REF = re.compile(
    r"\s?(?P<open>[(\[])\s?(?P<nums>\d{1,3}(?:\s?[,\u2013\u2014-]\s?\d{1,3})*)\s?[)\]]"
    r"(?=(?P<after>\s+\S|[.,;:)\]]|$))"
)


def vocabulary(texts: list[str]) -> Counter[str]:
    """Lower-case word counts of the document, split words left out."""
    counts: Counter[str] = Counter()
    for t in texts:
        counts.update(w.lower() for w in _WORD.findall(_SPLIT_WORD.sub(" ", t)))
    return counts


def join_split_words(text: str, vocab: Counter[str]) -> str:
    def fix(m: re.Match[str]) -> str:
        head, tail = m.group(1), m.group(2)
        if vocab[tail] > 0:
            return m.group(0)
        if vocab[(head + tail).lower()] > 0 or (len(head) == 1 and head not in "AI"):
            return head + tail
        return m.group(0)

    return _SPLIT_WORD.sub(fix, text)


def strip_reference_numbers(text: str) -> str:
    """`text` without inline reference numbers. A number in parentheses before punctuation is
    a reference; one before a word is an enumeration when it opens the paragraph or a
    neighbouring number of the sequence is there too ("(1) use of ..., (2) reinsertion ...")."""

    def fix(m: re.Match[str]) -> str:
        nums, after = m.group("nums"), m.group("after") or ""
        if not after[:1].isspace():
            return ""
        opening = m.start() == 0 or not text[: m.start()].strip()
        if re.fullmatch(r"\d{1,2}", nums):
            n = int(nums)
            if opening or f"({n + 1})" in text or (n > 1 and f"({n - 1})" in text):
                return m.group(0)
        return ""

    return _REF.sub(fix, text)


# A checklist's answer boxes, extracted as text between, before or after its items ("... one
# patient. Not applicable Not applicable Facial protection", "O Not applicable (Controlled
# substances are not kept at the facility)"); not the instruction "check O Not Applicable here".
_CHECKBOX = re.compile(r"(?<!check )(?:\bO\s+)?\bNot applicable\b(?:\s*\([^()]*\))?\.?")
# The letter of an item that follows a finished paragraph rather than a lead-in ("B. If used").
_ITEM_LETTER = re.compile(r"[A-L]\.\s+(?=[A-Z][a-z])")


def checklist_paragraphs(paragraphs: list[str]) -> list[str]:
    """The paragraphs without a checklist's answer boxes, and without the item letters that do
    not continue a lead-in (a paragraph ending in ":" keeps its lettered items)."""
    out: list[str] = []
    for t in paragraphs:
        t = re.sub(r"[ \t]{2,}", " ", _CHECKBOX.sub("", t)).strip()
        if not t:
            continue
        if out and not out[-1].rstrip().endswith(":") and _ITEM_LETTER.match(t):
            t = _ITEM_LETTER.sub("", t, count=1)
        out.append(t)
    return out


def clean(text: str, vocab: Counter[str]) -> str:
    return strip_reference_numbers(join_split_words(text, vocab))


# Publisher and year when no sidecar or front matter gives them.
_COPYRIGHT = re.compile(
    r"(?:\u00a9|\(c\)|Copyright)\s*(?:\u00a9\s*)?(?P<who>[A-Z][\w&,.'\- ]{2,80}?)\s*,?\s*"
    r"(?P<year>(?:19|20)\d{2})\b"
)
_YEAR = re.compile(r"\b((?:19|20)\d{2})\b")


def _creation_year(info: Any) -> int | None:
    for key in ("/CreationDate", "/ModDate"):
        raw = str(info.get(key, "") or "") if info is not None else ""
        m = re.match(r"(?:D:)?((?:19|20)\d{2})", raw)
        if m:
            return int(m.group(1))
    return None


def _with_acronym(name: str, text: str) -> str:
    """ "Centers for Disease Control and Prevention (CDC)" when the document writes it so."""
    words = r"\s+".join(re.escape(w) for w in name.split())
    m = re.search(words + r"\s*\(([A-Z][A-Z&]{1,9})\)", text)
    return f"{name} ({m.group(1)})" if m else name


def publisher_and_year(info: Any, first_pages: list[str], text: str) -> dict[str, Any]:
    """Publisher from the PDF's Author (an organisation, as guideline PDFs give it) or the
    copyright line of the first pages; year from the copyright line, else from the first page's
    latest year no later than the file's creation, else the creation date."""
    out: dict[str, Any] = {}
    created = _creation_year(info)
    head = "\n".join(first_pages)
    author = normalize(str(info.get("/Author", "") or "")) if info is not None else ""
    m = _COPYRIGHT.search(head)
    if author and len(author) > 2:
        out["publisher"] = _with_acronym(author, text)
    elif m:
        out["publisher"] = _with_acronym(normalize(m.group("who")).rstrip(" ,."), text)
    years = [int(y) for y in _YEAR.findall(first_pages[0] if first_pages else "")]
    years = [y for y in years if created is None or y <= created]
    if m and (created is None or int(m.group("year")) <= created):
        out["year"] = int(m.group("year"))
    elif years:
        out["year"] = max(years)
    elif created is not None:
        out["year"] = created
    return out
