"""Per-case and per-suite metrics of answers, suite thresholds, and regressions against a baseline.

Pure functions of `Answer` objects: the support judge is passed in (`JointSupport`), so unit tests
use a fake and the runner binds the project's one scorer, `citeline.citations.support`.

Citation recall and precision follow ALCE (Gao et al. 2023, https://arxiv.org/abs/2305.14627):
a claim is supported when the concatenation of its cited passages supports it; a citation is
precise when the claim is supported and the citation is needed, i.e. it supports the claim alone,
or the other citations without it no longer do.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from citeline.text import normalize
from citeline.types import Answer, Claim
from eval.answer_checks import check_answer
from eval.suites import Case

JointSupport = Callable[[str, Sequence[int]], float]
"""Support (0..1) of a claim by the concatenation of the answer's references numbered `ns`."""

# Flags that send a user somewhere else: raising one where none was expected is an error,
# not a harmless extra.
ALARM_FLAGS = ("crisis", "red_flag")


@dataclass(frozen=True)
class Metric:
    name: str
    higher_is_better: bool
    doc: str
    # Latency depends on the machine and its load: reported, never a regression.
    gates_regression: bool = True

    @property
    def threshold_name(self) -> str:
        return f"{self.name}_{'min' if self.higher_is_better else 'max'}"


METRICS: tuple[Metric, ...] = (
    Metric("doc_recall_at_k", True, "an expected document is among the references (mean)"),
    Metric("mrr", True, "1 / rank of the first expected document in reference order"),
    Metric("citation_recall", True, "ALCE: claims supported by their joint citations"),
    Metric("citation_precision", True, "ALCE: citations that are needed"),
    Metric("uncited_sentence_rate", False, "shown claims without any citation (all claims)"),
    Metric("fact_coverage", True, "must_include phrases found in verdict + bullets"),
    Metric("forbidden_claim_rate", False, "must_not_include phrases found in verdict + bullets"),
    Metric("refusal_precision", True, "refused answers that were expected to be refused"),
    Metric("refusal_recall", True, "expected refusals that were refused"),
    Metric("false_refusal_rate", False, "answerable questions that were refused"),
    Metric("flag_accuracy", True, "expected flags raised and no unexpected crisis/red_flag"),
    Metric("disclaimer_rate", True, "answers carrying the disclaimer"),
    Metric("pass_rate", True, "cases with no failure reason"),
    Metric("verdict_rate", True, "verdicts holding every verdict_must_include group"),
    Metric("bullet_cap_rate", True, "answers within their case's max_bullets"),
    Metric("not_given_rate", True, "missing-property cases refused or flagged not_given"),
    Metric("latency_p50_ms", False, "median answer time (timings_ms.total)", False),
    Metric("latency_p95_ms", False, "95th percentile answer time", False),
)
METRIC_BY_NAME = {m.name: m for m in METRICS}
THRESHOLD_NAMES = tuple(m.threshold_name for m in METRICS)


@dataclass
class CaseResult:
    case: Case
    answer: dict[str, Any] | None
    metrics: dict[str, float | None] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)
    refused: bool = False
    latency_ms: float | None = None
    error: str = ""
    # The verdict checks that failed: reported apart, gated by verdict_rate (not `passed`).
    verdict_misses: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.reasons and not self.error

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.case.id,
            "question": self.case.question,
            "expected": self.case.to_dict(),
            "answer": self.answer,
            "metrics": self.metrics,
            "counts": self.counts,
            "passed": self.passed,
            "reasons": self.reasons,
            "verdict_misses": self.verdict_misses,
            "error": self.error,
        }


@dataclass(frozen=True)
class ThresholdCheck:
    name: str
    metric: str
    bound: float
    value: float | None
    passed: bool
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "metric": self.metric,
            "bound": self.bound,
            "value": self.value,
            "passed": self.passed,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Delta:
    suite: str
    metric: str
    baseline: float | None
    current: float | None
    regressed: bool

    @property
    def change(self) -> float | None:
        if self.baseline is None or self.current is None:
            return None
        return self.current - self.baseline


def fold(text: str) -> str:
    """Case- and typography-insensitive form for phrase checks (dashes, quotes, spaces)."""
    text = normalize(text).lower()
    text = re.sub(r"[\u2010-\u2015\u2212]", "-", text)
    return (
        text.replace("\u2018", "'")
        .replace("\u2019", "'")
        .replace("\u201c", '"')
        .replace("\u201d", '"')
    )


def claim_citations(
    claim: Claim, valid: set[int], support: JointSupport, threshold: float
) -> tuple[bool, list[bool], float]:
    """ALCE for one claim: (supported by the joint citations, needed flag per citation, joint
    support). A citation of a reference that does not exist is never needed."""
    cites = list(dict.fromkeys(claim.citations))
    if not cites:
        return False, [], 0.0
    real = [n for n in cites if n in valid]
    joint = support(claim.text, real) if real else 0.0
    if joint < threshold:
        # An unsupported claim makes all its citations imprecise (ALCE).
        return False, [False] * len(cites), joint
    needed: list[bool] = []
    for n in cites:
        if n not in valid:
            needed.append(False)
        elif len(real) == 1 or support(claim.text, [n]) >= threshold:
            needed.append(True)
        else:
            rest = [m for m in real if m != n]
            needed.append(support(claim.text, rest) < threshold)
    return True, needed, joint


def _refusal_and_flags(case: Case, answer: Answer, reasons: list[str]) -> float:
    """Refusal mismatches and flag errors go to `reasons`; returns the flag accuracy."""
    if case.expect_refusal and not answer.refused:
        reasons.append("expected a refusal, got an answer")
    # For a missing property a refusal is as right as a "not given" answer.
    if not case.expect_refusal and not case.expect_not_given and answer.refused:
        reasons.append(f"refused though answerable: {answer.refusal_reason}")
    flags = set(answer.flags)
    missing_flags = [f for f in case.expect_flags if f not in flags]
    alarms = [f for f in ALARM_FLAGS if f in flags and f not in case.expect_flags]
    if missing_flags:
        reasons.append(f"missing flag(s) {missing_flags}; answer flags {sorted(flags)}")
    if alarms:
        reasons.append(f"unexpected flag(s) {alarms}")
    return 0.0 if missing_flags or alarms else 1.0


def score_case(case: Case, answer: Answer, support: JointSupport, threshold: float) -> CaseResult:
    """Metric values of one answer against its case, and every reason it fails."""
    res = CaseResult(case, answer.to_dict(), refused=answer.refused)
    res.latency_ms = answer.timings_ms.get("total")
    reasons = res.reasons
    m = res.metrics

    m["flag_accuracy"] = _refusal_and_flags(case, answer, reasons)
    checks = check_answer(case, answer, fold)
    m.update(checks.metrics)
    reasons += checks.reasons
    res.verdict_misses = checks.verdict_misses

    m["disclaimer"] = 1.0 if answer.disclaimer.strip() else 0.0
    if not m["disclaimer"]:
        reasons.append("no disclaimer")

    claims = answer.claims
    valid = {r.n for r in answer.references}
    uncited = [c for c in claims if not c.citations]
    supported = total_cites = needed_cites = 0
    for c in claims:
        for n in c.citations:
            if n not in valid:
                reasons.append(f"cites [{n}], which is not in the references: {c.text!r}")
        ok, needed, joint = claim_citations(c, valid, support, threshold)
        supported += ok
        total_cites += len(needed)
        needed_cites += sum(needed)
        if c.citations and not ok:
            reasons.append(
                f"not supported by its citations {c.citations} "
                f"(support {joint:.2f} < {threshold:.2f}): {c.text!r}"
            )
        for n, need in zip(c.citations, needed, strict=True):
            if ok and not need and n in valid:
                reasons.append(f"citation [{n}] is not needed: {c.text!r}")
    for c in uncited:
        reasons.append(f"uncited sentence: {c.text!r}")
    res.counts = {
        "claims": len(claims),
        "uncited": len(uncited),
        "supported": supported,
        "citations": total_cites,
        "needed_citations": needed_cites,
        "bullets": checks.bullets,
    }
    m["citation_recall"] = supported / len(claims) if claims else None
    # ALCE: an answer with claims but no citation at all has precision 0.
    m["citation_precision"] = (
        (needed_cites / total_cites if total_cites else 0.0) if claims else None
    )
    m["uncited_sentence_rate"] = len(uncited) / len(claims) if claims else None

    shown = fold(" ".join(c.text for c in claims))
    found = [p for p in case.must_include if fold(p) in shown]
    present = [p for p in case.must_not_include if fold(p) in shown]
    m["fact_coverage"] = len(found) / len(case.must_include) if case.must_include else None
    m["forbidden_claim_rate"] = (
        len(present) / len(case.must_not_include) if case.must_not_include else None
    )
    if present:
        reasons.append(f"forbidden phrase(s) present: {present}")

    docs = [r.doc_id for r in sorted(answer.references, key=lambda r: r.n)]
    rank = next((i for i, d in enumerate(docs, start=1) if d in case.expect_docs), None)
    m["doc_recall_at_k"] = (1.0 if rank else 0.0) if case.expect_docs else None
    m["mrr"] = (1.0 / rank if rank else 0.0) if case.expect_docs else None

    # When the answer was refused the refusal reason already explains missing facts and docs.
    if not answer.refused:
        missing = [p for p in case.must_include if p not in found]
        if missing:
            reasons.append(f"missing phrase(s): {missing}")
        if case.expect_docs and not rank:
            reasons.append(
                f"no expected document among the references (expected {list(case.expect_docs)}, "
                f"got {list(dict.fromkeys(docs))})"
            )
    return res


def error_case(case: Case, error: str) -> CaseResult:
    """A case whose answer raised: no metrics, and it fails the suite."""
    return CaseResult(
        case, None, reasons=[f"exception: {error.splitlines()[-1][:300]}"], error=error
    )


def _mean(values: Sequence[float | None]) -> float | None:
    xs = [v for v in values if v is not None]
    return sum(xs) / len(xs) if xs else None


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


def summarize(results: Sequence[CaseResult]) -> dict[str, float | None]:
    """Suite metrics: means over the cases a metric applies to; rates over their populations."""
    ok = [r for r in results if not r.error]
    refusal_ok = [r.case.expect_refusal or r.case.expect_not_given for r in ok]
    refused_expected = sum(r.refused and r.case.expect_refusal for r in ok)
    latencies = [r.latency_ms for r in ok if r.latency_ms is not None]
    claims = sum(r.counts.get("claims", 0) for r in ok)
    out: dict[str, float | None] = {
        name: _mean([r.metrics.get(name) for r in ok])
        for name in (
            "doc_recall_at_k",
            "mrr",
            "citation_recall",
            "citation_precision",
            "fact_coverage",
            "forbidden_claim_rate",
            "flag_accuracy",
        )
    }
    out["uncited_sentence_rate"] = _ratio(sum(r.counts.get("uncited", 0) for r in ok), claims)
    # A refused missing-property case is a right refusal; it is not an answerable case.
    out["refusal_precision"] = _ratio(
        sum(r.refused and accepted for r, accepted in zip(ok, refusal_ok, strict=True)),
        sum(r.refused for r in ok),
    )
    out["refusal_recall"] = _ratio(refused_expected, sum(r.case.expect_refusal for r in ok))
    out["false_refusal_rate"] = _ratio(
        sum(r.refused and not accepted for r, accepted in zip(ok, refusal_ok, strict=True)),
        sum(not accepted for accepted in refusal_ok),
    )
    for rate, per_case in (
        ("verdict_rate", "verdict"),
        ("bullet_cap_rate", "bullet_cap"),
        ("not_given_rate", "not_given"),
    ):
        out[rate] = _mean([r.metrics.get(per_case) for r in ok])
    out["disclaimer_rate"] = _mean([r.metrics.get("disclaimer") for r in ok])
    out["pass_rate"] = _ratio(sum(r.passed for r in results), len(results))
    out["latency_p50_ms"] = float(np.percentile(latencies, 50)) if latencies else None
    out["latency_p95_ms"] = float(np.percentile(latencies, 95)) if latencies else None
    return {m.name: out[m.name] for m in METRICS}


def check_thresholds(
    metrics: Mapping[str, float | None], thresholds: Mapping[str, float]
) -> list[ThresholdCheck]:
    """One check per threshold; a metric with no applicable case fails (a gate that cannot be
    measured must not pass silently)."""
    by_threshold = {m.threshold_name: m for m in METRICS}
    checks: list[ThresholdCheck] = []
    for name, bound in thresholds.items():
        metric = by_threshold[name]
        value = metrics.get(metric.name)
        if value is None or math.isnan(value):
            checks.append(
                ThresholdCheck(name, metric.name, bound, None, False, "no applicable case")
            )
            continue
        ok = value >= bound if metric.higher_is_better else value <= bound
        sign = ">=" if metric.higher_is_better else "<="
        reason = "" if ok else f"{metric.name} = {value:.4g}, needs {sign} {bound:g}"
        checks.append(ThresholdCheck(name, metric.name, bound, value, ok, reason))
    return checks


def compare(
    current: Mapping[str, Mapping[str, float | None]],
    baseline: Mapping[str, Mapping[str, float | None]],
    tolerance: float,
) -> list[Delta]:
    """Per suite and metric present in both runs: the change, and whether it is a regression
    (worse by more than `tolerance`, or no longer measurable)."""
    deltas: list[Delta] = []
    for suite, metrics in current.items():
        base = baseline.get(suite)
        if base is None:
            continue
        for metric in METRICS:
            b, c = base.get(metric.name), metrics.get(metric.name)
            if b is None and c is None:
                continue
            if b is None or c is None:
                regressed = metric.gates_regression and c is None
            else:
                worse = (b - c) if metric.higher_is_better else (c - b)
                regressed = metric.gates_regression and worse > tolerance + 1e-12
            deltas.append(Delta(suite, metric.name, b, c, regressed))
    return deltas
