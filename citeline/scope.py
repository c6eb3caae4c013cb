"""Scope: which words of a question no indexed guideline uses, and whether they carry its
meaning (out of scope) or only deserve a notice that the answer does not cover them (unmentioned
terms)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from citeline.embeddings import Embedder
from citeline.question import GENERIC
from citeline.store import Store, query_terms
from citeline.text import stem

# A question is out of scope when the words the indexed guidelines never use carry its meaning:
# dropping them moves the query embedding below `coverage_floor` while they are at least this
# share of its content words (or below `coverage_hard_floor` whatever their share). Calibrated on
# the bundled eval suites (eval/README.md): "first-line antibiotic for community-acquired
# pneumonia" loses its topic without its two unknown words; "I've lost weight ..." loses nothing.
UNKNOWN_SHARE = 1 / 3
# An answered question whose unknown words still carried this much of its meaning (similarity
# without them below this) gets a notice naming them: "pregnancy" in "Is amitriptyline safe for
# IBS in pregnancy?" (0.866) must not read as covered; "proportion" (0.922) or "big" (0.924)
# would only be noise. Calibrated on 26 probes (eval/README.md).
UNMENTIONED_SIMILARITY = 0.91


@dataclass
class Coverage:
    """How much of a query the indexed vocabulary covers."""

    terms: list[str]
    unknown: list[str]
    similarity: float  # cosine between the query and the query without its unknown words

    @property
    def unknown_share(self) -> float:
        return len(self.unknown) / len(self.terms) if self.terms else 0.0

    def out_of_scope(
        self, floor: float, hard_floor: float, relevance: float = 1.0, term_floor: float = 0.0
    ) -> bool:
        """Out of scope when the unknown words carry much of the question's meaning, or when
        there is any unknown word and the best passage is only weakly related (`relevance` below
        `term_floor`): "insulin" in an opioid guideline library, best passage 0.36."""
        if self.similarity < hard_floor:
            return True
        if self.unknown and relevance < term_floor:
            return True
        return self.similarity < floor and self.unknown_share >= UNKNOWN_SHARE - 1e-9

    def unmentioned(self) -> list[str]:
        """The unknown words an answer must say it does not cover (empty when they carried
        little of the question's meaning)."""
        return self.unknown if self.similarity < UNMENTIONED_SIMILARITY else []


def coverage(index: Store, embedder: Embedder, query: str, query_vector: np.ndarray) -> Coverage:
    """Which query words no indexed chunk contains, and how much meaning is left without them
    (one more embedding, only when some word is unknown)."""
    plain = plain_text(query)
    terms = query_terms(plain)
    # An asking word no guideline uses ("how fast") is not what the question is about.
    # nor is a number ("My dad is 70 ...")
    unknown = [
        t for t in index.unknown_terms(terms) if stem(t) not in GENERIC and not t[0].isdigit()
    ]
    if not unknown:
        return Coverage(terms, [], 1.0)
    pattern = r"\b(?:" + "|".join(re.escape(t) for t in unknown) + r")\b"
    rest = " ".join(re.sub(pattern, " ", plain, flags=re.IGNORECASE).split())
    if not query_terms(rest):
        return Coverage(terms, unknown, 0.0)
    if plain == query:
        vec = embedder.embed([rest])[0]
    else:
        query_vector, vec = embedder.embed([plain, rest])
    return Coverage(terms, unknown, float(vec @ query_vector))


_MARKUP = re.compile(
    r"[a-z][a-z0-9+.-]*://\S+|\bwww\.\S+|<(script|style)\b.*?(?:</\1\s*>|$)|<[^<>]*>|(?-i:\b(?:AND|OR|NOT|NEAR)\b)|[^\w\s'?.,;:()-]+",
    re.IGNORECASE | re.DOTALL,
)


def plain_text(query: str) -> str:
    """The words a reader would see: no markup, scripts or search operators (a question may
    arrive pasted with them; they are not what it asks about)."""
    text = _MARKUP.sub(" ", query)
    # a balanced "(...)" stays (a follow-up's inherited subject); a stray bracket is an operator
    kept = {i for m in re.finditer(r"\([^()]*\)", text) for i in (m.start(), m.end() - 1)}
    text = "".join(" " if ch in "()" and i not in kept else ch for i, ch in enumerate(text))
    return " ".join(text.split())
