"""20 answer() threads sharing the process-wide engine (as Streamlit sessions do) while an ingest
of a changed corpus runs, in another process and in the same one: no errors, every answer
well-formed, every cited passage a chunk of the old or the new index (a consistent snapshot),
and afterwards the index equals a clean ingest of the changed corpus."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from citeline.config import Settings
from citeline.pipeline import answer, get_engine
from citeline.store import open_index
from ingest.chunking import chunk_blocks
from ingest.loaders import load
from ingest.sync import discover, sync
from tests import suite_counts
from tests.conftest import CORPUS
from tests.forkserver import Forker, child_env
from tests.test_adversarial_questions import check_contract
from tests.test_crash_recovery import Snapshot, assert_clean, snapshot

pytestmark = [pytest.mark.integration, pytest.mark.slow]

THREADS = 20
QUESTIONS = [
    "Is there a link between gut health and mental health?",
    "Do probiotics help IBS?",
    "What does NICE recommend for IBS?",
    "How is quokka syndrome treated?",  # only in the new version
    "What is the GAD-2?",  # its document is pruned
    "Who won the 2018 FIFA World Cup?",
    "what about probiotics?",
    "Is a low FODMAP diet recommended?",
]
NEW_DOC = """---
id: quokka-syndrome-guideline
title: Quokka syndrome guideline
publisher: Concurrency Society
year: 2031
type: Guideline
audience: clinician
---
# Quokka syndrome guideline

## Treatment

Quokka syndrome is treated with quokkamab infusions every 6 weeks. Treatment continues for a year.
"""


def changed_corpus(dest: Path) -> Path:
    """The bundled corpus with one document added, one extended, one edited, one removed."""
    shutil.copytree(CORPUS, dest)
    (dest / "gad2-anxiety-primary-care.md").unlink()
    (dest / "quokka-syndrome-guideline.md").write_text(NEW_DOC, encoding="utf-8")
    p = dest / "probiotics-what-to-know.md"
    p.write_text(
        p.read_text(encoding="utf-8")
        + "\n## Update\n\nA 2031 review found no new probiotic strain worth recommending.\n",
        encoding="utf-8",
    )
    p = dest / "nice-ibs-cg61.md"
    text = p.read_text(encoding="utf-8")
    i = text.index(".", text.index("\n## ")) + 1  # the end of the first sentence of a section
    p.write_text(text[:i] + " This sentence was added by the concurrency test." + text[i:])
    return dest


def clean_state(src: Path) -> dict[str, tuple[str, frozenset[str]]]:
    """What a clean ingest of `src` holds: each document's content hash and chunk ids (the
    loader and chunker sync uses; vectors are checked separately against the chunk rows)."""
    files, _ = discover([src])
    out = {}
    for f in files:
        doc = load(f)
        out[doc.meta.doc_id] = (
            doc.content_hash,
            frozenset(c.id for c in chunk_blocks(doc.meta, doc.blocks)),
        )
    return out


def chunk_texts(home: Path) -> dict[str, tuple[str, str]]:
    idx = open_index(Settings.from_env(home=home))
    try:
        rows = idx.audit().rows
    finally:
        idx.close()
    return {r.id: (r.doc_id, r.text) for r in rows}


@dataclass
class Calls:
    answers: list[Any] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)
    overlapped: int = 0  # calls during which the index version changed
    lock: threading.Lock = field(default_factory=threading.Lock)


def hammer(settings: Settings, ingest_done: Callable[[], bool], min_calls: int = 2) -> Calls:
    """THREADS threads, released together, answering until the ingest has ended."""
    engine = get_engine(settings)  # the process-wide engine every session shares
    calls = Calls()
    barrier = threading.Barrier(THREADS)

    def worker(i: int) -> None:
        try:
            barrier.wait(timeout=120)
            n = 0
            while n < min_calls or not ingest_done():
                before = engine.index.version()
                ans = answer(QUESTIONS[(i + n) % len(QUESTIONS)], [], settings)
                after = engine.index.version()
                with calls.lock:
                    calls.answers.append(ans)
                    calls.overlapped += after != before
                n += 1
                if n >= 40:
                    break
        except BaseException as exc:
            with calls.lock:
                calls.errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=900)
        assert not t.is_alive(), "an answer() thread hangs"
    return calls


def check_answers(calls: Calls, versions: dict[str, tuple[str, str]]) -> None:
    assert not calls.errors, calls.errors[:3]
    assert len(calls.answers) >= THREADS
    texts = {v for v in versions.values()}
    for ans in calls.answers:
        check_contract(ans.to_dict())
        assert ans.disclaimer
        refs = {r.n for r in ans.references}
        for c in ans.claims:
            assert c.citations and set(c.citations) <= refs, c
        for r in ans.references:
            # A consistent snapshot: each passage is a chunk of the old or the new index (a
            # reference holds every cited passage of its document).
            assert r.passages, r
            for p in r.passages:
                assert (r.doc_id, p.text) in texts, (r.doc_id, p.text[:80])
    suite_counts.record("concurrent_calls", len(calls.answers))


def _expect_converged(home: Path, tmp: Path, expected: dict) -> Snapshot:
    # Read a copy: this process's Chroma client for `home` was opened before the ingest.
    s = snapshot(shutil.copytree(home, tmp))
    assert_clean(s, Snapshot(expected, [], [], {}, set(), set(), set()))
    return s


@pytest.fixture
def versions(tmp_path: Path, corpus_home: Path) -> tuple[Path, Path, dict, dict]:
    home = shutil.copytree(corpus_home, tmp_path / "home")
    src = changed_corpus(tmp_path / "changed")
    old = chunk_texts(corpus_home)
    return home, src, old, clean_state(src)


def test_answers_during_an_ingest_in_another_process(
    tmp_path: Path, forker: Forker, versions: tuple[Path, Path, dict, dict]
) -> None:
    home, src, old, expected = versions
    settings = Settings.from_env(home=home)
    get_engine(settings)  # the app is up before the ingest starts
    run = forker.start(
        "ingest", [str(src), "--prune", "--json"], child_env(CITELINE_HOME=str(home))
    )
    try:
        calls = hammer(settings, lambda: run.poll() is not None)
    finally:
        result = run.wait(timeout=900)
    assert result.rc == 0, result.stderr[-3000:]
    new = chunk_texts(shutil.copytree(home, tmp_path / "after-texts"))
    check_answers(calls, {**old, **new})
    assert calls.overlapped, "some answers ran while the ingest committed"
    _expect_converged(home, tmp_path / "after", expected)
    # The running app keeps answering from the new version, without a restart.
    ans = answer("How is quokka syndrome treated?", [], settings)
    assert not ans.refused and ans.references[0].doc_id == "quokka-syndrome-guideline"


def test_answers_during_an_ingest_in_the_same_process(
    tmp_path: Path, embedder, versions: tuple[Path, Path, dict, dict]
) -> None:  # type: ignore[no-untyped-def]
    home, src, old, expected = versions
    settings = Settings.from_env(home=home)
    get_engine(settings)
    done = threading.Event()
    box: dict[str, Any] = {}

    def ingest() -> None:
        try:
            time.sleep(0.5)  # let the answer threads start first
            box["report"] = sync([src], settings, prune=True, embedder=embedder)
        except BaseException as exc:
            box["error"] = exc
        finally:
            done.set()

    t = threading.Thread(target=ingest)
    t.start()
    calls = hammer(settings, done.is_set)
    t.join(timeout=900)
    assert "error" not in box, box.get("error")
    report = box["report"]
    assert not report.failed and "quokka-syndrome-guideline" in report.added
    assert report.removed == ["gad2-anxiety-primary-care"]
    new = chunk_texts(home)
    check_answers(calls, {**old, **new})
    assert calls.overlapped, "some answers ran while the ingest committed"
    _expect_converged(home, tmp_path / "after", expected)
    ans = answer("How is quokka syndrome treated?", [], settings)
    assert not ans.refused and ans.references[0].doc_id == "quokka-syndrome-guideline"
