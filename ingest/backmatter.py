"""Back-matter detection: reference-list sections and runs of citation entries, which chunking
leaves out of the index."""

from __future__ import annotations

import re

# Back matter that must never answer a question: a reference list quotes the titles of other
# works ("... diabetic neuropathy ..."), so indexing it makes the guideline look like it covers
# topics it only cites (the CDC opioid guideline answered an insulin question from its
# bibliography). Two layers: sections titled like a reference list are dropped whole, and in
# any other section runs of citation entries are cut out (PDFs without an outline, or a
# reference list that follows prose on the same page).
_REFERENCE_TITLE = re.compile(
    r"^(?:[\dIVXivx]+(?:\.\d+)*\.?\s+)?(?:selected\s+|cited\s+|key\s+)?"
    r"(?:references?(?:\s+(?:list|cited))?|bibliography|works\s+cited|literature\s+cited"
    r"|citations|sources\s+cited|notes\s+and\s+references|references\s+and\s+notes)\s*:?$",
    re.IGNORECASE,
)
# Where a citation entry starts: "12. ", "[12] ", "12) ", a list bullet, or (PDF text extraction
# sometimes splits the digits: " 2 7. J ohnson JD") spaced digits before the full stop.
_ENTRY_START = re.compile(r"^\s*(?:\[\s*\d{1,4}\s*\]|\d(?:\s?\d){0,3}\s?[.)]|[-*\u2022])\s+\S")
# "Smith J, Doe AB, ..." or "Smith, J., & Doe, A. (2019)" at the start of a line.
_AUTHOR_START = re.compile(
    r"^\s*(?:[A-Z][a-z]?\s?[a-z'\u2019\-]+(?:\s[a-z]{1,3})?\s[A-Z]{1,3}(?:\s(?:Jr|\d\w{1,2}))?,\s"
    r"|[A-Z][a-z'\u2019\-]+,\s(?:[A-Z]\.\s?){1,3}(?:,|&|\())"
)
_STRONG = (
    re.compile(r"\bPMID\s?:?\s?\d{5,}"),
    re.compile(r"\bdoi(?:\.org)?\s?[:/]\s?(?:\S+\s?)?10\.\d{4,}", re.IGNORECASE),
    # journal year;volume(issue):pages, e.g. "JAMA 2019;321(4):100-10", "2006;(159):1-66"
    re.compile(r"\b(?:19|20)\d{2}\s?[;,]\s?\d*\s?(?:\([^)]{1,12}\))?\s?:\s?[A-Za-z]?\d+"),
    # two or more "Surname AB," authors in a row
    re.compile(r"(?:\b[A-Z][a-z'\u2019\-]+\s[A-Z]{1,3},\s){2,}"),
)
_WEAK = (
    re.compile(r"\bet al\.?"),
    re.compile(r"[A-Za-z)]\s?;\s?(?:19|20)\d{2}\b"),  # "Publisher; 2019"
    re.compile(r"\b[A-Z][a-z]+,\s(?:[A-Z]{2}|[A-Z][a-z]+):\s[A-Z]"),  # "Atlanta, GA: CDC"
    re.compile(r"\((?:19|20)\d{2}[a-z]?\)\."),
    re.compile(r"https?://|www\.|\bAccessed\b|\bAvailable (?:at|from)\b"),
    re.compile(r"\b(?:19|20)\d{2}[a-z]?\.(?:\s|$)"),
)
MAX_ENTRY_CHARS = 800  # longer groups are prose (a page of text with no entry start), not entries
MIN_CITATION_RUN = (
    2  # entries: one stray line with "et al." and a year is prose, two in a row is a list
)


def is_reference_heading(title: str) -> bool:
    """True for a section title such as "References", "Bibliography", "7. Works cited"."""
    return bool(_REFERENCE_TITLE.match(" ".join(title.split())))


def in_reference_section(path: str) -> bool:
    return any(is_reference_heading(part) for part in path.split(" > "))


def is_citation_entry(text: str) -> bool:
    """Does this text look like one entry of a reference list?"""
    strong = sum(1 for rx in _STRONG if rx.search(text))
    weak = sum(1 for rx in _WEAK if rx.search(text))
    numbered = _ENTRY_START.match(text) is not None
    return (strong >= 1 and strong + weak >= 2) or strong >= 2 or weak >= (2 if numbered else 3)


def _entries(lines: list[str]) -> list[list[str]]:
    """Group lines into candidate entries: a new one starts at a number, a bullet, a blank line,
    or a line opening with authors after a line that ended a sentence."""
    groups: list[list[str]] = []
    for ln in lines:
        prev = groups[-1] if groups else None
        starts = (
            prev is None
            or not ln.strip()
            or not prev[-1].strip()
            or _ENTRY_START.match(ln) is not None
            or (_AUTHOR_START.match(ln) is not None and prev[-1].rstrip().endswith((".", "]")))
        )
        if starts or prev is None:
            groups.append([ln])
        else:
            prev.append(ln)
    return groups


def strip_citations(text: str) -> str:
    """`text` without its runs of citation entries (and a reference-list heading line right before
    one). Prose, numbered recommendations and single citations inside prose are kept."""
    groups = _entries(text.splitlines())
    # An entry starts like one (a number, a bullet, authors) or is a paragraph of its own (HTML
    # list items, Markdown paragraphs); only the first group may be the tail of an entry begun on
    # the page before.
    flags = [
        0 < len(t := " ".join(g).strip()) < MAX_ENTRY_CHARS
        and (k == 0 or _starts_entry(g[0]) or not "".join(groups[k - 1]).strip())
        and is_citation_entry(t)
        for k, g in enumerate(groups)
    ]
    drop = [False] * len(groups)
    i = 0
    while i < len(groups):
        if not flags[i]:
            i += 1
            continue
        j = i
        # a run: citation entries, possibly with one undetected entry (a book, a web page)
        # or a blank line between two detected ones
        while j + 1 < len(groups) and (
            flags[j + 1] or (j + 2 < len(groups) and flags[j + 2] and _entry_like(groups[j + 1]))
        ):
            j += 1
        count = sum(flags[i : j + 1])
        whole = i == 0 and j == len(groups) - 1 and _starts_entry(groups[0][0])
        if count >= MIN_CITATION_RUN or whole:
            # numbered neighbours of a list are entries of it (reports, laws, web pages)
            while i > 0 and _ENTRY_START.match(groups[i - 1][0]) and _entry_like(groups[i - 1]):
                i -= 1
            while (
                j + 1 < len(groups)
                and _ENTRY_START.match(groups[j + 1][0])
                and _entry_like(groups[j + 1])
            ):
                j += 1
            for k in range(i, j + 1):
                drop[k] = True
            # the list's own heading ("References") on the line before the run
            if i > 0:
                head = groups[i - 1]
                while head and not head[-1].strip():
                    head = head[:-1]
                if head and is_reference_heading(head[-1]):
                    head.pop()
                    groups[i - 1] = head
        i = j + 1
    kept = [ln for g, d in zip(groups, drop, strict=True) if not d for ln in g]
    return "\n".join(kept).strip()


def _starts_entry(line: str) -> bool:
    return _ENTRY_START.match(line) is not None or _AUTHOR_START.match(line) is not None


def _entry_like(group: list[str]) -> bool:
    text = " ".join(group).strip()
    return not text or (_ENTRY_START.match(group[0]) is not None and len(text) < MAX_ENTRY_CHARS)
