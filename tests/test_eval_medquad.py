"""`python -m eval medquad`: question sampling, and a real run on a few questions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from citeline.errors import ConfigError
from eval.__main__ import main
from eval.medquad import QA, load_medquad, select_docs, select_questions
from tests.conftest import shared_data


def qa(i: int, source: str) -> QA:
    return QA(f"{source}_{i}", f"What is {i}?", f"{i} is a thing.", f"Thing {i}", source, "", "")


def test_questions_are_sampled_round_robin_over_the_sources() -> None:
    rows = [qa(i, "A") for i in range(3)] + [qa(i, "B") for i in range(2)] + [qa(0, "C")]
    assert [r.id for r in select_questions(rows, 4)] == ["A_0", "B_0", "C_0", "A_1"]
    assert len(select_questions(rows, None)) == 6 == len(set(select_questions(rows, 0)))


def test_quick_runs_index_the_asked_answers_first() -> None:
    rows = [qa(i, "A") for i in range(20)]
    asked = select_questions(rows, 3)
    docs = select_docs(rows, asked, 8)
    assert docs[:3] == asked and len(docs) == len(set(docs)) == 8
    assert select_docs(rows, asked, 8) == docs  # deterministic
    assert select_docs(rows, asked, None) == rows
    assert select_docs(rows, asked, 2) == asked  # never fewer than the asked ones


def test_malformed_data_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no medquad_subset\.jsonl"):
        load_medquad(tmp_path)
    f = tmp_path / "medquad_subset.jsonl"
    f.write_text('{"id": "a", "question": "q?"}\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"medquad_subset\.jsonl:1: not a MedQuAD row"):
        load_medquad(tmp_path)
    row = {"id": "a", "question": "q?", "answer": "a."}
    f.write_text(json.dumps(row) + "\n" + json.dumps(row) + "\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="duplicate id 'a'"):
        load_medquad(tmp_path)


@pytest.mark.integration
@pytest.mark.slow
def test_medquad_run_on_a_few_questions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = shared_data("medquad")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    out = tmp_path / "out"
    args = ["medquad", str(folder), "--limit", "9", "--max-docs", "40", "--out", str(out)]
    assert main([*args, "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    result = json.loads((out / "medquad.json").read_text(encoding="utf-8"))
    assert printed["summary"] == result["summary"]
    assert result["documents"] == 40 and result["chunks"] >= 40
    rows = result["questions"]
    # One question from each of the nine NIH collections.
    assert len(rows) == 9 and len({r["source"] for r in rows}) == 9
    s = result["summary"]
    for r in rows:
        assert r["source_supported"] <= r["source_cited"] <= r["source_in_references"]
        assert r["latency_ms"] > 0
        if r["refused"]:
            assert r["claims"] == 0 and not r["source_cited"]
    assert s["questions"] == 9
    assert s["source_cited_rate"] == round(sum(r["source_cited"] for r in rows) / 9, 4)
    # Every question's own answer is in the index: the product finds and cites most of them,
    # and what it shows is cited and supported (the extractive answerer quotes passages).
    assert s["source_cited_rate"] >= 0.5, [(r["id"], r["cited_docs"]) for r in rows]
    assert s["uncited_sentence_rate"] == 0.0
    assert s["supported_when_cited"] == 1.0
    md = (out / "medquad.md").read_text(encoding="utf-8")
    assert md.startswith("# MedQuAD run") and "| source answer cited (all questions) |" in md
