"""`python -m eval medquad`: question sampling, and a real run on a few questions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from citeline.errors import ConfigError
from eval.__main__ import main
from eval.external import External, add_to_reports
from eval.medquad import (
    DEFAULT_LIMIT,
    DEV_QUESTIONS,
    QA,
    load_medquad,
    select_docs,
    select_questions,
    split_questions,
)
from tests.conftest import shared_data


def qa(i: int, source: str) -> QA:
    return QA(f"{source}_{i}", f"What is {i}?", f"{i} is a thing.", f"Thing {i}", source, "", "")


def test_questions_are_sampled_round_robin_over_the_sources() -> None:
    rows = [qa(i, "A") for i in range(3)] + [qa(i, "B") for i in range(2)] + [qa(0, "C")]
    assert [r.id for r in select_questions(rows, 4)] == ["A_0", "B_0", "C_0", "A_1"]
    assert len(select_questions(rows, None)) == 6 == len(set(select_questions(rows, 0)))


def test_the_dev_split_follows_the_reported_questions_and_never_overlaps_them() -> None:
    rows = [qa(i, s) for i in range(60) for s in "ABCDEFG"]
    test = split_questions(rows, "test", DEFAULT_LIMIT)
    dev = split_questions(rows, "dev", None)
    assert len(test) == DEFAULT_LIMIT and len(dev) == DEV_QUESTIONS
    assert not {r.id for r in test} & {r.id for r in dev}
    assert dev == select_questions(rows, None)[DEFAULT_LIMIT : DEFAULT_LIMIT + DEV_QUESTIONS]
    assert split_questions(rows, "dev", 5) == dev[:5]
    with pytest.raises(ConfigError, match="unknown MedQuAD split"):
        split_questions(rows, "train", None)


def test_the_reranker_never_trains_on_a_question_eval_asks() -> None:
    path = shared_data("medquad")
    from train.reranker_data import medquad_rows

    qas = load_medquad(path)
    held = {r.id for r in split_questions(qas, "test", DEFAULT_LIMIT)}
    held |= {r.id for r in split_questions(qas, "dev", None)}
    trained = {row[0] for row in medquad_rows(path / "medquad_subset.jsonl")}
    assert len(trained) > 200 and not trained & held
    assert len(held) == DEFAULT_LIMIT + DEV_QUESTIONS


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


def test_external_section_is_added_once_escaped_and_inert(tmp_path: Path) -> None:
    (tmp_path / "report.md").write_text("# Eval report: PASS\n", encoding="utf-8")
    (tmp_path / "report.html").write_text("<!doctype html><body>\n</body></html>", "utf-8")
    beir = {"queries": 3, "params": {"documents": 9}, "seconds": 1.5}
    beir |= {"ndcg@10": 0.25, "recall@100": 0.5, "mrr@10": 0.75}
    summary = dict.fromkeys(("questions", "latency_p50_ms", "latency_p95_ms"), 1234.5)
    summary |= {k: 0.5 for k in ("source_cited_rate", "source_cited_rate_answered")}
    summary["verdict_source_cited_rate"] = 0.25
    summary |= {k: 0.5 for k in ("source_supported_rate", "supported_when_cited", "mrr")}
    summary |= {k: 0.0 for k in ("source_in_references_rate", "refusal_rate")}
    summary |= {k: 1.0 for k in ("citation_recall", "citation_precision")}
    summary["uncited_sentence_rate"] = 0.0
    medquad = {"summary": summary, "documents": 40, "seconds": 9.0}
    medquad["by_source"] = {"<b>GARD</b>": {"questions": 1, "refusal_rate": 0.0}}
    medquad["by_source"]["<b>GARD</b>"] |= {"source_cited_rate": 1.0, "source_supported_rate": 1.0}
    ext = External(beir={"nfcorpus": beir}, medquad=medquad, skipped=["BEIR scifact: absent"])
    add_to_reports(tmp_path, ext)
    add_to_reports(tmp_path, ext)  # a second run replaces the section
    md = (tmp_path / "report.md").read_text(encoding="utf-8")
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert md.count("## External data sets") == 1 and page.count("External data sets") == 1
    assert "| nfcorpus | 3 | 9 | 0.2500 | 0.5000 | 0.7500 | 1.5 |" in md
    assert "| latency p50 (ms) | 1234 |" in md and "- skipped: BEIR scifact: absent" in md
    assert "| verdict quotes the source answer | 0.25" in md
    assert page.endswith("</body></html>") and page.count("<svg") == 2
    assert "&lt;b&gt;GARD&lt;/b&gt;" in page and "<b>GARD" not in page
    assert not any(tag in page for tag in ("<script", "<link", "<img", "<iframe"))


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
        # The verdict is a shown claim: when it quotes the source, the source is cited.
        assert r["verdict_source_cited"] <= r["source_cited"]
        assert r["verdict_source_cited"] == (r["doc_id"] in r["verdict_docs"])
        assert r["latency_ms"] > 0
        if r["refused"]:
            assert r["claims"] == 0 and not r["source_cited"]
    assert s["questions"] == 9
    assert s["source_cited_rate"] == round(sum(r["source_cited"] for r in rows) / 9, 4)
    assert s["verdict_source_cited_rate"] == round(
        sum(r["verdict_source_cited"] for r in rows) / 9, 4
    )
    # Every question's own answer is in the index: the product finds and cites most of them,
    # and what it shows is cited and supported (the extractive answerer quotes passages).
    assert s["source_cited_rate"] >= 0.5, [(r["id"], r["cited_docs"]) for r in rows]
    assert s["uncited_sentence_rate"] == 0.0
    assert s["supported_when_cited"] == 1.0
    md = (out / "medquad.md").read_text(encoding="utf-8")
    assert md.startswith("# MedQuAD run") and "| source answer cited (all questions) |" in md
    assert "| verdict quotes the source answer |" in md
