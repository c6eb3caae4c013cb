"""When a sentence names the question's subject in other words: "depressed" and "depressive"
for "depression", "gut microbiota" for "gut microbiome", "poo" for "stool", "rats" for
"animals". Used to judge what a sentence is about, never to change what it says.

Two stems name the same subject when they share a root (the light stemmer keeps derivational
suffixes: "depression", "depress", "depressiv") or sit in one row of `_ROWS`, words that clinical
and patient writing use for the same thing. A hyponym names its hypernym ("rats" are animals), not
the reverse: a question about rats is not answered by a sentence about mice.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from citeline.text import stem

# Derivational endings left by `text.stem` ("depressiv", "infectiou", "inflammatory"), longest
# first; a root keeps at least MIN_ROOT letters.
_SUFFIXES = ("atory", "ation", "ical", "iou", "ion", "ary", "ory", "ous", "ic", "iv", "al")
MIN_ROOT = 4

_ROWS = """
microbiome microbiota microbe microbes microbial microorganism microorganisms flora bacteria
stool stools faeces feces faecal fecal poo
anxiety anxious
loss losing lose lost
gene genes genetic genetics
diagnosis diagnose diagnosed diagnostic
abdomen abdominal tummy belly stomach
child children childhood paediatric pediatric kid kids
pregnancy pregnant
doctor doctors physician physicians gp gps
exercise exercising physical physically
reflux gerd gord heartburn gastroesophageal gastro-oesophageal
""".strip().splitlines()

_HYPERNYMS = {
    "animal": "rat rats mouse mice rodent rodents murine",
    "mood": "depression depressive depressed anxiety anxious",
}


def _root(s: str) -> str:
    for suffix in _SUFFIXES:
        if s.endswith(suffix) and len(s) - len(suffix) >= MIN_ROOT:
            return s[: -len(suffix)]
    return s


_CANON: dict[str, str] = {}
for _row in _ROWS:
    _words = _row.split()
    for _w in _words:
        _CANON[_root(stem(_w))] = _root(stem(_words[0]))

_BROADER: dict[str, str] = {
    _root(stem(w)): _root(stem(broad)) for broad, row in _HYPERNYMS.items() for w in row.split()
}


@lru_cache(maxsize=65536)
def canon(s: str) -> str:
    """The form a stem shares with every word naming the same subject."""
    r = _root(s)
    return _CANON.get(r, r)


def forms(stems: Iterable[str]) -> set[str]:
    """The canonical forms of a text's stems, and the broader terms they name."""
    out: set[str] = set()
    for s in stems:
        c = canon(s)
        out.add(c)
        broad = _BROADER.get(c)
        if broad:
            out.add(canon(broad))
    return out
