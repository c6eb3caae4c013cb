"""Answer-level checks of a case: does the verdict answer, is the answer sized, is a missing
property said to be missing. Pure functions of `Answer` objects, used by `eval.scoring`.

- `verdict_must_include`: every group (a phrase, or a list of alternative phrases) must be in the
  verdict, the one bold sentence that answers the question. Case- and typography-insensitive.
  A miss does not fail the case (the reports list it apart): `verdict_rate_min` gates the share
  of verdicts that answer, since one right wording per question is a judgement.
- `max_bullets`: the bullets under the verdict (every claim of every section) are at most this
  many; more fails the case (a narrow question gets a narrow answer).
- `expect_not_given`: the index has the subject but not the property asked for; the answer is
  right when it is refused, or carries the `not_given` flag (its notice says the indexed
  guidelines give no such property for the subject). Anything else fails the case.
- `references_must_include` / `references_must_not_include`: groups (as above) that the
  references' title, publisher, year and section must (must not) show, e.g. CDC and 2016 for a
  PDF whose publisher and year come from its metadata, never "_GoBack" as a section.
- Always: no shown claim (verdict or bullet) is a list fragment, i.e. ends in ":", "," or ";"
  or in a bare list marker ("a.", "ii.", "3)"), or is one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from statistics import median
from typing import Any

from citeline.types import Answer
from eval.suites import NOT_GIVEN_FLAG, Case

# A lead-in or list item cut short (ending in ":", "," or ";"), a bare list marker ending a
# claim after a space ("... include: a.", "... ii.", "... 3)"), or a claim that is nothing but
# one ("4."). Upper-case letters and "6." after a space are left out: "Appendix A.", "Rome IV."
# and "from 0 to 6." end real sentences.
_FRAGMENT = re.compile(
    r"([:,;]|(?:^|\s)\(?(?:[a-h]|[ivx]{1,4})[.)]|(?:^|\s)\(?\d{1,2}\)|^\(?\d{1,2}[.)])\s*$"
)


def is_fragment(text: str) -> bool:
    """A claim that cannot stand as an answer: a lead-in ending in ":" or a list marker."""
    return bool(_FRAGMENT.search(text.strip()))


@dataclass
class AnswerChecks:
    metrics: dict[str, float | None] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)  # fail the case
    verdict_misses: list[str] = field(default_factory=list)  # reported; gated by verdict_rate
    bullets: int = 0


def bullet_count(answer: Answer) -> int:
    """Bullets shown under the verdict: every claim of every section."""
    return sum(len(s.claims) for s in answer.sections)


def check_answer(case: Case, answer: Answer, fold: Callable[[str], str]) -> AnswerChecks:
    out = AnswerChecks(bullets=bullet_count(answer))
    m = out.metrics

    if case.verdict_must_include:
        text = answer.verdict.text if answer.verdict else ""
        verdict = fold(text)
        missing = [g for g in case.verdict_must_include if not any(fold(p) in verdict for p in g)]
        m["verdict"] = 0.0 if missing or not verdict.strip() else 1.0
        if not verdict.strip():
            out.verdict_misses.append("no verdict" + (" (refused)" if answer.refused else ""))
        elif missing:
            shown = [g[0] if len(g) == 1 else " | ".join(g) for g in missing]
            out.verdict_misses.append(f"verdict lacks {shown}: {text!r}")
    else:
        m["verdict"] = None

    if case.max_bullets is not None:
        over = out.bullets > case.max_bullets
        m["bullet_cap"] = 0.0 if over else 1.0
        if over:
            out.reasons.append(f"{out.bullets} bullets, more than max_bullets {case.max_bullets}")
    else:
        m["bullet_cap"] = None

    if case.expect_not_given:
        ok = answer.refused or NOT_GIVEN_FLAG in answer.flags
        m["not_given"] = 1.0 if ok else 0.0
        if not ok:
            out.reasons.append(
                f"expected a refusal or the {NOT_GIVEN_FLAG!r} flag; answer flags "
                f"{sorted(answer.flags)}"
            )
    else:
        m["not_given"] = None

    for c in answer.claims:
        if is_fragment(c.text):
            out.reasons.append(f"list fragment shown: {c.text!r}")
    _reference_checks(case, answer, fold, out.reasons)
    return out


def _reference_checks(
    case: Case, answer: Answer, fold: Callable[[str], str], reasons: list[str]
) -> None:
    refs = fold(
        " ".join(f"{r.title} {r.publisher} {r.year or ''} {r.section}" for r in answer.references)
    )
    if answer.references:
        missing = [g for g in case.references_must_include if not any(fold(p) in refs for p in g)]
        if missing:
            reasons.append(f"references lack {[' | '.join(g) for g in missing]}")
    present = [p for g in case.references_must_not_include for p in g if fold(p) in refs]
    if present:
        reasons.append(f"references show {present}")


def bullet_stats(counts: Sequence[int]) -> dict[str, Any]:
    """Bullets per answered case: mean, median, max and how many answers had each count."""
    if not counts:
        return {"answers": 0, "mean": None, "median": None, "max": None, "histogram": {}}
    hist: dict[str, int] = {}
    for n in sorted(counts):
        hist[str(n)] = hist.get(str(n), 0) + 1
    return {
        "answers": len(counts),
        "mean": round(sum(counts) / len(counts), 3),
        "median": float(median(counts)),
        "max": max(counts),
        "histogram": hist,
    }
