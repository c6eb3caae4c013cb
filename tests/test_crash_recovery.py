"""kill -9 of ingest at many points: the next run converges to the clean-ingest state."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from citeline.config import PROJECT_ROOT, Settings
from citeline.faults import ENV
from citeline.store import open_index
from tests.test_ingest_integration import write

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# (crash point, occurrence): during parsing, after embedding, between the chunk and sentence
# collections, after the vectors and before the SQLite commit, inside the commit, after the
# commit (old vectors not yet deleted), after a prune's commit.
POINTS = [
    "after_parse:2",
    "after_embed:1",
    "between_collections:1",
    "after_vectors:2",
    "before_commit:1",
    "after_commit:1",
    "after_commit:3",
    "after_remove_commit:1",
]


def run_ingest(home: Path, src: Path, crash: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {
        "CITELINE_HOME": str(home),
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HF_HUB_OFFLINE": "1",
        "PYTHONPATH": str(PROJECT_ROOT),
    }
    if crash:
        env[ENV] = crash
    return subprocess.run(
        [sys.executable, "-m", "ingest", str(src), "--prune", "--json"],
        capture_output=True,
        text=True,
        env=env,
        cwd=PROJECT_ROOT,
        timeout=600,
    )


def state(home: Path) -> tuple[dict[str, str], set[str]]:
    idx = open_index(Settings.from_env(home=home))
    try:
        docs = {k: v.content_hash for k, v in idx.documents().items()}
        sql = [r[0] for r in idx._conn().execute("SELECT id FROM chunks")]
        fts = [r[0] for r in idx._conn().execute("SELECT chunk_id FROM chunks_fts")]
        dense = idx._chroma_all_ids(idx._collection)
        sentence_ids = idx._chroma_all_ids(idx._sentences)
        per_chunk = {
            r[0]: len(json.loads(r[1]))
            for r in idx._conn().execute("SELECT id, sentences FROM chunks")
        }
    finally:
        idx.close()
    assert len(sql) == len(set(sql)) and sorted(sql) == sorted(fts), "no duplicates; FTS agrees"
    assert set(sql) == dense, "dense index agrees with the manifest"
    assert sentence_ids == {f"{c}:{i}" for c, n in per_chunk.items() for i in range(n)}
    return docs, set(sql)


def test_kill_9_at_every_point_converges(tmp_path: Path) -> None:
    before, after = tmp_path / "before", tmp_path / "after"
    before.mkdir()
    write(before, "alpha", "Alpha therapy is recommended for adults. It is taken daily.")
    write(before, "beta", "Beta screening should be offered yearly.")
    write(before, "delta", "Delta advice is kept as it is.")
    after.mkdir()
    write(
        after, "alpha", "Alpha therapy is recommended for adults and children. It is taken daily."
    )
    write(after, "delta", "Delta advice is kept as it is.")
    write(after, "gamma", "Gamma diet advice is given to every patient.")
    write(after, "omega", "Omega checks happen each month.")

    clean = tmp_path / "clean"
    assert run_ingest(clean, after).returncode == 0
    expected = state(clean)

    for point in POINTS:
        home = tmp_path / point.replace(":", "-")
        assert run_ingest(home, before).returncode == 0
        crashed = run_ingest(home, after, crash=point)
        assert crashed.returncode == -signal.SIGKILL, (
            point,
            crashed.returncode,
            crashed.stderr[-500:],
        )
        recovered = run_ingest(home, after)
        assert recovered.returncode == 0, recovered.stderr
        assert state(home) == expected, point
    print(f"\nkill -9 points exercised: {len(POINTS)}")
