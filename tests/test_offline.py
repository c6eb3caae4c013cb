"""No egress: the suite itself cannot reach the network (conftest.py), and a fresh process with
an empty model cache, HF_HUB_OFFLINE=1 and the network blocked ingests and answers, with Chroma
telemetry off and no connection even attempted."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from citeline.config import PROJECT_ROOT, Settings
from citeline.store import open_index
from tests.conftest import EgressBlocked
from tests.forkserver import child_env
from tests.test_ingest_integration import DOC


def test_the_suite_blocks_non_loopback_connections() -> None:
    """conftest.py's session fixture: any non-loopback address fails, loopback works."""
    with pytest.raises(EgressBlocked):
        socket.create_connection(("192.0.2.1", 80), timeout=1)  # TEST-NET-1
    with socket.socket() as s, pytest.raises(EgressBlocked):
        s.connect(("2001:db8::1", 443))
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with socket.create_connection(server.getsockname(), timeout=5):
            pass


def _network_namespace() -> list[str]:
    """`unshare -n` (an empty network namespace: the kernel has no route anywhere) when this
    machine allows it; the sitecustomize guard and its log apply either way."""
    unshare = shutil.which("unshare")
    if unshare and subprocess.run([unshare, "-n", "true"], capture_output=True).returncode == 0:
        return [unshare, "-n"]
    return []


@pytest.mark.integration
@pytest.mark.slow
def test_fresh_process_ingests_and_answers_offline(tmp_path: Path) -> None:
    log = tmp_path / "egress.log"
    empty = tmp_path / "empty-home"  # no ~/.cache/huggingface: the model must come from the package
    empty.mkdir()
    src = tmp_path / "src"
    src.mkdir()
    (src / "offline.md").write_text(
        DOC.format(
            id="offline",
            title="Offline guideline",
            body="Offline care plans are reviewed every 3 months by the care team.",
        )
    )
    env = child_env(
        CITELINE_HOME=str(tmp_path / "index"),
        CITELINE_TEST_EGRESS_LOG=str(log),
        HOME=str(empty),
        HF_HOME=str(empty / "hf"),
        SENTENCE_TRANSFORMERS_HOME=str(empty / "st"),
    )
    env.pop("ANONYMIZED_TELEMETRY")  # the product must turn Chroma telemetry off by itself
    netns = _network_namespace()

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*netns, sys.executable, *args],
            capture_output=True,
            text=True,
            env=env,
            cwd=PROJECT_ROOT,
            timeout=900,
        )

    # The guard is live in these processes: a connection attempt fails and is logged.
    probe = run("-c", "import socket; socket.create_connection(('192.0.2.1', 80), timeout=5)")
    assert probe.returncode != 0 and "192.0.2.1" in log.read_text()
    log.unlink()

    ingest = run("-m", "ingest", str(src), "--json")
    assert ingest.returncode == 0, ingest.stderr[-3000:]
    assert json.loads(ingest.stdout)["added"] == ["offline"]
    ask = run("-m", "citeline", "ask", "How often are offline care plans reviewed?", "--json")
    assert ask.returncode == 0, ask.stderr[-3000:]
    ans = json.loads(ask.stdout)
    assert not ans["refused"] and ans["references"][0]["doc_id"] == "offline"
    assert any("3 months" in c["text"] for s in ans["sections"] for c in s["claims"]) or (
        "3 months" in ans["verdict"]
    )
    assert not log.exists(), f"connections were attempted: {log.read_text()}"
    assert not any((empty / d).exists() for d in ("hf", "st")), "nothing downloaded to a cache"


@pytest.mark.integration
def test_chroma_telemetry_is_off(settings: Settings) -> None:
    idx = open_index(settings, create=True)
    try:
        assert idx.audit().telemetry is False
    finally:
        idx.close()
