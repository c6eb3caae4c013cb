"""Verdict-level checks of the eval (verdict_must_include, max_bullets, expect_not_given), their
suite metrics and thresholds, bullet counts in the reports, and how the suite format validates
them. Hand-made answers, a fake support judge: no index, no model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from citeline.types import Answer, Claim, Reference, Section
from eval.answer_checks import bullet_stats, is_fragment
from eval.report import markdown, write_reports
from eval.runner import RunResult, SuiteResult
from eval.scoring import THRESHOLD_NAMES, CaseResult, check_thresholds, score_case, summarize
from eval.suites import Case, Suite, SuiteError, bundled_suites, load_suite

SUPPORTED = 0.9


def judge(claim: str, ns: object) -> float:
    return SUPPORTED  # every claim is supported: these tests are about the verdict checks


def answer(verdict: str | None, bullets: int = 0, **kw: object) -> Answer:
    ans = Answer(question="q", standalone_query="q", disclaimer="Not medical advice.", **kw)  # type: ignore[arg-type]
    if verdict is not None:
        ans.verdict = Claim(verdict, [1])
    if bullets:
        ans.sections = [
            Section("Recommended", [Claim(f"Bullet {i}.", [1]) for i in range(min(2, bullets))]),
            Section("Evidence", [Claim(f"Bullet {i}.", [1]) for i in range(2, bullets)]),
        ]
    ans.references = [
        Reference(1, "doc", "Doc", "", 2021, "Guideline", "", "Key points", None, "p")
    ]
    ans.timings_ms = {"total": 50.0}
    return ans


def refused(**kw: object) -> Answer:
    ans = answer(None, refused=True, refusal_reason="not covered", **kw)
    ans.references = []
    return ans


def case(**kw: object) -> Case:
    """A case; `verdict_must_include` as in YAML: phrases or tuples of alternatives."""
    groups = kw.pop("verdict_must_include", ())
    vmi = tuple((g,) if isinstance(g, str) else tuple(g) for g in groups)  # type: ignore[attr-defined]
    return Case(id=str(kw.pop("id", "c1")), question="q", verdict_must_include=vmi, **kw)  # type: ignore[arg-type]


# references_must_include and friends take groups already: ((phrase, alternative), (phrase,))


def score(c: Case, ans: Answer) -> CaseResult:
    return score_case(c, ans, judge, 0.5)


# -- verdict_must_include -----------------------------------------------------------------------


def test_every_group_must_be_in_the_verdict_any_of_within_a_group() -> None:
    c = case(verdict_must_include=("oxycodone", ("1.5", "one and a half")))
    ok = score(c, answer("Morphine milligram equivalents: OXYCODONE, conversion factor 1.5."))
    assert ok.metrics["verdict"] == 1.0 and ok.verdict_misses == []
    alt = score(c, answer("Oxycodone counts one and a half times morphine."))
    assert alt.metrics["verdict"] == 1.0
    miss = score(c, answer("Multiply the dose for each opioid by the conversion factor.", 3))
    assert miss.metrics["verdict"] == 0.0
    assert "verdict lacks ['oxycodone', '1.5 | one and a half']" in miss.verdict_misses[0]


def test_the_verdict_check_reads_the_verdict_only_not_the_bullets() -> None:
    ans = answer("Hand hygiene is a core part of Standard Precautions.", 4)
    ans.sections[0].claims[0] = Claim("Perform hand hygiene before touching a patient.", [1])
    res = score(case(verdict_must_include=("before",), must_include=("before",)), ans)
    assert res.metrics["fact_coverage"] == 1.0  # the shown text has it ...
    assert res.metrics["verdict"] == 0.0  # ... the verdict does not


def test_verdict_check_is_case_and_typography_insensitive() -> None:
    c = case(verdict_must_include=("10-14", "doesn't"))
    assert (
        score(c, answer("Scores of 10\u201314 DOESN\u2019T mean severe.")).metrics["verdict"] == 1
    )


def test_a_verdict_miss_is_reported_but_does_not_fail_the_case() -> None:
    res = score(case(verdict_must_include=("week",)), answer("Something else entirely.", 2))
    assert res.passed and res.reasons == []
    assert res.verdict_misses and res.to_dict()["verdict_misses"] == res.verdict_misses


def test_a_refused_or_verdictless_answer_misses_the_verdict() -> None:
    c = case(verdict_must_include=("week",))
    res = score(c, refused())
    assert res.metrics["verdict"] == 0.0 and res.verdict_misses == ["no verdict (refused)"]
    assert score(c, answer(None, 3)).verdict_misses == ["no verdict"]


def test_verdict_rate_is_over_the_cases_with_verdict_checks_and_has_a_threshold() -> None:
    c = case(verdict_must_include=("yes",))
    results = [
        score(case(id="1", verdict_must_include=("yes",)), answer("Yes, it does.")),
        score(case(id="2", verdict_must_include=("yes",)), answer("No.")),
        score(case(id="3", verdict_must_include=("yes",)), answer("Yes.")),
        score(case(id="4"), answer("Anything.")),  # no verdict check: not counted
    ]
    m = summarize(results)
    assert m["verdict_rate"] == pytest.approx(2 / 3)
    assert m["pass_rate"] == 1.0  # verdict misses are gated by verdict_rate, not by passing
    check = check_thresholds(m, {"verdict_rate_min": 0.9})[0]
    assert not check.passed and check.reason == "verdict_rate = 0.6667, needs >= 0.9"
    none = summarize([score(case(), answer("x"))])
    assert none["verdict_rate"] is None
    assert check_thresholds(none, {"verdict_rate_min": 0.9})[0].reason == "no applicable case"
    assert score(c, answer("yes")).metrics["bullet_cap"] is None


# -- max_bullets and bullet counts --------------------------------------------------------------


def test_bullets_over_the_cap_fail_the_case() -> None:
    c = case(max_bullets=3)
    within = score(c, answer("Verdict.", 3))
    assert within.passed and within.metrics["bullet_cap"] == 1.0
    assert within.counts["bullets"] == 3  # the verdict is not a bullet
    over = score(c, answer("Verdict.", 8))
    assert not over.passed and over.metrics["bullet_cap"] == 0.0
    assert "8 bullets, more than max_bullets 3" in over.reasons
    assert score(case(max_bullets=0), answer("Verdict only.")).passed
    m = summarize([within, over, score(case(id="x"), answer("V.", 8))])
    assert m["bullet_cap_rate"] == 0.5


def test_bullet_stats_count_answers_per_bullet_number() -> None:
    assert bullet_stats([8, 2, 8, 1]) == {
        "answers": 4,
        "mean": 4.75,
        "median": 5.0,
        "max": 8,
        "histogram": {"1": 1, "2": 1, "8": 2},
    }
    assert bullet_stats([])["mean"] is None


# -- expect_not_given ---------------------------------------------------------------------------


def test_not_given_holds_when_refused_or_flagged_and_fails_otherwise() -> None:
    c = case(expect_not_given=True)
    by_refusal = score(c, refused(flags=["out_of_scope"]))
    assert by_refusal.passed, by_refusal.reasons  # a refusal is not "refused though answerable"
    assert by_refusal.metrics["not_given"] == 1.0
    flagged = score(c, answer("The indexed guidelines give no dose for linaclotide.", 2,
                              flags=["not_given"]))  # fmt: skip
    assert flagged.passed and flagged.metrics["not_given"] == 1.0
    quoted = score(c, answer("Take 500 mg twice daily.", 8, flags=["unmentioned_terms"]))
    assert not quoted.passed and quoted.metrics["not_given"] == 0.0
    assert quoted.reasons == [
        "expected a refusal or the 'not_given' flag; answer flags ['unmentioned_terms']"
    ]


def test_not_given_cases_are_neither_false_refusals_nor_wrong_refusals() -> None:
    results = [
        score(case(id="1", expect_not_given=True), refused()),
        score(case(id="2", expect_not_given=True), answer("V.", flags=["not_given"])),
        score(case(id="3", expect_not_given=True), answer("V.")),
        score(case(id="4"), refused()),  # the one false refusal
        score(case(id="5"), answer("V.")),
        score(case(id="6", expect_refusal=True), refused()),
    ]
    m = summarize(results)
    assert m["not_given_rate"] == pytest.approx(2 / 3)
    assert m["false_refusal_rate"] == 0.5  # cases 4 and 5 are the answerable ones
    assert m["refusal_precision"] == pytest.approx(2 / 3)  # 1 and 6 right, 4 wrong
    assert m["refusal_recall"] == 1.0  # only expect_refusal cases count here


# -- reports ------------------------------------------------------------------------------------


def test_reports_record_bullets_per_answer_and_the_overall_verdict_rate(tmp_path: Path) -> None:
    results = [
        score(case(id="a", verdict_must_include=("yes",), max_bullets=2), answer("Yes.", 2)),
        score(case(id="b", verdict_must_include=("yes",)), answer("No.", 8)),
        score(case(id="c", expect_refusal=True), refused()),
    ]
    metrics = summarize(results)
    suite = Suite("s", Path("s.yaml"), tuple(r.case for r in results), "", {})
    sr = SuiteResult(suite, results, metrics, check_thresholds(metrics, {"verdict_rate_min": 0.9}))
    other = [score(case(id="d", verdict_must_include=("ok",)), answer("OK then.", 1))]
    m2 = summarize(other)
    sr2 = SuiteResult(Suite("t", Path("t.yaml"), (other[0].case,)), other, m2, [])
    info = {
        "timestamp": "t",
        "git_commit": None,
        "embed_model": "m",
        "backend": "extractive",
        "settings": {"relevance_floor": 0.3, "support_threshold": 0.55, "top_k": 8},
        "prompt_hashes": {},
    }
    run = RunResult(info, [sr, sr2])
    paths = write_reports(run, tmp_path)
    data = json.loads(paths["json"].read_text(encoding="utf-8"))
    assert data["overall"]["verdict_cases"] == 3 and data["overall"]["verdict_passed"] == 2
    assert data["overall"]["verdict_rate"] == pytest.approx(2 / 3)
    assert data["overall"]["bullets"]["histogram"] == {"1": 1, "2": 1, "8": 1}  # refusal left out
    s = data["suites"]["s"]
    assert [c["counts"]["bullets"] for c in s["cases"]] == [2, 8, 0]
    assert s["bullets"]["answers"] == 2 and s["bullets"]["mean"] == 5.0
    assert s["metrics"]["verdict_rate"] == 0.5
    assert s["cases"][0]["expected"]["max_bullets"] == 2
    md = markdown(run)
    assert "verdict checks 2/3 (0.667)" in md
    assert "| a |  | 2 | 2 | ok | yes |" in md and "| b |  | 8 |  | MISS | yes |" in md
    assert "| c | yes | 0 |  |  | yes |" in md
    assert "| verdict_rate | 0.500 | ≥ 0.9 | FAIL |" in md
    assert "verdict lacks ['yes']: 'No.'" in md
    assert "Bullets per answer:" in paths["html"].read_text(encoding="utf-8")


# -- suite format -------------------------------------------------------------------------------

CASE = """\
name: t
thresholds: {verdict_rate_min: 0.9, not_given_rate_min: 1.0, bullet_cap_rate_min: 1.0}
cases:
  - id: a
    question: "What is the conversion factor for oxycodone?"
"""


def write(tmp_path: Path, extra: str) -> Path:
    p = tmp_path / "suite.yaml"
    p.write_text(CASE + extra, encoding="utf-8")
    return p


def test_verdict_keys_load(tmp_path: Path) -> None:
    extra = (
        '    verdict_must_include: ["oxycodone", ["1.5", "one and a half"]]\n    max_bullets: 3\n'
    )
    c = load_suite(write(tmp_path, extra), THRESHOLD_NAMES).cases[0]
    assert c.verdict_must_include == (("oxycodone",), ("1.5", "one and a half"))
    assert c.max_bullets == 3 and c.expect_not_given is False
    assert c.to_dict()["verdict_must_include"] == ["oxycodone", ["1.5", "one and a half"]]
    ng = load_suite(write(tmp_path, "    expect_not_given: true\n"), THRESHOLD_NAMES).cases[0]
    assert ng.expect_not_given is True and ng.max_bullets is None


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('    verdict_must_include: "1.5"\n', "verdict_must_include: must be a list"),
        ('    verdict_must_include: [""]\n', "verdict_must_include[0][0]: must be a non-empty"),
        ("    verdict_must_include: [[]]\n", "verdict_must_include[0]: must be a phrase or a"),
        ("    verdict_must_include: [[1.5]]\n", "must be a non-empty string, not 1.5"),
        ("    max_bullets: 2.5\n", "max_bullets: must be int, not float 2.5"),
        ("    max_bullets: true\n", "max_bullets: must be int, not bool True"),
        ("    max_bullets: null\n", "max_bullets: must be int, not null"),
        ("    max_bullets: -1\n", "max_bullets: must be 0 or more"),
        ("    expect_not_given: maybe\n", "expect_not_given: must be bool"),
        (
            "    expect_not_given: true\n    expect_refusal: true\n",
            "expect_not_given already accepts a refusal",
        ),
        (
            '    expect_refusal: true\n    verdict_must_include: ["x"]\n',
            "verdict_must_include cannot hold for an expected refusal",
        ),
        ("    verdict_must_includes: [x]\n", "unknown key(s) ['verdict_must_includes']"),
    ],
)
def test_malformed_verdict_keys_are_rejected(tmp_path: Path, extra: str, message: str) -> None:
    with pytest.raises(SuiteError) as err:
        load_suite(write(tmp_path, extra), THRESHOLD_NAMES)
    assert message in str(err.value) and "(a)" in str(err.value)


def test_bundled_suites_carry_the_verdict_checks_the_issue_asks_for() -> None:
    """Issue 15: verdict checks, bullet caps and not-given cases exist in the bundled suites."""
    suites = [load_suite(p, THRESHOLD_NAMES) for p in bundled_suites()]
    cases = [c for s in suites for c in s.cases]
    assert sum(bool(c.verdict_must_include) for c in cases) >= 60
    assert sum(c.max_bullets is not None for c in cases) >= 10
    assert sum(c.expect_not_given for c in cases) >= 6
    for s in suites:
        if any(c.verdict_must_include for c in s.cases):
            assert s.thresholds.get("verdict_rate_min", 0) >= 0.9, s.name


# -- list fragments and references --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("Key recommendations for hand hygiene in outpatient settings:", True),
        ("Standard Precautions include: 1) hand hygiene,", True),
        ("Key situations where hand hygiene should be performed include: a.", True),
        ("Upon hire, prior to provision of care ii.", True),
        ("4.", True),
        ("(b)", True),
        ("Scores rose from 0 to 6.", False),
        ("It appears at the end of this document as Appendix A.", False),
        ("IBS is diagnosed with Rome IV.", False),
        ("Crohn's disease had higher odds (odds ratio 1.2).", False),
        ("Use soap and water (see note 2).", False),
    ],
)
def test_list_fragments_are_recognised(text: str, fragment: bool) -> None:
    assert is_fragment(text) is fragment


def test_a_shown_fragment_fails_the_case_in_the_verdict_or_a_bullet() -> None:
    ans = answer("Key recommendations for hand hygiene in outpatient settings:", 2)
    ans.sections[0].claims[1] = Claim("Standard Precautions include: 1) hand hygiene,", [1])
    res = score(case(), ans)
    assert [r for r in res.reasons if r.startswith("list fragment shown")] == [
        "list fragment shown: 'Key recommendations for hand hygiene in outpatient settings:'",
        "list fragment shown: 'Standard Precautions include: 1) hand hygiene,'",
    ]
    assert score(case(), answer("Perform hand hygiene before contact with a patient.", 2)).passed


def test_references_must_show_publisher_and_year_and_no_bookmark_sections() -> None:
    c = case(
        references_must_include=(("CDC", "Centers for Disease Control"), ("2016",)),
        references_must_not_include=(("_GoBack",), ("Page 9",)),
    )
    good = answer("Perform hand hygiene before contact with a patient.")
    good.references = [
        Reference(
            1, "cdc", "Guide to Infection Prevention", "Centers for Disease Control and Prevention",
            2016, "Guideline", "", "Hand Hygiene", 9, "p",
        )
    ]  # fmt: skip
    assert score(c, good).passed, score(c, good).reasons
    bad = answer("Perform hand hygiene before contact with a patient.")
    bad.references = [
        Reference(1, "cdc", "Title", "", None, "Guideline", "", "_GoBack", 9, "p"),
        Reference(2, "cdc", "Title", "", None, "Guideline", "", "Page 9", 9, "p"),
    ]
    assert score(c, bad).reasons == [
        "references lack ['CDC | Centers for Disease Control', '2016']",
        "references show ['_GoBack', 'Page 9']",
    ]
    refusal = Case("r", "q", expect_refusal=True, references_must_include=c.references_must_include)
    assert score(refusal, refused()).passed  # a refusal shows no references to judge


def test_the_issue_15_cases_are_there() -> None:
    """At least 15 three-turn chains, 12 missing subjects or properties, 10 patient questions
    and 10 questions on the CDC PDFs, with the two the issue names."""
    suites = {p.stem: load_suite(p, THRESHOLD_NAMES) for p in bundled_suites()}
    cases = [c for s in suites.values() for c in s.cases]
    chains = [c for c in cases if len(c.history) == 4 and c.history[0]["role"] == "user"]
    assert len(chains) >= 15
    missing = suites["not_covered"].cases
    assert len(missing) >= 12 and all(c.expect_refusal or c.expect_not_given for c in missing)
    assert (
        sum(c.expect_not_given for c in missing) >= 6
        and sum(c.must_not_include != () for c in missing) >= 12
    )
    assert sum(c.audience == "patient" for c in suites["patients"].cases) >= 10
    outpatient = suites["cdc_outpatient"]
    assert outpatient.corpus is not None and outpatient.corpus[0].name.startswith("cdc_2016_")
    hygiene = next(
        c for c in outpatient.cases if c.question == "How often should hand hygiene be performed?"
    )
    assert hygiene.verdict_must_include and hygiene.references_must_include
    table = [c for c in suites["cdc_opioids"].cases if c.id >= "op-018"]
    assert len(outpatient.cases) + len(table) >= 10
    oxy = next(c for c in table if "oxycodone" in c.question and "conversion factor" in c.question)
    assert ("1.5",) in oxy.verdict_must_include
