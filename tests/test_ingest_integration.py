"""Ingest with the real model and a real persistent Chroma in a temp folder."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from citeline.config import PROJECT_ROOT, Settings
from citeline.store import Index, open_index
from ingest.sync import sync

EMBEDDING_DIM = 384  # all-MiniLM-L6-v2

pytestmark = [pytest.mark.integration]

DOC = """---
id: {id}
title: "{title}"
publisher: Test Society
year: 2024
type: Guideline
url: https://example.org/{id}
audience: clinician
---
# {title}

## Recommendations

{body}

## Caveats

Test caveats are written in plain sentences. They are short.
"""


def write(folder: Path, doc_id: str, body: str, title: str = "A test guideline") -> Path:
    p = folder / f"{doc_id}.md"
    p.write_text(DOC.format(id=doc_id, title=title, body=body), encoding="utf-8")
    return p


def blank_pdf() -> bytes:
    from pypdf import PdfWriter

    w = PdfWriter()
    w.add_blank_page(width=200, height=200)
    buf = io.BytesIO()
    w.write(buf)
    return buf.getvalue()


def encrypted_pdf(path: Path) -> None:
    from pypdf import PdfReader, PdfWriter

    w = PdfWriter()
    for page in PdfReader(io.BytesIO(blank_pdf())).pages:
        w.add_page(page)
    w.encrypt(user_password="secret", owner_password="owner")
    with path.open("wb") as f:
        w.write(f)


def sentence_vector_ids(idx: Index) -> set[str]:
    """ "<chunk id>:<i>" for every stored sentence vector: embedded mode keeps them in the chunk
    rows (SQLite, float32), server mode also in the server's sentence collection."""
    audit = idx.audit()
    if audit.sentence_collection is not None:
        return set(audit.sentence_collection)
    vector_bytes = 4 * EMBEDDING_DIM
    rows = [(r.id, len(r.sentence_vectors)) for r in audit.rows]
    return {f"{cid}:{i}" for cid, n in rows for i in range(n // vector_bytes)}


def index_state(settings: Settings) -> tuple[dict[str, str], set[str], set[str]]:
    idx = open_index(settings)
    docs = {k: v.content_hash for k, v in idx.documents().items()}
    audit = idx.audit()
    sql_ids = set(audit.chunk_ids)
    fts_ids = set(audit.lexical)
    chroma_ids = set(audit.dense)
    sentence_chunks = {i.rsplit(":", 1)[0] for i in sentence_vector_ids(idx)}
    assert sentence_chunks == chroma_ids
    assert not audit.collections[1:], "one Chroma collection, no sentences"
    assert sql_ids == fts_ids == chroma_ids, "dense, lexical and manifest agree"
    return docs, sql_ids, chroma_ids


def test_sync_adds_updates_leaves_and_prunes(tmp_path: Path, settings: Settings, embedder) -> None:  # type: ignore[no-untyped-def]
    src = tmp_path / "src"
    src.mkdir()
    write(src, "alpha", "Alpha therapy is recommended for adults. It is taken daily.")
    write(src, "beta", "Beta screening should be offered yearly.")
    r1 = sync([src], settings, embedder=embedder)
    assert sorted(r1.added) == ["alpha", "beta"] and not r1.failed
    _, ids1, _ = index_state(settings)

    r2 = sync([src], settings, embedder=embedder)
    assert sorted(r2.unchanged) == ["alpha", "beta"] and r2.embedded == 0, (
        "unchanged re-ingest embeds nothing"
    )
    assert index_state(settings)[1] == ids1

    write(src, "alpha", "Alpha therapy is recommended for adults and children. It is taken daily.")
    (src / "beta.md").unlink()
    write(src, "gamma", "Gamma diet advice is given to every patient.")
    r3 = sync([src], settings, embedder=embedder, prune=True)
    assert r3.updated == ["alpha"] and r3.added == ["gamma"] and r3.removed == ["beta"]
    assert r3.section_changes["alpha"]["changed"] == ["Recommendations"]
    assert (
        r3.section_changes["alpha"]["added"] == [] and r3.section_changes["alpha"]["removed"] == []
    )
    assert r3.embedded == 3, "alpha: only its changed section; gamma: both sections"
    docs, _, _ = index_state(settings)
    assert sorted(docs) == ["alpha", "gamma"]


def test_rebuild_reembeds_everything_while_readers_keep_the_library(
    tmp_path: Path, settings: Settings, embedder, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    """--rebuild starts over (re-chunks and re-embeds every document, drops the ones no longer
    given) without an empty window: a reader sees every document at every embedding step, and
    the result is exactly the chunk set of a clean ingest."""
    src = tmp_path / "src"
    src.mkdir()
    for i in range(6):
        write(src, f"doc{i}", f"Topic {i} therapy is recommended for adults. It is taken daily.")
    assert not sync([src], settings, embedder=embedder).failed
    _, ids_before, _ = index_state(settings)
    (src / "doc5.md").unlink()
    # Groups of about two documents, so the rebuild commits in several steps.
    group_texts = 8
    seen: list[int] = []
    progress: list[tuple[int, int]] = []

    def reader_view(done: int, total: int) -> None:
        progress.append((done, total))
        seen.append(len(open_index(settings).documents()))

    report = sync(
        [src],
        settings,
        embedder=embedder,
        rebuild=True,
        progress=reader_view,
        group_texts=group_texts,
    )
    assert sorted(report.updated) == [f"doc{i}" for i in range(5)] and report.removed == ["doc5"]
    assert report.embedded == len(ids_before) - 2, "every remaining chunk was embedded again"
    assert seen and min(seen) == 6, "a reader saw a partial library during the rebuild"
    assert len({t for _, t in progress}) > 1, "one bar whose total grows as files are parsed"
    assert progress[-1][0] == progress[-1][1]
    after, ids_after, _ = index_state(settings)
    clean = Settings.from_env(home=tmp_path / "clean")
    assert not sync([src], clean, embedder=embedder).failed
    assert index_state(clean)[1] == ids_after
    assert sorted(after) == [f"doc{i}" for i in range(5)]


def test_bad_files_fail_one_line_each_and_good_files_land(
    tmp_path: Path, settings: Settings, embedder
) -> None:  # type: ignore[no-untyped-def]
    src = tmp_path / "src"
    src.mkdir()
    write(src, "good", "Good guidance is written here.")
    (src / "empty.md").write_bytes(b"")
    (src / "junk.txt").write_bytes(bytes(range(256)) * 20)
    (src / "broken.md").write_text("---\ntitle: [unclosed\n---\n# T\n\nText here.\n")
    (src / "corrupt.pdf").write_bytes(b"%PDF-1.4\n this is not really a pdf")
    (src / "data.xlsx").write_bytes(b"PK\x03\x04")
    (src / "latin1.txt").write_bytes("Caf\xe9 guidance for na\xefve readers.\n".encode("latin-1"))
    (src / "copy.md").write_bytes((src / "good.md").read_bytes())
    (src / "huge.txt").write_bytes(b"A sentence of guidance text. " * 700_000)  # ~20 MB
    encrypted_pdf(src / "locked.pdf")
    (src / "blank.pdf").write_bytes(blank_pdf())
    report = sync([src], settings, embedder=embedder)
    failed = {Path(f["path"]).name: f["error"] for f in report.failed}
    # copy.md and good.md hold the same document: whichever comes second is refused.
    dup = "good.md" if "good.md" in failed else "copy.md"
    assert set(failed) == {
        "empty.md",
        "junk.txt",
        "broken.md",
        "corrupt.pdf",
        "data.xlsx",
        dup,
        "huge.txt",
        "locked.pdf",
        "blank.pdf",
    }, failed
    assert "too large" in failed["huge.txt"]
    assert "encrypted" in failed["locked.pdf"]
    assert "no extractable text" in failed["blank.pdf"]
    assert all("\n" not in e for e in failed.values()), "one line each"
    assert "empty" in failed["empty.md"]
    assert "binary" in failed["junk.txt"] or "not text" in failed["junk.txt"]
    assert "front matter" in failed["broken.md"]
    assert "PDF" in failed["corrupt.pdf"]
    assert "unsupported" in failed["data.xlsx"]
    assert "already used" in failed[dup] or "same content" in failed[dup]
    assert sorted(report.added) == ["good", "latin1"]
    docs, _, _ = index_state(settings)
    assert sorted(docs) == ["good", "latin1"]


def test_cli_json_summary_and_exit_codes(tmp_path: Path, home: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    write(src, "one", "One sentence of guidance.")
    (src / "empty.txt").write_bytes(b"")
    env = {
        "CITELINE_HOME": str(home),
        "PATH": "/usr/bin:/bin",
        "HF_HUB_OFFLINE": "1",
        "PYTHONPATH": str(PROJECT_ROOT),
    }

    def run(*a):
        return subprocess.run(
            [sys.executable, "-m", "ingest", *a],
            capture_output=True,
            text=True,
            env=env,
            cwd=PROJECT_ROOT,
            timeout=300,
        )

    out = run(str(src), "--json")
    assert out.returncode == 1, out.stderr
    data = json.loads(out.stdout)
    assert data["added"] == ["one"] and data["failed"][0]["path"].endswith("empty.txt")
    assert set(data) >= {"added", "updated", "unchanged", "removed", "failed", "chunks"}
    assert run(str(tmp_path / "nope")).returncode == 2


def test_upload_is_answerable_right_after_and_bad_upload_leaves_nothing(
    settings: Settings, embedder
) -> None:  # type: ignore[no-untyped-def]
    from citeline.pipeline import answer, reset_engines
    from ingest.sync import add_upload

    doc = DOC.format(
        id="zeta",
        title="Zeta syndrome guideline",
        body="Zeta syndrome is treated first with zetamab infusions every 4 weeks.",
    )
    report = add_upload("zeta.md", doc.encode(), settings, {"publisher": "Uploader Society"})
    assert report.added == ["zeta"]
    reset_engines()
    ans = answer("How is zeta syndrome treated?", [], settings)
    assert not ans.refused
    assert ans.references[0].doc_id == "zeta" and ans.references[0].publisher == "Uploader Society"
    assert any("4 weeks" in c.text for c in ans.claims)

    bad = add_upload("broken.pdf", b"%PDF-1.7 not a pdf", settings, {"title": "Broken"})
    assert bad.failed and "PDF" in bad.failed[0]["error"]
    assert not (settings.home_path / "uploads" / "broken.pdf").exists()
    assert not (settings.home_path / "uploads" / "broken.meta.yaml").exists()
    assert sorted(index_state(settings)[0]) == ["zeta"]


def test_an_older_index_loses_its_sentence_collection_at_the_next_ingest(
    tmp_path: Path, settings: Settings, embedder
) -> None:  # type: ignore[no-untyped-def]
    """Indexes built before sentence vectors moved to SQLite only have a `-sentences` Chroma
    collection that nothing reads any more: the next ingest (its repair step) deletes it, and
    the index answers the same before and after."""
    from citeline.pipeline import answer
    from citeline.store import SENTENCES_SUFFIX
    from citeline.store.chroma import persistent_client

    src = tmp_path / "src"
    src.mkdir()
    write(src, "alpha", "Alpha therapy is recommended for adults. It is taken daily.")
    assert not sync([src], settings, embedder=embedder).failed
    idx = open_index(settings)
    legacy = persistent_client(settings.home_path).get_or_create_collection(
        settings.collection + SENTENCES_SUFFIX, embedding_function=None
    )
    legacy.add(ids=["x:0"], embeddings=[[0.1] * EMBEDDING_DIM])  # as an older version wrote
    idx.close()
    before = answer("Is alpha therapy recommended for adults?", [], settings).to_dict()
    report = sync([src], settings, embedder=embedder)
    assert report.unchanged == ["alpha"] and report.embedded == 0
    index_state(settings)  # asserts a single Chroma collection
    after = answer("Is alpha therapy recommended for adults?", [], settings).to_dict()
    before.pop("timings_ms")
    after.pop("timings_ms")
    assert after == before and not after["refused"]


def test_changed_front_matter_reaches_the_filters_of_both_searches(
    tmp_path: Path, settings: Settings, embedder
) -> None:  # type: ignore[no-untyped-def]
    """A document whose metadata changes but whose text does not keeps its chunk ids and
    vectors (nothing is embedded again), and the dense search filters on the new metadata as
    the lexical search does: a year or type corrected in the front matter must not leave the
    document out of (or in) filtered answers."""
    check_front_matter_change(tmp_path, settings, settings, embedder)


def check_front_matter_change(tmp_path: Path, writer: Settings, reader: Settings, embedder) -> None:  # type: ignore[no-untyped-def]
    """Ingest with `writer`, change only the front matter, ingest again, search with `reader`."""
    from citeline.store import Filters

    src = tmp_path / "src"
    src.mkdir()
    body = "Zeta screening should be offered every year to adults at risk."
    path = write(src, "zeta", body)
    assert not sync([src], writer, embedder=embedder).failed
    path.write_text(
        path.read_text(encoding="utf-8")
        .replace("year: 2024", "year: 2019")
        .replace("type: Guideline", "type: Research")
        .replace("publisher: Test Society", "publisher: Other Society"),
        encoding="utf-8",
    )
    report = sync([src], writer, embedder=embedder)
    assert report.updated == ["zeta"] and report.embedded == 0, "metadata only: no embedding"
    idx = open_index(reader)
    try:
        vec = embedder.embed([body])[0]
        for filters, found in [
            (Filters(year_max=2020), True),
            (Filters(year_min=2023), False),
            (Filters(types=("Research",)), True),
            (Filters(types=("Guideline",)), False),
            (Filters(publishers=("Other Society",)), True),
            (Filters(publishers=("Test Society",)), False),
        ]:
            dense = {c for c, _ in idx.dense_search(vec, 10, filters)}
            lexical = {c for c, _ in idx.lexical_search("zeta screening", 10, filters)}
            assert bool(dense) is found and bool(lexical) is found, (filters, dense, lexical)
            assert lexical <= dense, filters
    finally:
        idx.close()
