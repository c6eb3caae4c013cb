"""Quantities for the verifier's rules (`citeline/verify_rules.py`): numbers in every spelling.

Digits, number words, multipliers (threefold, twice), fractions (half, a third), percentages
and ranges; `check_numbers` compares those of a claim with those of its evidence.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

_RANGE = re.compile(r"^(\d+(?:\.\d+)?)[-\u2013](\d+(?:\.\d+)?)%?$")

NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20,
    "thirty": 30, "forty": 40, "fifty": 50, "hundred": 100, "thousand": 1000,
    "single": 1, "dozen": 12,
}  # fmt: skip
MULTIPLIERS = {"twice": 2.0, "double": 2.0, "doubled": 2.0, "doubles": 2.0, "triple": 3.0,
               "tripled": 3.0, "triples": 3.0, "quadruple": 4.0, "quadrupled": 4.0}  # fmt: skip
FRACTIONS = {"half": 0.5, "third": 1 / 3, "thirds": 2 / 3, "quarter": 0.25, "quarters": 0.75,
             "fifth": 0.2, "tenth": 0.1}  # fmt: skip
_FOLD = re.compile(r"^([a-z]+|\d+(?:\.\d+)?)-?(fold|times)$")


def quantities(toks: Sequence[str]) -> set[tuple[str, float]]:
    """Numbers in every spelling: digits, number words, multipliers, fractions, percentages."""
    out: set[tuple[str, float]] = set()
    ends: set[int] = set()  # "16 to 24" is one range, like "16-24": its ends are not numbers
    for i, t in enumerate(toks):
        if i in ends:
            continue
        nxt = toks[i + 1] if i + 1 < len(toks) else ""
        r = _RANGE.match(t)
        if r or (t[0].isdigit() and nxt == "to" and i + 2 < len(toks) and toks[i + 2][0].isdigit()):
            lo, hi = (r.group(1), r.group(2)) if r else (t, toks[i + 2])
            out.add((f"range {_num(lo)}-{_num(hi)}", 0.0))
            ends.add(i + 2)
            continue
        m = _FOLD.match(t)
        if m:
            base = m.group(1)
            val = NUMBER_WORDS.get(base) or (float(base) if base[0].isdigit() else None)
            if val:
                out.add(("x", float(val)))
            continue
        if t in MULTIPLIERS:
            out.add(("x", MULTIPLIERS[t]))
        elif t in FRACTIONS:
            num = NUMBER_WORDS.get(toks[i - 1], 1) if i else 1
            val = FRACTIONS[t] if t != "thirds" else num / 3
            out.add(("n", round(val if t in ("half",) or num == 1 else num * val, 4)))
        elif t in NUMBER_WORDS or t[0].isdigit():
            v = NUMBER_WORDS.get(t)
            value = float(v) if v is not None else _num(t)
            if value is None:
                continue
            if nxt in ("times", "fold"):
                out.add(("x", value))
            elif t.endswith("%") or nxt in ("percent", "per"):
                out.add(("%", value))
            elif t not in ("one", "single") or nxt in ("in", "of"):
                out.add(("n", value))
    return out


def _num(t: str) -> float | None:
    try:
        return float(t.rstrip("%").replace(",", ""))
    except ValueError:
        return None


def check_numbers(claim: Sequence[str], evidence: Sequence[str]) -> str | None:
    """Every quantity of the claim is a quantity of the evidence (50% == half, 2-fold == twice)."""
    cq, eq = quantities(claim), quantities(evidence)
    flat = (
        {v for _, v in eq}
        | {v / 100 for k, v in eq if k == "%"}
        | {round(v * 100, 4) for k, v in eq if k == "n" and v < 1}
    )
    fractions = {round(v * 100, 2) for k, v in eq if k == "n" and 0 < v < 1}
    fractions |= (
        {v for k, v in eq if k == "%"} if any(k == "n" and 0 < v < 1 for k, v in cq) else set()
    )
    cq = {(k, round(v * 100, 2) if k == "n" and 0 < v < 1 else v) for k, v in cq}
    for kind, v in cq:
        if kind.startswith("range"):
            if (kind, v) not in eq:
                return "number"
            continue
        if (kind, v) in eq or (kind != "x" and (v in flat or (kind == "%" and v / 100 in flat))):
            continue
        if kind != "x" and any(abs(v - f) <= 0.7 for f in fractions):  # a third ~ 33%
            continue
        return "number"
    return _repeated_number(claim, evidence)


def _repeated_number(claim: Sequence[str], evidence: Sequence[str]) -> str | None:
    """A number the evidence states once stated twice ("from 0 to 3" becoming "from 3 to 3"):
    the claim moved it into the place of another."""
    c = Counter(t for t in claim if t[0].isdigit())
    e = Counter(t for t in evidence if t[0].isdigit())
    return "number" if any(n > e[t] >= 1 for t, n in c.items()) else None
