"""kill -9 of ingest, of an upload and of an answering app process: nothing is lost.

Every process here is a real CLI process started by the fork server (tests/forkserver.py) and
killed by SIGKILL, either by itself at a named fault point (`CITELINE_TEST_CRASH_AT`, see
citeline/faults.py) or from outside. After each kill the index must still be a consistent
snapshot (readers see every document whole, in its old or its new version), and the next
normal run must converge to exactly the state of a clean ingest.
"""

from __future__ import annotations

import json
import shutil
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from citeline.config import Settings
from citeline.faults import ENV
from citeline.pipeline import Engine, answer
from citeline.store import open_index
from tests import suite_counts
from tests.forkserver import Forker, child_env
from tests.test_ingest_integration import DOC, sentence_vector_ids

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# Embedding batches of two texts, so one document is embedded in several batches.
BATCH = "2"

# Kill sequences: each entry kills one run; the last run of a scenario is a normal one. The
# "after" corpus is processed as alpha (updated), delta (unchanged), gamma, omega (new), then
# the prune of beta.
SCENARIOS: list[tuple[str, list[str]]] = [
    ("parsing: the second file parsed, the first already committed", ["after_parse:2"]),
    ("embedding: between two batches of gamma", ["embed_batch:3"]),
    ("embedding done, nothing written", ["after_embed:1"]),
    ("chunk vectors: the first batch written, SQLite not", ["between_collections:1"]),
    ("dense (Chroma) written, lexical and manifest (SQLite) not", ["after_vectors:2"]),
    ("inside the SQLite transaction (manifest, chunks, FTS) before COMMIT", ["before_commit:1"]),
    ("committed; the updated document's old vectors not yet deleted", ["after_commit:1"]),
    ("stale deletes: the first batch of old chunk vectors deleted", ["between_deletes:1"]),
    ("the last document committed", ["after_commit:3"]),
    ("prune: inside the removal transaction", ["before_remove_commit:1"]),
    ("prune: committed, vectors not yet deleted", ["after_remove_commit:1"]),
    (
        "the repair run killed too, right after it removed orphans",
        ["after_vectors:2", "reconcile:1"],
    ),
    ("the repair run killed too, mid-commit", ["between_collections:1", "before_commit:2"]),
]


@dataclass
class Snapshot:
    """What a reader of one index folder sees, and what lies under it."""

    docs: dict[str, tuple[str, frozenset[str]]]  # doc_id -> (content hash, chunk ids)
    chunks: list[str]  # SQLite chunk rows
    fts: list[str]  # FTS rows
    texts: dict[str, str]
    dense: set[str]  # Chroma chunk collection
    sentences: set[str]  # stored sentence vectors (tests.test_ingest_integration)
    expected_sentences: set[str]  # "<chunk id>:<i>" for every committed chunk's sentences


def snapshot(home: Path) -> Snapshot:
    """Read an index folder. Chroma caches a client per folder in-process, so each folder is
    opened once by this process: read a copy when the folder will change afterwards."""
    idx = open_index(Settings.from_env(home=home))
    try:
        audit = idx.audit()
        by_doc: dict[str, set[str]] = {}
        for r in audit.rows:
            by_doc.setdefault(r.doc_id, set()).add(r.id)
        docs = {
            d: (rec.content_hash, frozenset(by_doc.get(d, set())))
            for d, rec in idx.documents().items()
        }
        return Snapshot(
            docs=docs,
            chunks=audit.chunk_ids,
            fts=list(audit.lexical),
            texts={r.id: r.text for r in audit.rows},
            dense=set(audit.dense),
            sentences=sentence_vector_ids(idx),
            expected_sentences={f"{r.id}:{i}" for r in audit.rows for i in range(len(r.sentences))},
        )
    finally:
        idx.close()


def assert_readable(s: Snapshot) -> None:
    """What readers rely on at every instant: SQLite rows agree with FTS, no duplicates, and
    every committed chunk has its vectors (Chroma may hold extra, invisible ones)."""
    assert len(s.chunks) == len(set(s.chunks)), "no duplicate chunks"
    assert sorted(s.chunks) == sorted(s.fts), "FTS agrees with the chunk rows"
    assert set(s.chunks) <= s.dense, "every committed chunk has its vector"
    assert s.expected_sentences <= s.sentences, "every committed sentence has its vector"


def assert_clean(s: Snapshot, clean: Snapshot) -> None:
    """Converged: exactly the clean ingest's documents, chunks and vectors, nothing else."""
    assert_readable(s)
    assert s.docs == clean.docs
    assert s.dense == set(s.chunks), "no orphan chunk vectors"
    assert s.sentences == s.expected_sentences, "no orphan sentence vectors"


def ingest_env(home: Path, **extra: str) -> dict[str, str]:
    return child_env(CITELINE_HOME=str(home), CITELINE_EMBED_BATCH=BATCH, **extra)


def ingest(forker: Forker, home: Path, src: Path, crash: str | None = None) -> int:
    env = ingest_env(home, **({ENV: crash} if crash else {}))
    r = forker.run("ingest", [str(src), "--prune", "--json"], env, timeout=300)
    if crash is None:
        assert r.rc == 0, r.stderr[-2000:]
    return r.rc


def test_kill_9_at_every_point_converges(
    tmp_path: Path, forker: Forker, crash_corpora: tuple[Path, Path]
) -> None:
    before, after = crash_corpora
    clean_home, template = tmp_path / "clean", tmp_path / "template"
    ingest(forker, clean_home, after)
    clean = snapshot(clean_home)
    ingest(forker, template, before)
    old = snapshot(shutil.copytree(template, tmp_path / "template-view"))
    assert_clean(old, old)
    versions = {d: {old.docs.get(d), clean.docs.get(d)} for d in {*old.docs, *clean.docs}}

    kills = 0
    for n, (where, crashes) in enumerate(SCENARIOS):
        home = shutil.copytree(template, tmp_path / f"s{n}")
        for k, point in enumerate(crashes):
            rc = ingest(forker, home, after, crash=point)
            assert rc == -signal.SIGKILL, (where, point, rc)
            kills += 1
            # Before any repair, a reader sees a consistent index: each document whole, in
            # its old or its new version.
            seen = snapshot(shutil.copytree(home, tmp_path / f"s{n}-view{k}"))
            assert_readable(seen)
            for doc_id, version in seen.docs.items():
                assert version in versions[doc_id], (where, point, doc_id)
        ingest(forker, home, after)
        assert_clean(snapshot(home), clean)
    suite_counts.record("kill_points", kills)
    assert kills == sum(len(c) for _, c in SCENARIOS) >= 10


SEED = "Is there a link between gut health and mental health?"
QUESTIONS = [SEED, "Do probiotics help IBS?", "What is the first-line treatment for IBS?"]


def fresh_answer(question: str, home: Path, embedder) -> dict:  # type: ignore[no-untyped-def]
    """An answer from a fresh engine on `home` (as a restarted app process would give)."""
    settings = Settings.from_env(home=home)
    idx = open_index(settings)
    try:
        d = answer(question, [], settings, engine=Engine(settings, idx, embedder)).to_dict()
    finally:
        idx.close()
    d.pop("timings_ms")
    return d


def test_kill_9_mid_answer_loses_nothing(
    tmp_path: Path, forker: Forker, small_home: Path, embedder
) -> None:  # type: ignore[no-untyped-def]
    """An app process killed while it opens the index, and while it answers: the index is
    untouched and the next process gives the same answer."""
    template = shutil.copytree(small_home, tmp_path / "template")
    before = snapshot(shutil.copytree(template, tmp_path / "view-before"))
    home = shutil.copytree(template, tmp_path / "home")
    reference = fresh_answer(SEED, shutil.copytree(template, tmp_path / "reference"), embedder)
    assert not reference["refused"]
    kills = 0
    for wait_for in (0, 2):  # answers completed before the kill (0: while loading)
        run = forker.start("answer_loop", QUESTIONS, child_env(CITELINE_HOME=str(home)))
        try:
            deadline = time.monotonic() + 300
            while run.output().count("\n") < wait_for and time.monotonic() < deadline:
                time.sleep(0.05)
            assert run.output().count("\n") >= wait_for, run.err.read_text()[-2000:]
        finally:
            run.kill()
        assert run.wait().rc == -signal.SIGKILL
        kills += 1
    after = snapshot(home)
    assert_clean(after, before)
    assert after.texts == before.texts
    assert fresh_answer(SEED, shutil.copytree(home, tmp_path / "after"), embedder) == reference
    suite_counts.record("kill_points", kills)


def test_kill_9_mid_upload_leaves_the_index_answering(
    tmp_path: Path, forker: Forker, small_home: Path, embedder
) -> None:  # type: ignore[no-untyped-def]
    """The app's upload (ingest.sync.add_upload) killed mid-write: the old documents answer as
    before, and uploading again lands the document once."""
    template = shutil.copytree(small_home, tmp_path / "template")
    before = snapshot(shutil.copytree(template, tmp_path / "view-before"))
    doc = tmp_path / "zeta.md"
    doc.write_text(
        DOC.format(
            id="zeta",
            title="Zeta syndrome guideline",
            body="Zeta syndrome is treated first with zetamab infusions every 4 weeks.",
        ),
        encoding="utf-8",
    )
    meta = json.dumps({"publisher": "Uploader Society"})
    kills = 0
    for n, point in enumerate(("after_vectors:1", "before_commit:1", "after_commit:1")):
        home = shutil.copytree(template, tmp_path / f"home{n}")
        run = forker.run(
            "upload",
            [str(doc), "zeta.md", meta],
            child_env(CITELINE_HOME=str(home), **{ENV: point}),
        )
        assert run.rc == -signal.SIGKILL, (point, run.stderr[-2000:])
        kills += 1
        seen = snapshot(shutil.copytree(home, tmp_path / f"view{n}"))
        assert_readable(seen)
        assert {d: v for d, v in seen.docs.items() if d != "zeta"} == before.docs
        # Committed before the kill (after_commit) or not at all: never half a document.
        assert ("zeta" in seen.docs) == point.startswith("after_commit"), point
        again = forker.run(
            "upload", [str(doc), "zeta.md", meta], child_env(CITELINE_HOME=str(home))
        )
        assert again.rc == 0, again.stderr[-2000:]
        report = json.loads(again.stdout)
        assert report["added"] + report["unchanged"] == ["zeta"], report
        final = snapshot(home)
        assert_readable(final)
        assert final.dense == set(final.chunks) and final.sentences == final.expected_sentences
        assert {d: v for d, v in final.docs.items() if d != "zeta"} == before.docs
        assert "zeta" in final.docs
    ans = fresh_answer("How is zeta syndrome treated?", home, embedder)
    assert not ans["refused"] and ans["references"][0]["doc_id"] == "zeta"
    assert any("4 weeks" in c["text"] for s in ans["sections"] for c in s["claims"]) or (
        "4 weeks" in ans["verdict"]
    )
    suite_counts.record("kill_points", kills)
