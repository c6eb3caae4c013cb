"""The cap per document keeps one document from crowding out the others, but never leaves
places empty when no other document can fill them (a library of one long guideline). Unit tests:
the real ingest path into the in-memory store (tests/fakes.py), no Chroma."""

from __future__ import annotations

from pathlib import Path

from citeline.config import Settings
from citeline.retrieve import search
from ingest.sync import sync
from tests.fakes import HashEmbedder, InMemoryIndex

SECTIONS = [
    "Naloxone should be offered when opioid dosages exceed 50 MME per day.",
    "Naloxone should be offered to patients who also take benzodiazepines.",
    "Naloxone should be offered to patients with a history of overdose.",
    "Naloxone should be offered to patients with opioid use disorder.",
    "Naloxone should be offered when patients live with children.",
]


def _library(tmp_path: Path, docs: dict[str, list[str]]) -> tuple[Settings, InMemoryIndex]:
    src = tmp_path / "lib"
    src.mkdir()
    for doc_id, sections in docs.items():
        body = "".join(f"## Part {i}\n\n{text}\n\n" for i, text in enumerate(sections))
        (src / f"{doc_id}.md").write_text(
            f"---\nid: {doc_id}\ntitle: {doc_id}\ntype: Guideline\n---\n# {doc_id}\n\n{body}"
        )
    settings = Settings(home=tmp_path / "home", top_k=4, max_per_doc=2)
    index = InMemoryIndex()
    report = sync([src], settings, embedder=HashEmbedder(), index=index)  # type: ignore[arg-type]
    assert not report.failed
    return settings, index


def test_one_document_library_fills_every_place(tmp_path: Path) -> None:
    settings, index = _library(tmp_path, {"guide": SECTIONS})
    passages = search(index, HashEmbedder(), "When should naloxone be offered?", settings).passages
    assert len(passages) == settings.top_k  # not max_per_doc
    assert [p.n for p in passages] == list(range(1, settings.top_k + 1))
    assert [p.score for p in passages] == sorted((p.score for p in passages), reverse=True)


def test_cap_holds_when_other_documents_fill_the_places(tmp_path: Path) -> None:
    others = {
        "pharmacy": ["Pharmacists can dispense naloxone without a prescription when offered."],
        "school": ["Schools keep naloxone kits that staff should be offered training for."],
        "prison": ["Naloxone should be offered to people leaving prison."],
        "shelter": ["Shelters should have naloxone offered at the front desk."],
    }
    settings, index = _library(tmp_path, {"guide": SECTIONS, **others})
    passages = search(index, HashEmbedder(), "When should naloxone be offered?", settings).passages
    assert len(passages) == settings.top_k
    assert sum(p.doc.doc_id == "guide" for p in passages) <= settings.max_per_doc
