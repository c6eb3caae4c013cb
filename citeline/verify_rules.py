"""The entailment checks of the verifier (`citeline/verify.py`): pure functions over token lists.

Each check compares a claim with the passage sentence(s) it was aligned to and returns the name
of the first problem it finds (``"negation"``, ``"number"`` ...) or ``None``. The lexicons are
English function words and clinical-writing conventions (recommendation grades, hedges,
directions), not phrases of any test suite.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache

from citeline.text import STOPWORDS
from citeline.verify_antonyms import check_opposite
from citeline.verify_lexicon import key
from citeline.verify_numbers import (
    _FOLD,
    FRACTIONS,
    MULTIPLIERS,
    NUMBER_WORDS,
    check_numbers,
)

_TOKEN = re.compile(
    r"\d+(?:\.\d+)?[-\u2013]\d+(?:\.\d+)?%?|\d+(?:[.,]\d+)*%?|[A-Za-z][A-Za-z0-9'\-]*"
)

NEGATORS = frozenset(
    "not no never without none neither nor cannot can't don't doesn't didn't isn't aren't "
    "wasn't weren't won't shouldn't wouldn't couldn't hasn't haven't hadn't lack lacks lacking "
    "absence absent fail fails failed unable".split()
)
# Words a negator reaches over before the word it negates ("not be routinely recommended").
_NEG_SKIP = frozenset(
    "be been being is are was were have has had do does did to a an the any of for as in "
    "routinely usually generally currently always necessarily significantly statistically "
    "clearly strongly".split()
)
UP = frozenset(
    "higher high increase increased increases increasing increment rise rises rising raised "
    "raise raises elevated elevation more greater larger bigger superior better improve "
    "improved improves improvement improving enhance enhanced enhances gain gains above over "
    "longer faster stronger promote promotes promoted stimulate stimulates activate activates "
    "upregulate upregulated upregulates excess maximum most exceed exceeds accelerate "
    "accelerates accelerated worsen worsened worsens positive positively".split()
)
DOWN = frozenset(
    "lower low decrease decreased decreases decreasing decline declines declined fall falls "
    "drop drops dropped reduced reduce reduces reducing reduction reductions less fewer smaller "
    "inferior worse impair impaired impairs below under shorter slower weaker inhibit inhibits "
    "inhibited suppress suppresses suppressed downregulate downregulated downregulates deficit "
    "minimum least diminish diminished diminishes attenuate attenuated attenuates slow slows "
    "negative negatively".split()
)
# "worse"/"worsen" go up a symptom scale but down in quality: both directions are kept apart.
_QUALITY = {"better": 1, "improve": 1, "improved": 1, "improves": 1, "improvement": 1,
            "improving": 1, "worse": -1, "worsen": -1, "worsened": -1, "worsens": -1,
            "superior": 1, "inferior": -1}  # fmt: skip
UNIVERSAL = frozenset(
    "all every always routine routinely universal universally each everyone".split()
)
RESTRICT = frozenset(
    "some certain specific selected only particular subset few several sometimes occasionally "
    "rarely minority".split()
)
HEDGES = frozenset(
    "may might could possibly possible potentially potential perhaps likely unlikely appear "
    "appears appeared seem seems suggest suggests suggested suggesting suggestive hypothesis "
    "hypothesised hypothesized preliminary uncertain unclear".split()
)
# An association stated as a cause is an overstatement too.
ASSOCIATION = frozenset("associated association correlated correlates correlation linked".split())
BOOSTERS = frozenset(
    "proves proved prove proven definitely certainly clearly always will cause causes caused "
    "guarantees guarantee guaranteed establishes established confirms confirmed demonstrates "
    "demonstrated cures cure".split()
)
POPULATIONS: dict[str, str] = {
    **dict.fromkeys("child children childhood paediatric pediatric kids infant infants "
                    "neonates neonatal newborn newborns toddlers".split(), "children"),
    **dict.fromkeys("adolescent adolescents teenagers teens youth".split(), "adolescents"),
    **dict.fromkeys("adult adults".split(), "adults"),
    **dict.fromkeys("elderly older aged geriatric".split(), "older"),
    **dict.fromkeys("pregnancy pregnant antenatal prenatal gestation breastfeeding "
                    "lactation lactating postpartum".split(), "pregnancy"),
    **dict.fromkeys("women woman female females".split(), "women"),
    **dict.fromkeys("men man male males".split(), "men"),
}  # fmt: skip


@lru_cache(maxsize=8192)
def tokens(text: str) -> tuple[str, ...]:
    return tuple(t.lower() for t in _TOKEN.findall(text))


def is_content(tok: str) -> bool:
    """A word that carries meaning; numbers in any spelling are checked apart (`quantities`)."""
    return (
        tok not in STOPWORDS
        and tok not in NEGATORS
        and not tok[0].isdigit()
        and len(tok) > 1
        and tok not in NUMBER_WORDS
        and tok not in MULTIPLIERS
        and tok not in FRACTIONS
        and not _FOLD.match(tok)
    )


def negated_targets(toks: Sequence[str]) -> set[str]:
    """Stems of the words each negator governs ("not routinely recommended" -> recommend)."""
    out: set[str] = set()
    for i, t in enumerate(toks):
        if t not in NEGATORS:
            continue
        taken = 0
        for u in toks[i + 1 : i + 6]:
            if u in ("but", "and", "or", "while", "whereas", "unless", "except"):
                break
            if u in _NEG_SKIP or u in NEGATORS or not _negatable(u):
                continue
            out.add(key(u))
            taken += 1
            if taken == 2:
                break
    return out


def _negatable(t: str) -> bool:
    """A word whose negation changes a claim: content words, directions, "linked"."""
    return is_content(t) or t in UP or t in DOWN or t in ("link", "linked", "all", "only")


def check_negation(claim: Sequence[str], evidence: Sequence[str]) -> str | None:
    """A word negated on one side and stated plainly on the other."""
    c_neg, e_neg = negated_targets(claim), negated_targets(evidence)
    c_all = {key(t) for t in claim if _negatable(t)}
    e_all = {key(t) for t in evidence if _negatable(t)}
    if (c_neg & e_all) - e_neg or (e_neg & c_all) - c_neg:
        return "negation"
    return None


_GRADES = (
    (-1, r"\b(not (be )?(routinely )?(recommended|advised|suggested|offered|used|given|indicated)"
     r"|(recommends?|recommended|advises?|advised|suggests?|suggested|argues?) against"
     r"|should not|must not|do not (offer|use|give|recommend)|avoid(ed)?|discouraged"
     r"|contraindicated)\b"),
    (1, r"\b(suggested|we suggest|suggests? (?!that\b)(using|the use|offering|[a-z]+s\b)"
     r"|(may|could|can) be (considered|offered|used|tried)|consider(ed)?|conditional|weak"
     r"|optional)\b"),
    (2, r"\b(recommends?|recommended|recommendation|advised|should|must|offer)\b"),
)  # fmt: skip


def recommendations(toks: Sequence[str]) -> list[int]:
    """Grades of the recommendations stated: 2 recommended, 1 suggested/considered, -1 against."""
    text = " ".join(toks)
    taken: list[tuple[int, int]] = []
    grades = []
    for grade, pattern in _GRADES:
        for m in re.finditer(pattern, text):
            if not any(a < m.end() and m.start() < b for a, b in taken):
                taken.append((m.start(), m.end()))
                grades.append(grade)
    return sorted(grades)


def check_recommendation(claim: Sequence[str], evidence: Sequence[str]) -> str | None:
    """A grade of the claim the evidence does not state (recommended vs suggested vs against)."""
    left = list(recommendations(evidence))
    for g in recommendations(claim):
        if g not in left:
            return "recommendation"
        left.remove(g)
    return None


def _anchors(toks: Sequence[str], i: int, width: int = 3) -> set[str]:
    lo, hi = max(0, i - width), min(len(toks), i + width + 1)
    return {key(t) for t in toks[lo:hi] if (is_content(t) or t[0].isdigit()) and t not in UP | DOWN}


def _direction(t: str) -> int:
    if t in _QUALITY:
        return 2 * _QUALITY[t]  # quality scale: kept apart from the amount scale
    return 1 if t in UP else -1 if t in DOWN else 0


def check_direction(claim: Sequence[str], evidence: Sequence[str]) -> str | None:
    """higher/lower, increase/decrease, better/worse: each direction word of the claim against
    the evidence's direction word in the same place (the one sharing most neighbouring words)."""
    e_dirs = [
        (_direction(t), _anchors(evidence, i, 4), i / len(evidence))
        for i, t in enumerate(evidence)
        if _direction(t)
    ]
    if not e_dirs:
        return None
    for i, t in enumerate(claim):
        d = _direction(t)
        if not d:
            continue
        near = _anchors(claim, i, 4)
        same = [(len(an & near), ed, pos) for ed, an, pos in e_dirs if abs(ed) == abs(d)]
        if not same:
            continue
        best = max(n for n, _, _ in same)
        at_best = [(abs(pos - i / len(claim)), ed) for n, ed, pos in same if n == best]
        # Both directions equally near ("less severe ..., and ... more severe"): the one in the
        # same relative place of the sentence decides.
        if {ed for _, ed in at_best} == {-d} or min(at_best)[1] == -d:
            return "direction"
    return None


_ORDER_MARKERS = ("rather than", "instead of", "preferred over", "preferred to", "superior to",
                  "inferior to", "compared with", "compared to", "versus", "vs", "than", "over")  # fmt: skip


def _split_at_marker(toks: Sequence[str]) -> tuple[set[str], set[str], set[str]] | None:
    """(subject, words just before the marker, words just after it) around the first marker."""
    text = " " + " ".join(toks) + " "
    for m in _ORDER_MARKERS:
        k = text.find(f" {m} ")
        if k == -1:
            continue
        if m == "over" and re.match(r" over (\d|the age|time|years?|a |an )", text[k:]):
            continue
        before = [t for t in text[:k].split() if _comparand(t)]
        right = [t for t in text[k + len(m) + 2 :].split() if _comparand(t)][:2]
        return {key(t) for t in before[:2]}, {key(t) for t in before[-2:]}, {key(t) for t in right}
    return None


def _comparand(t: str) -> bool:
    if t in UP or t in DOWN or t.startswith(("prefer", "favour", "favor")):
        return False
    return is_content(t) or t in NUMBER_WORDS


def _nearest(toks: Sequence[str]) -> tuple[str, str] | None:
    """The comparands right next to the first marker: (last before, first after)."""
    text = " " + " ".join(toks) + " "
    for m in _ORDER_MARKERS:
        k = text.find(f" {m} ")
        if k == -1:
            continue
        if m == "over" and re.match(r" over (\d|the age|time|years?|a |an )", text[k:]):
            continue
        before = [t for t in text[:k].split() if _comparand(t)]
        after = [t for t in text[k + len(m) + 2 :].split() if _comparand(t)]
        return (key(before[-1]), key(after[0])) if before and after else None
    return None


def _swapped(c_left: set[str], c_right: set[str], e_left: set[str], e_right: set[str]) -> bool:
    same = len(c_left & e_left) + len(c_right & e_right)
    swap = len(c_left & e_right) + len(c_right & e_left)
    return swap > same and bool(c_right & e_left)


def check_order(claim: Sequence[str], evidence: Sequence[str]) -> str | None:
    """Comparands swapped around "over", "rather than", "than" (X preferred over Y vs Y over X),
    next to the marker or as the subject ("X improves pain compared with Y")."""
    c, e = _split_at_marker(claim), _split_at_marker(evidence)
    if c is None or e is None:
        return None
    cn, en = _nearest(claim), _nearest(evidence)
    crossed = bool(cn and en and cn != en and (cn[0] == en[1] or cn[1] == en[0]))
    if (
        crossed
        or _swapped(c[1], c[2], e[1], e[2])
        or _swapped(c[0] - c[1], c[2], e[0] - e[1], e[2])
    ):
        # "A is lower than B" == "B is higher than A": a swap with a flipped direction is faithful.
        if check_direction(claim, evidence) == "direction":
            return None
        return "comparison"
    return None


def check_scope(claim: Sequence[str], evidence: Sequence[str]) -> str | None:
    """Quantifiers (all, routine, some, only) and populations (children, adults, pregnancy)."""
    cu, eu = set(claim) & UNIVERSAL, set(evidence) & UNIVERSAL
    cr, er = set(claim) & RESTRICT, set(evidence) & RESTRICT
    if (cu and not eu) or (cr and not er and not (cr <= {"only"} and eu)):
        return "scope"
    if er - cr and not cr:
        return "scope"
    if Counter(t for t in evidence if t in RESTRICT) - Counter(t for t in claim if t in RESTRICT):
        return "scope"  # "only" dropped where another "only" stays
    if eu - cu and not cu and ({"routine", "routinely"} & eu):
        return "scope"
    cp = {POPULATIONS[t] for t in claim if t in POPULATIONS}
    ep = {POPULATIONS[t] for t in evidence if t in POPULATIONS}
    if cp - ep:
        return "population"
    return None


def _hedges(toks: Sequence[str]) -> set[str]:
    """Hedge words, less "likely" in a comparison ("more likely to reduce" is a finding), and
    "suggest" in a recommendation ("we suggest offering")."""
    out = set()
    for i, t in enumerate(toks):
        prev = toks[i - 1] if i else ""
        if t not in HEDGES or (t in ("likely", "unlikely") and prev in ("more", "less", "most")):
            continue
        if t.startswith("suggest") and prev in ("we", "guideline", "guidelines", "panel"):
            continue
        out.add(t)
    return out


def check_hedge(claim: Sequence[str], evidence: Sequence[str]) -> str | None:
    """A hedged finding ("may", "suggests") stated as certain, a new booster ("proves",
    "will"), or an association stated as a cause."""
    ch, eh = _hedges(claim), _hedges(evidence)
    if eh and not ch:
        return "hedge"
    cb = (set(claim) & BOOSTERS) - set(evidence)
    if cb and (
        eh or set(evidence) & ASSOCIATION or not {key(t) for t in cb} & {key(t) for t in evidence}
    ):
        return "hedge"
    return None


CONTRADICTIONS = (
    check_negation,
    check_recommendation,
    check_order,
    check_direction,
    check_opposite,
    check_numbers,
)
OVERSTATEMENTS = (check_scope, check_hedge)
