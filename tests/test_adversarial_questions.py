"""Adversarial questions (tests/data/adversarial_questions.yaml) against the bundled corpus: each
gives a well-formed Answer that honours the JSON contract, never an exception, never an uncited
sentence, citations that resolve to indexed passages, the disclaimer, and a truncation notice
for over-long input."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from citeline import prompts
from citeline.config import PROJECT_ROOT, Settings
from citeline.conversation import Turn
from citeline.pipeline import answer
from citeline.render import to_markdown
from citeline.store import open_index
from citeline.text import normalize, numbers
from citeline.types import FLAGS
from tests import suite_counts

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CASES: list[dict[str, Any]] = yaml.safe_load(
    (PROJECT_ROOT / "tests" / "data" / "adversarial_questions.yaml").read_text(encoding="utf-8")
)
# Control characters that must not reach a terminal or the page (tab and newline may).
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def question_of(case: dict[str, Any]) -> str:
    if "question" in case:
        return str(case["question"])
    unit, length = case["repeat"], case["length"]
    return (unit * (length // len(unit) + 1))[:length]


def check_contract(d: dict[str, Any]) -> None:
    """Answer.to_dict() against the contract of ../shared/docs/architecture.md (plus the
    documented extras flags, notices, glossary, removed_claims, audience)."""
    assert json.loads(json.dumps(d, ensure_ascii=False)) == d, "JSON round trip"
    types = {
        "question": str,
        "standalone_query": str,
        "refused": bool,
        "refusal_reason": str,
        "verdict": str,
        "verdict_citations": list,
        "sections": list,
        "references": list,
        "disclaimer": str,
        "follow_ups": list,
        "backend": str,
        "timings_ms": dict,
        "flags": list,
        "notices": list,
        "glossary": list,
        "removed_claims": list,
        "audience": str,
    }
    for key, typ in types.items():
        assert isinstance(d.get(key), typ), (key, d.get(key))
    assert all(isinstance(n, int) for n in d["verdict_citations"])
    for s in d["sections"]:
        assert isinstance(s["heading"], str) and s["heading"]
        for c in s["claims"]:
            assert isinstance(c["text"], str) and c["text"].strip()
            assert all(isinstance(n, int) for n in c["citations"])
            assert isinstance(c["support"], float | int) and 0.0 <= c["support"] <= 1.0
    ref_types = {
        "n": int,
        "doc_id": str,
        "title": str,
        "publisher": str,
        "type": str,
        "url": str,
        "section": str,
        "passage": str,
        "highlights": list,
    }
    for r in d["references"]:
        for key, typ in ref_types.items():
            assert isinstance(r.get(key), typ), (key, r)
        assert r["year"] is None or isinstance(r["year"], int)
        assert r["page"] is None or isinstance(r["page"], int)
    assert all(isinstance(q, str) and q for q in d["follow_ups"])
    assert all(isinstance(v, float | int) for v in d["timings_ms"].values())
    assert set(d["flags"]) <= set(FLAGS), d["flags"]
    assert d["audience"] in ("clinician", "patient")


@pytest.fixture(scope="module")
def indexed(corpus_home: Path) -> dict[str, Any]:
    """The index as it was before the suite: passages by (doc, section, page) and a digest."""
    return _snapshot(Settings.from_env(home=corpus_home))


def _snapshot(settings: Settings) -> dict[str, Any]:
    """Every passage (doc, section, page, text), the index stats and a digest of the passages."""
    idx = open_index(settings)
    try:
        chunks = idx.get_chunks(idx.audit().chunk_ids)
        rows = [
            (c.doc.doc_id, c.section, c.page, c.text)
            for c, _ in (chunks[cid] for cid in sorted(chunks))
        ]
        stats = idx.stats()
    finally:
        idx.close()
    digest = hashlib.sha256(json.dumps(rows).encode()).hexdigest()
    return {"passages": {tuple(r) for r in rows}, "stats": stats, "digest": digest}


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_adversarial_question_gives_a_well_formed_cited_answer_or_a_refusal(
    case: dict[str, Any], corpus_settings: Settings, indexed: dict[str, Any]
) -> None:
    q = question_of(case)
    history = [Turn(role=t["role"], content=t["content"]) for t in case.get("history", [])]
    ans = answer(q, history, corpus_settings)
    suite_counts.record("adversarial_questions")
    d = ans.to_dict()
    check_contract(d)

    # The outcome the case expects, and its flags.
    if case["expect"] != "any":
        assert ans.refused == (case["expect"] == "refused"), (ans.refused, ans.refusal_reason)
    assert set(case.get("flags", [])) <= set(ans.flags), ans.flags
    assert not set(case.get("not_flags", [])) & set(ans.flags), ans.flags

    # The disclaimer, always; a refusal says why and claims nothing.
    assert ans.disclaimer.strip()
    if ans.refused:
        assert ans.refusal_reason.strip()
        assert ans.verdict is None and not ans.sections and not ans.references
    else:
        assert ans.verdict is not None and ans.references
        refs = {r.n: r for r in ans.references}
        assert sorted(refs) == list(range(1, len(refs) + 1)), "references numbered 1..n"
        cited = {n for c in ans.claims for n in c.citations}
        assert cited == set(refs), "every claim cites a listed reference; every reference is cited"
        for c in ans.claims:
            assert c.citations, f"uncited claim: {c.text}"
            assert c.support >= corpus_settings.support_threshold, (c.text, c.support)
            for n in c.citations:
                assert numbers(c.text) <= numbers(refs[n].passage), (c.text, n)
        for r in ans.references:
            # One reference per document: each of its passages is an indexed passage.
            assert r.passages and len({p.chunk_id for p in r.passages}) == len(r.passages), r
            for p in r.passages:
                assert (r.doc_id, p.section, p.page, p.text) in indexed["passages"], r
            assert r.passage == "\n\n".join(p.text for p in r.passages)
            assert all(h in r.passage or normalize(h) in normalize(r.passage) for h in r.highlights)
        assert len({r.doc_id for r in ans.references}) == len(ans.references), "one per document"

    # Over-long input is truncated with the notice and the flag, and only then.
    limit = corpus_settings.max_question_chars
    notice = prompts.render("truncated.md", limit=limit)
    if len(normalize(q)) > limit:
        assert "truncated" in ans.flags and notice in ans.notices
        assert len(ans.question) == limit
    else:
        assert "truncated" not in ans.flags and notice not in ans.notices

    # Nothing invisible or terminal-controlling comes back out (CLI output, export, page).
    assert not CONTROL.search(ans.question + ans.standalone_query)
    assert not CONTROL.search(to_markdown(ans))


def test_the_index_is_unchanged_after_the_adversarial_questions(
    corpus_settings: Settings, indexed: dict[str, Any]
) -> None:
    """Runs after the cases (file order): SQL/FTS payloads changed nothing."""
    now = _snapshot(corpus_settings)
    assert now["digest"] == indexed["digest"]
    assert now["stats"] == indexed["stats"]
    assert len(CASES) >= 50


def test_cli_json_for_hostile_questions(corpus_settings: Settings, forker) -> None:  # type: ignore[no-untyped-def]
    """The same contract through `python -m citeline ask --json` in a fresh process."""
    from tests.forkserver import child_env

    env = child_env(CITELINE_HOME=str(corpus_settings.home_path))
    for q in ("\x1b[31m<script>alert(1)</script> Do probiotics help IBS?", "'; DROP TABLE chunks;"):
        run = forker.run("citeline", ["ask", q, "--json"], env, timeout=300)
        assert run.rc == 0, run.stderr[-2000:]
        check_contract(json.loads(run.stdout))
        plain = forker.run("citeline", ["ask", q], env, timeout=300)
        assert plain.rc == 0 and plain.stdout.strip(), plain.stderr[-2000:]
        assert not CONTROL.search(plain.stdout), "no terminal escapes reach the terminal"
