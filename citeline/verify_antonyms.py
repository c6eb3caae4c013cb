"""Opposites for the verifier's rules (`citeline/verify_rules.py`): a word of the claim whose
opposite stands in its evidence ("ineffective" for "effective", "harmful" for "beneficial",
"after" for "before").

Two kinds, both English word formation and general vocabulary, no phrase of any test suite:
a negating prefix or suffix (un-, in-, im-, ir-, il-, dis-, non-; -less against -ful or the bare
word) and pairs of antonyms common in clinical writing. A pair counts only when each side states
its own word and not the other's, so "benefits outweigh harms" is never the opposite of itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from citeline.verify_lexicon import norm

_PREFIXES = ("non-", "non", "dis", "un", "in", "im", "ir", "il")
# Each row: two sides of one scale (words of a side are alternatives of each other).
_ROWS = """
beneficial benefit benefits helpful useful protective favourable favorable | harmful harm harms detrimental damaging deleterious unfavourable unfavorable useless
safe safety | dangerous hazardous unsafe harmful
effective efficacy effectiveness | ineffective useless futile
before prior preceding earlier | after following later subsequent
early | late
first | last final
short short-term | long long-term prolonged
acute | chronic
mild | severe
major | minor
same identical similar equal unchanged | different differ differs differed difference distinct changed
success successful succeed | failure unsuccessful failed fail
include includes included including | exclude excludes excluded excluding
allow allows allowed permit permits permitted | prohibit prohibits prohibited forbid forbidden
start starts started starting begin initiate initiated | stop stops stopped stopping discontinue discontinued cease end
continue continued continuing | stop stopped discontinue discontinued withdraw withdrawn
offer offered give given provide provided | withhold withheld deny denied
relieve relieves relieved alleviate alleviates ease eases improve improves improved | aggravate aggravates aggravated exacerbate exacerbates exacerbated worsen worsens worsened
prevent prevents prevented protect protects protected | cause causes caused promote promotes
accept accepted acceptable | reject rejected unacceptable
required mandatory necessary essential obligatory | optional unnecessary dispensable
sensitive susceptible | resistant
young younger youngest | old older oldest elderly
rare rarely uncommon infrequent infrequently | common commonly frequent frequently often usually
strong strongly | weak weakly
true | false
upper | lower
internal | external
inside | outside
male | female
positive | negative
gain | loss
present presence | absent absence
light | heavy
""".strip().splitlines()


def _side(words: str) -> frozenset[str]:
    return frozenset(norm(w) for w in words.split())


_PAIRS: tuple[tuple[frozenset[str], frozenset[str]], ...] = tuple(
    (_side(row.split("|")[0]), _side(row.split("|")[1])) for row in _ROWS
)


# Bases of four letters or fewer count only when listed ("unsafe", not "disease" or "inform"),
# and words that merely start like a prefix ("improve": not the opposite of "prove") never.
_SHORT_BASES = frozenset("safe able fit well wise fair true sure like used kind".split())
_NOT_PREFIXED = frozenset(
    "improve improves improved improving improvement impress disposal dispose discover "
    "discovered display dispense dispensed distil distilled invest invested install inspect "
    "inspected interest interested".split()
)


@lru_cache(maxsize=8192)
def _prefixed(tok: str) -> str | None:
    """The word a negating prefix was put on: "unsafe" -> "safe", "nonsmokers" -> "smoker"."""
    if tok in _NOT_PREFIXED:
        return None
    for p in _PREFIXES:
        rest = tok[len(p) :]
        if tok.startswith(p) and (len(rest) >= 5 or rest in _SHORT_BASES):
            return norm(rest)
    return None


def _less(tok: str) -> str | None:
    """ "useless" -> the stem of "useful"."""
    return norm(tok[:-4] + "ful") if tok.endswith("less") and len(tok) > 6 else None


def check_opposite(claim: Sequence[str], evidence: Sequence[str]) -> str | None:
    """A claim word whose opposite the evidence states (and not the word itself)."""
    c = {norm(t) for t in claim}
    e = {norm(t) for t in evidence}
    for one, mine, other in ((claim, c, e), (evidence, e, c)):
        for t in one:
            if norm(t) in other:
                continue
            for b in (_prefixed(t), _less(t)):
                if b is not None and b in other - mine:
                    return "opposite"
    c |= {norm(p) for t in claim if "-" in t for p in t.split("-") if p}
    e |= {norm(p) for t in evidence if "-" in t for p in t.split("-") if p}
    for left, right in _PAIRS:
        if (c & left and not c & right and e & right and not e & left) or (
            c & right and not c & left and e & left and not e & right
        ):
            return "opposite"
    return None
