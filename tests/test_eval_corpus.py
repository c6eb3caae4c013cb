"""Suites over their own corpus (`corpus:`): validation, skipping when the data is absent, and a
real run over a one-document corpus in its own temporary CITELINE_HOME."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from citeline.config import PROJECT_ROOT
from eval.run_cli import main
from eval.scoring import THRESHOLD_NAMES
from eval.suites import SUITES_DIR, SuiteError, load_suite

CDC_DOC = "cdc-2022-opioid-prescribing-guideline-rr7103a1-h"

SUITE = """\
name: own
corpus: {corpus}
thresholds: {{uncited_sentence_rate_max: 0.0, disclaimer_rate_min: 1.0}}
cases:
  - id: own-1
    question: "{question}"
    expect_docs: [{doc}]
"""


def write_suite(
    tmp_path: Path, corpus: str, question: str = "What is IBS?", doc: str = "x", name: str = "own"
) -> Path:
    p = tmp_path / f"{name}.yaml"
    text = SUITE.format(corpus=corpus, question=question, doc=doc).replace(
        "name: own", f"name: {name}"
    )
    p.write_text(text, encoding="utf-8")
    return p


def test_corpus_key_takes_a_path_or_a_list_relative_to_the_repository(tmp_path: Path) -> None:
    one = load_suite(write_suite(tmp_path, "corpus/a.md"), THRESHOLD_NAMES)
    assert one.corpus == (PROJECT_ROOT / "corpus" / "a.md",)
    many = load_suite(write_suite(tmp_path, f"[corpus, {tmp_path}]"), THRESHOLD_NAMES)
    assert many.corpus == (PROJECT_ROOT / "corpus", tmp_path)
    plain = load_suite(SUITES_DIR / "gut_brain.yaml", THRESHOLD_NAMES)
    assert plain.corpus is None and plain.missing_corpus == []
    assert many.missing_corpus == [] and one.missing_corpus == [one.corpus[0]]


@pytest.mark.parametrize(
    ("corpus", "message"),
    [
        ("42", "corpus: must be a path or a non-empty list of paths, not int 42"),
        ("[]", "corpus: must be a path or a non-empty list of paths"),
        ('""', "corpus[0]: must be a non-empty path string"),
        ("[corpus, 7]", "corpus[1]: must be a non-empty path string, not 7"),
        ("[corpus, corpus]", "corpus: a path is listed twice"),
        ("{path: corpus}", "corpus: must be a path or a non-empty list of paths, not dict"),
    ],
)
def test_invalid_corpus_is_rejected(tmp_path: Path, corpus: str, message: str) -> None:
    with pytest.raises(SuiteError) as err:
        load_suite(write_suite(tmp_path, corpus), THRESHOLD_NAMES)
    assert message in str(err.value) and str(tmp_path) in str(err.value)


def test_unknown_suite_keys_are_still_rejected(tmp_path: Path) -> None:
    p = write_suite(tmp_path, "corpus")
    p.write_text(p.read_text().replace("corpus:", "corpora:"), encoding="utf-8")
    with pytest.raises(SuiteError, match=r"unknown key\(s\) \['corpora'\]"):
        load_suite(p, THRESHOLD_NAMES)


def test_the_cdc_suite_declares_the_shared_pdf() -> None:
    suite = load_suite(SUITES_DIR / "cdc_opioids.yaml", THRESHOLD_NAMES)
    assert suite.corpus is not None and len(suite.corpus) == 1
    assert suite.corpus[0].name == "cdc_2022_opioid_prescribing_guideline_rr7103a1-H.pdf"
    assert len(suite.cases) >= 12
    assert sum(c.expect_refusal for c in suite.cases) >= 2
    assert any(c.history for c in suite.cases)
    answerable = [c for c in suite.cases if not c.expect_refusal]
    assert all(c.expect_docs == (CDC_DOC,) and c.must_include for c in answerable)


def report(out: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((out / "report.json").read_text(encoding="utf-8"))
    return data


def test_missing_corpus_skips_the_suite_without_failing_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "absent" / "guideline.pdf"
    suite = write_suite(tmp_path, str(missing))
    out = tmp_path / "out"
    assert main(["run", str(suite), "--out", str(out), "--no-progress"]) == 0
    printed = capsys.readouterr()
    assert f"own: SKIPPED (corpus not found: {missing})" in printed.out
    data = report(out)
    own = data["suites"]["own"]
    assert data["passed"] is True and own["passed"] is True
    assert own["skipped"] == f"corpus not found: {missing}"
    assert own["cases"] == [] and own["thresholds"] == []
    assert set(own["metrics"].values()) == {None}
    assert "## own: SKIPPED" in (out / "report.md").read_text(encoding="utf-8")
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "SKIPPED" in page and str(missing) in page and "<script" not in page

    # A skipped suite in the baseline or in the current run is not compared (nothing measured).
    again = tmp_path / "again"
    rc = main(["run", str(suite), "--out", str(again), "--baseline", str(out / "report.json")])
    assert rc == 0
    assert report(again)["baseline"] == {"regressed": False, "deltas": []}


@pytest.mark.integration
@pytest.mark.slow
def test_own_corpus_is_indexed_alone_and_home_serves_the_others(
    tmp_path: Path, corpus_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # the embedding cache
    lib = tmp_path / "lib"
    lib.mkdir()
    shutil.copy(PROJECT_ROOT / "corpus" / "rome-iv-ibs-criteria.md", lib)
    own = write_suite(
        tmp_path,
        str(lib),
        question="What are the Rome IV diagnostic criteria for IBS?",
        doc="rome-iv-ibs-criteria",
    )
    # A second suite with the same cases but no corpus: it runs on --home (the bundled corpus).
    shared = write_suite(
        tmp_path,
        "x",
        "Is there a link between gut health and mental health?",
        "gut-brain-axis-overview",
        name="shared",
    )
    shared.write_text(
        "\n".join(ln for ln in shared.read_text().splitlines() if not ln.startswith("corpus:")),
        encoding="utf-8",
    )
    skipped = write_suite(tmp_path, str(tmp_path / "nope"), name="skipped")
    out = tmp_path / "out"
    args = ["run", str(own), str(shared), str(skipped), "--home", str(corpus_home)]
    rc = main([*args, "--out", str(out), "--no-progress"])
    data = report(out)
    assert rc == 0, json.dumps(data["suites"], indent=1)[:3000]
    assert data["suites"]["skipped"]["skipped"]
    own_result = data["suites"]["own"]
    assert own_result["corpus"] == [str(lib)] and own_result["warnings"] == []
    [case] = own_result["cases"]
    assert case["passed"], case["reasons"]
    # Only the suite's own document is in its index: every reference comes from it.
    assert {r["doc_id"] for r in case["answer"]["references"]} == {"rome-iv-ibs-criteria"}
    # The other suite answered from the bundled corpus: several documents, not that one alone.
    shared_case = data["suites"]["shared"]["cases"][0]
    shared_docs = {r["doc_id"] for r in shared_case["answer"]["references"]}
    assert len(shared_docs) >= 2 and data["suites"]["shared"]["warnings"] == []
    # The run's settings are those of the --home index, as documented.
    assert data["run"]["settings"]["home"] == str(corpus_home.resolve())
    assert (tmp_path / "cache" / "citeline" / "embeddings.sqlite").is_file()
