"""The index folder missing, unreadable or damaged, and the disk filling up during an ingest or
an upload: one clear line (exit code 2 for the ingest CLI), the previous index intact, and the
app still answering from it. (The LLM and Chroma-server failures are tested with those
features.)"""

from __future__ import annotations

import errno
import json
import os
import shutil
from pathlib import Path

import pytest

from citeline import faults
from citeline.config import Settings
from citeline.errors import IndexMissingError, StoreUnavailableError
from citeline.pipeline import answer
from ingest.sync import add_upload
from tests.forkserver import Forker, child_env
from tests.test_crash_recovery import (
    SEED,
    assert_clean,
    assert_readable,
    fresh_answer,
    ingest_env,
    snapshot,
)
from tests.test_ingest_integration import DOC

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = os.geteuid() == 0


def one_error_line(stderr: str) -> str:
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr[-3000:]
    assert "Traceback" not in stderr
    return lines[0]


def new_doc(folder: Path, sentences: int = 60) -> Path:
    folder.mkdir(exist_ok=True)
    body = " ".join(f"Zeta finding number {i} is reported in this trial." for i in range(sentences))
    p = folder / "zeta.md"
    p.write_text(DOC.format(id="zeta", title="Zeta syndrome guideline", body=body))
    return p


def test_missing_index_folder(tmp_path: Path, forker: Forker) -> None:
    missing = tmp_path / "nowhere"
    run = forker.run("citeline", ["ask", SEED], child_env(CITELINE_HOME=str(missing)))
    assert run.rc == 1
    assert "No index at" in one_error_line(run.stderr)
    with pytest.raises(IndexMissingError, match="run `python -m ingest"):
        answer(SEED, [], Settings.from_env(home=missing))  # what the app shows with st.error

    a_file = tmp_path / "a-file"
    a_file.write_text("not a folder")
    run = forker.run(
        "ingest", [str(new_doc(tmp_path / "src"))], child_env(CITELINE_HOME=str(a_file))
    )
    assert run.rc == 2
    assert str(a_file) in one_error_line(run.stderr)


@pytest.mark.parametrize("target", ["home", "citeline.db", "chroma"])
def test_unreadable_index(
    tmp_path: Path, forker: Forker, small_home: Path, target: str, embedder
) -> None:  # type: ignore[no-untyped-def]
    """chmod 000 on the folder, the database or the Chroma folder. Root ignores permissions,
    so as root the child process runs without CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH."""
    home = shutil.copytree(small_home, tmp_path / "home")
    before = snapshot(shutil.copytree(home, tmp_path / "before"))
    path = home if target == "home" else home / target
    mode = path.stat().st_mode
    path.chmod(0)
    try:
        env = child_env(CITELINE_HOME=str(home))
        ask = forker.run("citeline", ["ask", SEED], env, drop_dac=ROOT)
        assert ask.rc != 0
        line = one_error_line(ask.stderr)
        assert "Permission denied" in line or "unable to open" in line, line
        ingest = forker.run("ingest", [str(new_doc(tmp_path / "src"))], env, drop_dac=ROOT)
        assert ingest.rc == 2
        line = one_error_line(ingest.stderr)
        assert "Permission denied" in line or "unable to open" in line, line
    finally:
        path.chmod(mode)
    after = snapshot(shutil.copytree(home, tmp_path / "after"))
    assert_clean(after, before)
    assert not fresh_answer(SEED, home, embedder)["refused"]


def test_damaged_database_file(tmp_path: Path, forker: Forker) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "citeline.db").write_bytes(os.urandom(8192))
    env = child_env(CITELINE_HOME=str(home))
    ask = forker.run("citeline", ["ask", SEED], env)
    assert ask.rc == 1 and "file is not a database" in one_error_line(ask.stderr)
    ingest = forker.run("ingest", [str(new_doc(tmp_path / "src"))], env)
    assert ingest.rc == 2 and "file is not a database" in one_error_line(ingest.stderr)


def test_disk_full_during_ingest(
    tmp_path: Path, forker: Forker, small_home: Path, embedder
) -> None:  # type: ignore[no-untyped-def]
    """A real write failure: no file may grow past the largest one already there
    (RLIMIT_FSIZE, the way a full disk fails a write), while a new document is ingested. The
    document has more sentence vectors (float32, 384 each) than that size holds, and they are
    committed in one SQLite transaction, whose pages all go to the write-ahead log first: some
    write must fail, whichever file the other writers happen to reuse free space in."""
    home = shutil.copytree(small_home, tmp_path / "home")
    before = snapshot(shutil.copytree(home, tmp_path / "before"))
    largest = max(p.stat().st_size for p in home.rglob("*") if p.is_file())
    src = new_doc(tmp_path / "src", sentences=largest // (4 * 384) + 50).parent
    run = forker.run("ingest", [str(src)], ingest_env(home), fsize=largest)
    assert run.rc == 2, (run.rc, run.stdout[-2000:], run.stderr[-3000:])
    line = one_error_line(run.stderr)
    assert "disk" in line.lower() or "too large" in line.lower(), line
    seen = snapshot(shutil.copytree(home, tmp_path / "seen"))
    assert_readable(seen)
    assert seen.docs == before.docs, "the previous index is intact"
    assert not fresh_answer(SEED, home, embedder)["refused"], "and still answers"
    # Room again: the next run lands the document and repairs what the failed one left.
    again = forker.run("ingest", [str(src), "--json"], ingest_env(home))
    assert again.rc == 0, again.stderr[-3000:]
    assert json.loads(again.stdout)["added"] == ["zeta"]
    final = snapshot(home)
    assert_readable(final)
    assert final.dense == set(final.chunks) and final.sentences == final.expected_sentences
    assert {d: v for d, v in final.docs.items() if d != "zeta"} == before.docs


FAIL_POINTS = ["between_collections:1", "after_vectors:2", "before_commit:1", "between_deletes:1"]


def test_disk_full_injected_at_each_write_step(
    tmp_path: Path,
    forker: Forker,
    crash_corpora: tuple[Path, Path],
) -> None:
    """ENOSPC raised (citeline.faults) between the dense and lexical writes, inside the SQLite
    transaction and during the stale deletes: one line, exit 2, every document whole in its
    old or new version, and the next run converges to a clean ingest."""
    before_src, after_src = crash_corpora
    clean_home, template = tmp_path / "clean", tmp_path / "template"
    assert forker.run("ingest", [str(after_src), "--prune"], ingest_env(clean_home)).rc == 0
    clean = snapshot(clean_home)
    assert forker.run("ingest", [str(before_src)], ingest_env(template)).rc == 0
    old = snapshot(shutil.copytree(template, tmp_path / "template-view"))
    versions = {d: {old.docs.get(d), clean.docs.get(d)} for d in {*old.docs, *clean.docs}}
    for n, point in enumerate(FAIL_POINTS):
        home = shutil.copytree(template, tmp_path / f"h{n}")
        env = ingest_env(home, **{faults.FAIL_ENV: point})
        run = forker.run("ingest", [str(after_src), "--prune"], env)
        assert run.rc == 2, (point, run.rc, run.stderr[-3000:])
        assert os.strerror(errno.ENOSPC) in one_error_line(run.stderr), point
        seen = snapshot(shutil.copytree(home, tmp_path / f"h{n}-view"))
        assert_readable(seen)
        for doc_id, version in seen.docs.items():
            assert version in versions[doc_id], (point, doc_id)
        assert forker.run("ingest", [str(after_src), "--prune"], ingest_env(home)).rc == 0
        assert_clean(snapshot(home), clean)


def test_upload_on_a_full_disk_keeps_nothing(
    tmp_path: Path,
    forker: Forker,
    small_home: Path,
    embedder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # type: ignore[no-untyped-def]
    """The app's upload: the file cannot even be saved (a real EFBIG), or the index write fails
    (an injected ENOSPC): a CitelineError the app shows, nothing left under uploads/."""
    home = shutil.copytree(small_home, tmp_path / "home")
    before = snapshot(shutil.copytree(home, tmp_path / "before"))
    doc = new_doc(tmp_path / "src")
    run = forker.run(
        "upload", [str(doc), "zeta.md", "{}"], child_env(CITELINE_HOME=str(home)), fsize=1024
    )
    assert run.rc == 2, run.stderr[-3000:]
    assert "Cannot add zeta.md to the index" in one_error_line(run.stderr)
    assert not (home / "uploads" / "zeta.md").exists()

    monkeypatch.setenv(faults.FAIL_ENV, "after_vectors")
    faults.arm()
    try:
        with pytest.raises(StoreUnavailableError, match="No space left on device"):
            add_upload("zeta.md", doc.read_bytes(), Settings.from_env(home=home), {"year": 2024})
    finally:
        monkeypatch.delenv(faults.FAIL_ENV)
        faults.arm()
    assert not (home / "uploads" / "zeta.md").exists()
    assert not (home / "uploads" / "zeta.meta.yaml").exists()
    seen = snapshot(shutil.copytree(home, tmp_path / "seen"))
    assert_readable(seen)
    assert seen.docs == before.docs
    assert not fresh_answer(SEED, home, embedder)["refused"]
