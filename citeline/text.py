"""Text utilities: sentence splitting, content words, numbers. Pure functions."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Abbreviations after which a full stop does not end a sentence.
_ABBREV = {
    "e.g",
    "i.e",
    "etc",
    "vs",
    "dr",
    "mr",
    "mrs",
    "ms",
    "prof",
    "al",
    "fig",
    "no",
    "approx",
    "c",
    "st",
    "jr",
    "sr",
    "inc",
    "ltd",
    "co",
    "vol",
    "pp",
    "p",
    "ref",
    "resp",
    "incl",
    "cf",
}
_ROMAN_MARKERS = {"ii", "iii", "iv", "vi", "vii", "viii", "ix", "xi", "xii"}
_SENT_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])")
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9'\-]*|\d+(?:[.,]\d+)?%?")
_NUMBER = re.compile(r"(?<![A-Za-z])\d+(?:[.,]\d+)*(?:\s?%)?")

STOPWORDS = frozenset(
    """a an and are as at be been being but by can could did do does doing for from had has have
    having he her here hers him his how i if in into is it its itself just me more most my no
    nor not of off on once only or other our ours out over own same she should so some such than
    that the their theirs them then there these they this those through to too under until up
    very was we were what when where which while who whom why will with would you your yours
    about above after again against all am any because before below between both during each few
    further there's what's i'm tell me please also may might must shall much many there one ones
    link linked myself yourself yourselves himself herself ourselves themselves us
    i've i'd i'll you're you've you'd we're we've they're they've it's that's let's who's here's
    don't doesn't didn't can't won't isn't aren't wasn't weren't shouldn't wouldn't couldn't
    haven't hasn't hadn't""".split()
)


def _visible(ch: str) -> str:
    """Control characters become a space; invisible format characters (soft hyphen, zero-width
    space and joiners, bidi marks) vanish, so "pro\u00adbiotics" stays one word."""
    if ch in "\n\t":
        return ch
    cat = unicodedata.category(ch)
    if cat[0] != "C":
        return ch
    return "" if cat == "Cf" else " "


def normalize(text: str) -> str:
    """NFC-normalise, drop control characters, collapse white space."""
    text = unicodedata.normalize("NFC", text)
    text = "".join(map(_visible, text))
    return re.sub(r"[ \t\r\f\v]+", " ", text).strip()


def split_sentences(text: str) -> list[str]:
    """Split prose into sentences without cutting at abbreviations, initials or decimals."""
    out: list[str] = []
    for block in re.split(r"\n\s*\n|\n(?=\s*(?:[-*•]|\d+[.)])\s)", text):
        block = re.sub(r"^\s*(?:[-*•]|\d+[.)])\s+", "", block.strip())
        block = re.sub(r"\s+", " ", block)
        if not block:
            continue
        start = 0
        for m in _SENT_END.finditer(block):
            candidate = block[start : m.start()].strip()
            last = candidate.rsplit(" ", 1)[-1].rstrip(".").lower()
            # "C. difficile", "et al.", "e.g." and single initials do not end a sentence, nor
            # does a list marker "ii." inside a list sentence ("... care, ii. Cover ...").
            if last in _ABBREV or (len(last) == 1 and last.isalpha()) or last in _ROMAN_MARKERS:
                continue
            if candidate:
                out.append(candidate)
            start = m.end()
        tail = block[start:].strip()
        if tail:
            out.append(tail)
    return [s for s in out if any(ch.isalnum() for ch in s)]


def words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


@lru_cache(maxsize=1 << 16)
def stem(word: str) -> str:
    """A light suffix stripper, enough to match 'probiotics' with 'probiotic'. Memoised: an
    answer stems ~20k words, most of them again and again."""
    for suffix in (
        "ations",
        "ation",
        "ities",
        "ity",
        "ness",
        "ments",
        "ment",
        "ings",
        "ing",
        "ies",
        "ed",
        "es",
        "s",
    ):
        if suffix == "s" and word.endswith("ss"):
            break  # "stress" is "stressed" without its ending, not a plural
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            word = word[: -len(suffix)] + ("y" if suffix == "ies" else "")
            break
    # "change", "changes" and "changed" share one stem ("chang"), as do "disease(s)"
    if word.endswith("e") and len(word) >= 5 and not word.endswith("ee"):
        word = word[:-1]
    return word


def content_words(text: str) -> list[str]:
    """Lower-cased stems of the words that carry meaning (no stop words, no bare numbers)."""
    return [
        stem(w) for w in words(text) if w not in STOPWORDS and not w[0].isdigit() and len(w) > 1
    ]


def numbers(text: str) -> set[str]:
    """Numbers, percentages and intervals as written ('39%', '1.5', '250,000'), canonicalised."""
    out = set()
    for m in _NUMBER.findall(text):
        out.add(m.replace(" ", "").replace(",", ""))
    return out
