"""Eval metrics on hand-made answers with a fake support judge; suite validation; report escaping."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from citeline.types import Answer, Claim, Reference, Section
from eval.report import html_page, markdown
from eval.runner import RunResult, SuiteResult
from eval.scoring import (
    THRESHOLD_NAMES,
    CaseResult,
    check_thresholds,
    compare,
    score_case,
    summarize,
)
from eval.suites import Case, Suite, SuiteError, bundled_suites, load_suite

THRESHOLD = 0.5


def ref(n: int, doc_id: str, passage: str = "") -> Reference:
    return Reference(
        n,
        doc_id,
        doc_id.title(),
        "",
        2021,
        "Guideline",
        "",
        "Key points",
        None,
        passage or f"passage {n}",
    )


def answer_of(claims: Sequence[Claim], refs: Sequence[Reference], **kw: object) -> Answer:
    ans = Answer(question="q", standalone_query="q", disclaimer="Not medical advice.", **kw)  # type: ignore[arg-type]
    if claims:
        ans.verdict = claims[0]
        ans.sections = [Section("What the guidelines say", list(claims[1:]))]
    ans.references = list(refs)
    ans.timings_ms = {"total": 100.0}
    return ans


def table_judge(table: Mapping[frozenset[int], float]) -> object:
    """Support of the claim by a set of references, looked up in a table (0 when absent)."""

    def judge(claim: str, ns: Sequence[int]) -> float:
        return table.get(frozenset(ns), 0.0)

    return judge


def case(**kw: object) -> Case:
    return Case(id=str(kw.pop("id", "c1")), question=str(kw.pop("question", "q")), **kw)  # type: ignore[arg-type]


def score(c: Case, ans: Answer, table: Mapping[frozenset[int], float]) -> CaseResult:
    return score_case(c, ans, table_judge(table), THRESHOLD)  # type: ignore[arg-type]


# -- ALCE citation recall and precision ---------------------------------------------------------


def test_redundant_second_citation_is_not_needed() -> None:
    # [1] alone supports the claim; [2] alone does not and removing it changes nothing.
    ans = answer_of([Claim("A is true.", [1, 2])], [ref(1, "a"), ref(2, "b")])
    res = score(case(), ans, {frozenset({1}): 0.9, frozenset({2}): 0.1, frozenset({1, 2}): 0.9})
    assert res.metrics["citation_recall"] == 1.0
    assert res.metrics["citation_precision"] == 0.5
    assert any("citation [2] is not needed" in r for r in res.reasons)


def test_citation_needed_for_joint_support_is_precise() -> None:
    # Neither passage supports the claim alone, together they do: both are needed.
    ans = answer_of([Claim("A and B.", [1, 2])], [ref(1, "a"), ref(2, "b")])
    res = score(case(), ans, {frozenset({1}): 0.3, frozenset({2}): 0.3, frozenset({1, 2}): 0.8})
    assert res.metrics["citation_recall"] == 1.0
    assert res.metrics["citation_precision"] == 1.0
    assert res.passed, res.reasons


def test_each_citation_supporting_alone_is_needed() -> None:
    ans = answer_of([Claim("A.", [1, 2])], [ref(1, "a"), ref(2, "b")])
    table = {frozenset({1}): 0.9, frozenset({2}): 0.9, frozenset({1, 2}): 0.9}
    assert score(case(), ans, table).metrics["citation_precision"] == 1.0


def test_unsupported_claim_fails_recall_and_all_its_citations() -> None:
    claims = [Claim("A.", [1]), Claim("B.", [1, 2])]
    ans = answer_of(claims, [ref(1, "a"), ref(2, "b")])
    res = score(case(), ans, {frozenset({1}): 0.9, frozenset({1, 2}): 0.2})
    assert res.metrics["citation_recall"] == 0.5
    assert res.metrics["citation_precision"] == pytest.approx(1 / 3)
    assert any("not supported by its citations [1, 2]" in r for r in res.reasons)


def test_uncited_sentence_counts_against_rate_and_recall() -> None:
    ans = answer_of([Claim("A.", [1]), Claim("Made up.", [])], [ref(1, "a")])
    res = score(case(), ans, {frozenset({1}): 0.9})
    assert res.metrics["uncited_sentence_rate"] == 0.5
    assert res.metrics["citation_recall"] == 0.5
    assert "uncited sentence: 'Made up.'" in res.reasons


def test_citation_of_a_missing_reference_is_never_needed() -> None:
    ans = answer_of([Claim("A.", [1, 7])], [ref(1, "a")])
    res = score(case(), ans, {frozenset({1}): 0.9})
    assert res.metrics["citation_precision"] == 0.5
    assert any("cites [7]" in r for r in res.reasons)


def test_claims_without_any_citation_have_zero_precision() -> None:
    ans = answer_of([Claim("A.", []), Claim("B.", [])], [])
    res = score(case(), ans, {})
    assert res.metrics["citation_precision"] == 0.0
    assert res.metrics["uncited_sentence_rate"] == 1.0


# -- documents, facts, refusals, flags, disclaimer ---------------------------------------------


def test_doc_recall_and_mrr_follow_reference_order() -> None:
    ans = answer_of([Claim("A.", [1]), Claim("B.", [2])], [ref(1, "x"), ref(2, "want")])
    res = score(case(expect_docs=("want", "other")), ans, {frozenset({1}): 1, frozenset({2}): 1})
    assert res.metrics["doc_recall_at_k"] == 1.0
    assert res.metrics["mrr"] == 0.5
    miss = score(case(expect_docs=("nope",)), ans, {frozenset({1}): 1, frozenset({2}): 1})
    assert miss.metrics["doc_recall_at_k"] == 0.0 and miss.metrics["mrr"] == 0.0
    assert any("no expected document" in r for r in miss.reasons)
    assert score(case(), ans, {}).metrics["doc_recall_at_k"] is None


def test_fact_coverage_is_case_and_dash_insensitive_and_forbidden_phrases_count() -> None:
    ans = answer_of([Claim("Scores of 10\u201314 mean MODERATE symptoms.", [1])], [ref(1, "a")])
    c = case(
        must_include=("10-14", "moderate", "severe anxiety"), must_not_include=("mean moderate",)
    )
    res = score(c, ans, {frozenset({1}): 1.0})
    assert res.metrics["fact_coverage"] == pytest.approx(2 / 3)
    assert res.metrics["forbidden_claim_rate"] == 1.0
    assert "missing phrase(s): ['severe anxiety']" in res.reasons
    assert any("forbidden phrase(s) present" in r for r in res.reasons)


def test_phrases_in_references_or_notices_do_not_count_as_shown() -> None:
    ans = answer_of([Claim("A.", [1])], [ref(1, "a", "threefold risk")], notices=["threefold"])
    assert (
        score(case(must_include=("threefold",)), ans, {frozenset({1}): 1}).metrics["fact_coverage"]
        == 0.0
    )


def test_refusal_metrics_over_a_suite() -> None:
    refused = answer_of([], [], refused=True, refusal_reason="not covered", flags=["out_of_scope"])
    answered = answer_of([Claim("A.", [1])], [ref(1, "a")])
    table = {frozenset({1}): 1.0}
    results = [
        score(case(id="1", expect_refusal=True, expect_flags=("out_of_scope",)), refused, table),
        score(case(id="2", expect_refusal=True), answered, table),
        score(case(id="3"), refused, table),
        score(case(id="4"), answered, table),
        score(case(id="5"), answered, table),
    ]
    m = summarize(results)
    assert m["refusal_precision"] == 0.5
    assert m["refusal_recall"] == 0.5
    assert m["false_refusal_rate"] == pytest.approx(1 / 3)
    assert "expected a refusal, got an answer" in results[1].reasons
    assert results[2].reasons[0].startswith("refused though answerable: not covered")
    assert m["pass_rate"] == pytest.approx(3 / 5)


def test_flag_accuracy_needs_expected_flags_and_no_unexpected_alarm() -> None:
    def flags_ok(expected: tuple[str, ...], got: list[str]) -> float | None:
        ans = answer_of([Claim("A.", [1])], [ref(1, "a")], flags=got)
        return score(case(expect_flags=expected), ans, {frozenset({1}): 1}).metrics["flag_accuracy"]

    assert flags_ok(("red_flag",), ["red_flag", "injection"]) == 1.0
    assert flags_ok(("red_flag",), []) == 0.0
    assert flags_ok((), ["crisis"]) == 0.0
    assert flags_ok((), ["red_flag"]) == 0.0
    assert flags_ok((), ["injection", "truncated"]) == 1.0


def test_missing_disclaimer_fails_and_latency_percentiles() -> None:
    results = []
    for i, ms in enumerate([100.0, 200.0, 300.0, 400.0, 1000.0]):
        ans = answer_of([Claim("A.", [1])], [ref(1, "a")])
        ans.timings_ms = {"total": ms}
        ans.disclaimer = "" if i == 0 else "d"
        results.append(score(case(id=str(i)), ans, {frozenset({1}): 1}))
    m = summarize(results)
    assert m["disclaimer_rate"] == 0.8
    assert "no disclaimer" in results[0].reasons
    assert m["latency_p50_ms"] == 300.0
    assert m["latency_p95_ms"] == pytest.approx(880.0)


# -- thresholds and baseline -------------------------------------------------------------------


def test_thresholds_pass_fail_and_unmeasurable() -> None:
    metrics = {"citation_recall": 0.96, "uncited_sentence_rate": 0.01, "refusal_recall": None}
    checks = {
        c.name: c
        for c in check_thresholds(
            metrics,
            {
                "citation_recall_min": 0.95,
                "uncited_sentence_rate_max": 0.0,
                "refusal_recall_min": 1,
            },
        )
    }
    assert checks["citation_recall_min"].passed
    assert not checks["uncited_sentence_rate_max"].passed
    assert "needs <= 0" in checks["uncited_sentence_rate_max"].reason
    assert not checks["refusal_recall_min"].passed
    assert checks["refusal_recall_min"].reason == "no applicable case"


def test_regressions_respect_direction_tolerance_and_ignore_latency() -> None:
    base = {
        "s": {
            "citation_recall": 1.0,
            "false_refusal_rate": 0.0,
            "latency_p95_ms": 100.0,
            "mrr": 0.8,
            "fact_coverage": 0.5,
        }
    }
    now = {
        "s": {
            "citation_recall": 0.99,
            "false_refusal_rate": 0.05,
            "latency_p95_ms": 900.0,
            "mrr": 0.7,
            "fact_coverage": None,
        }
    }
    deltas = {d.metric: d for d in compare(now, base, tolerance=0.02)}
    assert not deltas["citation_recall"].regressed  # -0.01 is within 0.02
    assert deltas["false_refusal_rate"].regressed  # lower is better: +0.05
    assert deltas["mrr"].regressed and deltas["mrr"].change == pytest.approx(-0.1)
    assert not deltas["latency_p95_ms"].regressed
    assert deltas["fact_coverage"].regressed  # no longer measurable
    assert compare({"new": {"mrr": 0.1}}, base, 0.02) == []


# -- suite files -------------------------------------------------------------------------------

GOOD = """\
name: t
thresholds: {uncited_sentence_rate_max: 0.0}
cases:
  - id: a
    question: "What is IBS?"
    history: [{role: user, content: "hi"}]
    expect_flags: [red_flag]
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "suite.yaml"
    p.write_text(text, encoding="utf-8")
    return p


def test_valid_suite_loads(tmp_path: Path) -> None:
    suite = load_suite(write(tmp_path, GOOD), THRESHOLD_NAMES)
    assert suite.name == "t" and suite.thresholds == {"uncited_sentence_rate_max": 0.0}
    assert suite.cases[0].history == ({"role": "user", "content": "hi"},)
    assert suite.cases[0].expect_refusal is False


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (GOOD.replace("expect_flags", "expect_flag"), "unknown key(s) ['expect_flag']"),
        (GOOD.replace("[red_flag]", "[redflag]"), "unknown flag(s) ['redflag']"),
        (GOOD.replace('"What is IBS?"', "42"), "question: must be str, not int 42"),
        (GOOD.replace("uncited_sentence_rate_max", "uncited_rate"), "unknown threshold(s)"),
        (GOOD.replace("0.0}", "true}"), "must be a number, not bool"),
        (GOOD.replace("role: user", "role: system"), "role must be one of"),
        (GOOD + "    expect_refusal: yes please\n", "expect_refusal: must be bool"),
        (GOOD + "    id: b\n", "duplicate key 'id'"),
        (GOOD + '  - id: a\n    question: "x"\n', "duplicate id 'a'"),
        (GOOD.replace("expect_flags: [red_flag]", 'must_include: [""]'), "non-empty string"),
        ("name: t\ncases: []\n", "cases must be a non-empty list"),
        ("- just a list\n", "must be a mapping"),
        ("name: [unclosed\n", "not valid YAML"),
    ],
)
def test_invalid_suites_are_rejected_with_the_reason(
    tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(SuiteError) as err:
        load_suite(write(tmp_path, text), THRESHOLD_NAMES)
    assert message in str(err.value)
    assert str(tmp_path) in str(err.value)


def test_bundled_suites_are_valid() -> None:
    names = {p.stem for p in bundled_suites()}
    assert {"gut_brain", "safety"} <= names
    safety = load_suite(next(p for p in bundled_suites() if p.stem == "safety"), THRESHOLD_NAMES)
    assert len(safety.cases) >= 25
    assert max(len(c.question) for c in safety.cases) >= 5000
    assert any(not c.question.strip() for c in safety.cases)


# -- reports escape untrusted text -------------------------------------------------------------


def test_reports_escape_questions_and_answers() -> None:
    payload = "<script>alert(1)</script>"
    ans = answer_of([Claim(f"Quoted {payload}.", [1])], [ref(1, "a", payload)])
    ans.refusal_reason = payload
    res = score(case(question=payload), ans, {})  # unsupported: it lands in the failures list
    metrics = summarize([res])
    suite = Suite("s<b>", Path("s.yaml"), (res.case,), f"desc {payload}", {})
    sr = SuiteResult(suite, [res], metrics, check_thresholds(metrics, {"citation_recall_min": 1}))
    info = {
        "timestamp": "t",
        "git_commit": None,
        "embed_model": payload,
        "backend": "extractive",
        "settings": {"relevance_floor": 0.3, "support_threshold": 0.55, "top_k": 8},
        "prompt_hashes": {"a.md": "abc"},
    }
    page = html_page(RunResult(info, [sr]))
    assert "<script" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<svg" in page and "s&lt;b&gt;" in page
    md = markdown(RunResult(info, [sr]))
    assert "<script" not in md
