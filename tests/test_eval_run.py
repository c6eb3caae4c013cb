"""The eval gate end to end on a few gut_brain cases: real index, real model, real pipeline."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

import citeline.pipeline
from citeline.citations import DraftSentence
from citeline.types import Claim, RemovedClaim
from eval.run_cli import main
from eval.suites import SUITES_DIR

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# Quick, stable cases: facts, a follow-up, a patient question, and an out-of-scope refusal.
SUBSET = ("gb-002", "gb-023", "gb-042", "gb-058", "gb-068")  # file order
THRESHOLDS = (
    "uncited_sentence_rate_max",
    "citation_precision_min",
    "citation_recall_min",
    "refusal_recall_min",
    "disclaimer_rate_min",
)


@pytest.fixture
def small_suite(tmp_path: Path) -> Path:
    full = yaml.safe_load((SUITES_DIR / "gut_brain.yaml").read_text(encoding="utf-8"))
    data = {
        "name": "gut_brain_subset",
        "description": "five cases of gut_brain.yaml",
        "thresholds": {k: full["thresholds"][k] for k in THRESHOLDS},
        "cases": [c for c in full["cases"] if c["id"] in SUBSET],
    }
    assert len(data["cases"]) == len(SUBSET)
    path = tmp_path / "subset.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def run_gate(suite: Path, home: Path, out: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    rc = main(["run", str(suite), "--home", str(home), "--out", str(out), "--no-progress", *extra])
    return rc, json.loads((out / "report.json").read_text(encoding="utf-8"))


def test_gate_passes_and_writes_the_three_reports(
    small_suite: Path, corpus_home: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    rc, report = run_gate(small_suite, corpus_home, out)
    assert rc == 0, json.dumps(report["suites"], indent=1)[:4000]
    assert (out / "report.md").read_text(encoding="utf-8").startswith("# Eval report: PASS")
    page = (out / "report.html").read_text(encoding="utf-8")
    assert page.startswith("<!doctype html>") and "<svg" in page
    # Self-contained and inert: no scripts, no external resources.
    assert not any(tag in page for tag in ("<script", "<link", "<img", "<iframe"))

    run = report["run"]
    for key in ("git_commit", "settings", "embed_model", "prompt_hashes", "timestamp"):
        assert key in run
    assert run["settings"]["home"] == str(corpus_home.resolve())
    assert "disclaimer.md" in run["prompt_hashes"]
    suite = report["suites"]["gut_brain_subset"]
    assert suite["passed"] is True and suite["errors"] == 0
    assert {t["name"] for t in suite["thresholds"]} == set(THRESHOLDS)
    assert suite["metrics"]["uncited_sentence_rate"] == 0.0
    assert suite["metrics"]["refusal_recall"] == 1.0
    assert [c["id"] for c in suite["cases"]] == list(SUBSET)
    for c in suite["cases"]:
        assert c["question"] and c["answer"]["disclaimer"]
        assert {"metrics", "passed", "reasons"} <= set(c)
        assert c["answer"]["timings_ms"]["total"] > 0

    # The same run against itself as the baseline: no regression.
    rc, again = run_gate(
        small_suite, corpus_home, tmp_path / "again", "--baseline", str(out / "report.json")
    )
    assert rc == 0
    assert again["baseline"]["regressed"] is False


def test_regression_against_the_baseline_fails_the_gate(
    small_suite: Path, corpus_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, report = run_gate(small_suite, corpus_home, tmp_path / "first")
    assert rc == 0
    metrics = report["suites"]["gut_brain_subset"]["metrics"]
    metrics["mrr"] += 0.5  # a doctored baseline the current code cannot match
    baseline = tmp_path / "baseline.json"
    baseline.write_text(json.dumps(report), encoding="utf-8")
    rc, _ = run_gate(small_suite, corpus_home, tmp_path / "second", "--baseline", str(baseline))
    assert rc == 1
    assert "gut_brain_subset.mrr" in capsys.readouterr().out


def test_broken_enforcement_fails_the_gate_on_uncited_sentences(
    small_suite: Path, corpus_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def keep_everything_uncited(
        draft: list[DraftSentence], *args: object, **kwargs: object
    ) -> tuple[list[Claim], list[RemovedClaim]]:
        return [Claim(d.text, [], 0.0, d.kind) for d in draft], []

    monkeypatch.setattr(citeline.pipeline, "enforce", keep_everything_uncited)
    rc, report = run_gate(small_suite, corpus_home, tmp_path / "out")
    assert rc == 1
    suite = report["suites"]["gut_brain_subset"]
    failed = {t["name"] for t in suite["thresholds"] if not t["passed"]}
    assert "uncited_sentence_rate_max" in failed
    assert suite["metrics"]["uncited_sentence_rate"] == 1.0
    assert any(r.startswith("uncited sentence:") for c in suite["cases"] for r in c["reasons"])


def test_usage_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "no_such_suite"]) == 2
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\ncases:\n  - question: q\n    expect_docz: []\n", encoding="utf-8")
    assert main(["run", str(bad)]) == 2
    assert "unknown key(s) ['expect_docz']" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["run", "--tolerance", "-1"])
    assert exc.value.code == 2


# Thresholds the answerer of issue 15 must meet and the answerer of 2026-12-01 does not
# (eval/README.md, "Verdict checks: the starting point": gut_brain 31/66 = 0.470). The CI gate
# runs the suite without them and checks that they are measured; drop a name here once the new
# answerer meets it.
ISSUE_15_TARGETS = ("verdict_rate_min",)


@pytest.mark.parametrize("suite", ["gut_brain", "safety"])
def test_bundled_suite_meets_its_thresholds(suite: str, corpus_home: Path, tmp_path: Path) -> None:
    """The CI gate: every bundled suite, every case, against its own thresholds."""
    data = yaml.safe_load((SUITES_DIR / f"{suite}.yaml").read_text(encoding="utf-8"))
    targets = [k for k in ISSUE_15_TARGETS if data["thresholds"].pop(k, None) is not None]
    path = tmp_path / f"{suite}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    rc, report = run_gate(path, corpus_home, tmp_path / "out")
    result = report["suites"][suite]
    failed = [t for t in result["thresholds"] if not t["passed"]]
    assert rc == 0 and not failed and result["errors"] == 0, json.dumps(failed, indent=1)
    assert len(result["cases"]) >= (40 if suite == "gut_brain" else 30)
    for name in targets:  # held apart, not unmeasured
        assert result["metrics"][name.rsplit("_", 1)[0]] is not None, name
