"""The pipeline on the in-memory store (tests/fakes.py): the real ingest path and the real
answer steps, no Chroma, no SQLite and no model (HashEmbedder)."""

from __future__ import annotations

from pathlib import Path

from citeline.config import Settings
from citeline.pipeline import Engine, answer
from ingest.sync import sync
from tests.fakes import HashEmbedder, InMemoryIndex

DOCS = {
    "alpha": "## Recommendations\n\nAlpha therapy is recommended for adults with chronic pain. "
    "It is taken once daily with food.\n\n## Monitoring\n\nLiver tests are checked every year.",
    "beta": "## Screening\n\nBeta screening should be offered yearly to adults over fifty.",
}


def _engine(tmp_path: Path) -> Engine:
    src = tmp_path / "src"
    src.mkdir()
    for doc_id, body in DOCS.items():
        (src / f"{doc_id}.md").write_text(
            f"---\nid: {doc_id}\ntitle: {doc_id.title()} guideline\ntype: Guideline\n"
            f"publisher: Test Society\nyear: 2024\n---\n# {doc_id.title()} guideline\n\n{body}\n"
        )
    settings = Settings(home=tmp_path / "home")
    index, embedder = InMemoryIndex(), HashEmbedder()
    report = sync([src], settings, embedder=embedder, index=index)  # type: ignore[arg-type]
    assert sorted(report.added) == ["alpha", "beta"] and not report.failed
    return Engine(settings, index, embedder)  # type: ignore[arg-type]


def test_pipeline_unit_answers_from_the_in_memory_store_with_citations(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    ans = answer(
        "Is alpha therapy recommended for adults with chronic pain?",
        [],
        engine.settings,
        engine=engine,
    )
    d = ans.to_dict()
    assert not d["refused"], d
    refs = {r["n"]: r for r in d["references"]}
    assert refs and {r["doc_id"] for r in refs.values()} >= {"alpha"}
    claims = [{"citations": d["verdict_citations"]}] if d["verdict"] else []
    claims += [c for s in d["sections"] for c in s["claims"]]
    assert claims and all(c["citations"] for c in claims), d
    assert {n for c in claims for n in c["citations"]} == set(refs), "every reference is cited"
    assert "recommended for adults" in d["verdict"] + " ".join(
        c["text"] for s in d["sections"] for c in s["claims"]
    )
    assert d["disclaimer"]


def test_pipeline_unit_refuses_what_the_library_does_not_cover(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    ans = answer(
        "What is the dose of insulin glargine for gestational diabetes?",
        [],
        engine.settings,
        engine=engine,
    )
    d = ans.to_dict()
    assert d["refused"] and not d["references"] and d["disclaimer"]
