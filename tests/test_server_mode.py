"""Server mode (CITELINE_CHROMA_URL) against a real `chroma run` server on a free loopback port:
ingest and answer, app processes that share the server, restarts with more than 1,000 chunks
(Chroma issue 7090), a dead server, the writer lease, and kill -9 of a server-mode ingest."""

from __future__ import annotations

import json
import os
import secrets
import selectors
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from citeline import store
from citeline.config import PROJECT_ROOT, Settings
from citeline.errors import ChromaServerError, ConfigError, IngestLockedError
from citeline.faults import ENV as CRASH_ENV
from citeline.pipeline import answer, get_engine
from citeline.store import STAMP_TTL, Index, Tuning, index_exists, open_index
from citeline.types import Chunk, DocMeta
from ingest.sync import sync
from tests.chroma_proxy import AuthProxy
from tests.conftest import CORPUS, copy_corpus
from tests.forkserver import Forker
from tests.forkserver import child_env as base_env
from tests.store_contract import StoreContract
from tests.test_ingest_integration import check_front_matter_change

pytestmark = [pytest.mark.server, pytest.mark.integration, pytest.mark.slow]

CHROMA = Path(sys.executable).parent / "chroma"
SEED = "Is there a link between gut health and mental health?"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ChromaServer:
    """`chroma run --path PATH --host 127.0.0.1 --port PORT`, started and stopped by tests."""

    def __init__(self, path: Path, port: int | None = None) -> None:
        self.path = path
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = path.parent / f"{path.name}-server.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [
                    str(CHROMA),
                    "run",
                    "--path",
                    str(self.path),
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"chroma run exited {self.proc.returncode}: {self.log_text()}")
            try:
                with urllib.request.urlopen(f"{self.url}/api/v2/heartbeat", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"no heartbeat from {self.url} in 60 s: {self.log_text()}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChromaServer]:
    server = ChromaServer(tmp_path_factory.mktemp("chroma-server") / "data")
    server.start()
    yield server
    server.stop()


class BatchMemo:
    """The session's real embedder, remembering each batch it encoded: ingesting the corpus into
    another collection gets the very same vectors (same batches) without encoding them again."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.name, self.dim = inner, inner.name, inner.dim
        self._memo: dict[tuple[str, ...], np.ndarray] = {}

    def embed(self, texts: Any) -> np.ndarray:
        key = tuple(texts)
        if key not in self._memo:
            self._memo[key] = self.inner.embed(texts)
        return self._memo[key].copy()


@pytest.fixture(scope="session")
def memo_embedder(embedder) -> BatchMemo:  # type: ignore[no-untyped-def]
    return BatchMemo(embedder)


def srv_settings(server: ChromaServer, home: Path, collection: str) -> Settings:
    return Settings.from_env(home=home, chroma_url=server.url, collection=collection)


def new_collection() -> str:
    return f"t-{uuid.uuid4().hex[:12]}"


def child_env(home: Path, url: str, collection: str, **extra: str) -> dict[str, str]:
    """A clean, egress-guarded environment for an app or ingest process in server mode."""
    return base_env(
        CITELINE_HOME=str(home), CITELINE_CHROMA_URL=url, CITELINE_COLLECTION=collection, **extra
    )


def run_module(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=PROJECT_ROOT,
        timeout=600,
    )


def comparable(ans: Any) -> dict[str, Any]:
    d = dict(ans.to_dict() if hasattr(ans, "to_dict") else ans)
    d.pop("timings_ms", None)
    return d


def check_cited(d: dict[str, Any]) -> None:
    """A non-refused answer whose every claim cites listed references, and only those."""
    assert not d["refused"], d["refusal_reason"]
    refs = {r["n"] for r in d["references"]}
    claims = [{"citations": d["verdict_citations"]}] if d["verdict"] else []
    claims += [c for s in d["sections"] for c in s["claims"]]
    assert claims and refs
    cited = {n for c in claims for n in c["citations"]}
    assert all(c["citations"] for c in claims), claims
    assert cited == refs


def cache_state(idx: Index) -> tuple[dict[str, str], list[str], list[str], dict[str, bytes]]:
    """What a process serves from its local cache: documents, chunk ids, FTS ids, sentence
    vectors."""
    docs = {k: v.content_hash for k, v in idx.documents().items()}
    audit = idx.audit()
    chunks = sorted(r.id for r in audit.rows)
    fts = sorted(audit.lexical)
    vecs = {r.id: r.sentence_vectors for r in audit.rows}
    return docs, chunks, fts, vecs


# -- ingest and answer ---------------------------------------------------------------------------
def test_ingest_into_the_server_and_answer_as_the_embedded_index_does(
    chroma_server: ChromaServer, tmp_path: Path, memo_embedder: BatchMemo, corpus_settings: Settings
) -> None:
    coll = new_collection()
    writer = srv_settings(chroma_server, tmp_path / "writer", coll)
    report = sync([CORPUS], writer, embedder=memo_embedder)
    assert not report.failed and report.chunks > 0
    assert not (tmp_path / "writer" / store.DB_NAME).exists(), "no embedded index in server mode"

    # A replica with an empty CITELINE_HOME builds its cache from the server alone ...
    reader = srv_settings(chroma_server, tmp_path / "reader", coll)
    assert index_exists(reader)
    ans = answer(SEED, [], reader)
    check_cited(comparable(ans))
    # ... which holds what the writer's cache holds, byte for byte ...
    served = get_engine(reader).index
    own = open_index(writer)
    try:
        assert cache_state(served) == cache_state(own)
    finally:
        own.close()
    # ... and what the embedded index holds: the same documents, chunks and FTS rows; the
    # sentence vectors are Chroma's re-normalised copies (a cosine collection normalises what
    # it stores), equal to the embedder's output up to float32 rounding.
    embedded = open_index(corpus_settings)
    try:
        *rows, vecs = cache_state(served)
        *rows_e, vecs_e = cache_state(embedded)
        assert rows == rows_e and vecs.keys() == vecs_e.keys()
        for cid, v in vecs.items():
            a, b = np.frombuffer(v, np.float32), np.frombuffer(vecs_e[cid], np.float32)
            assert a.shape == b.shape and np.allclose(a, b, rtol=0, atol=1e-6), cid
        assert served.stats()["chunks"] == embedded.stats()["chunks"] == report.chunks
    finally:
        embedded.close()
    # So the answer is the same answer.
    assert comparable(ans) == comparable(answer(SEED, [], corpus_settings))
    assert not index_exists(srv_settings(chroma_server, tmp_path / "x", new_collection()))


# -- several app processes -----------------------------------------------------------------------
DRIVER = r"""
import json, os, sys
from citeline.config import Settings
from citeline.pipeline import answer, get_engine
settings = Settings.from_env()
for line in sys.stdin:
    req = json.loads(line)
    ans = answer(req["q"], [], settings).to_dict()
    ans.pop("timings_ms", None)
    index = get_engine(settings).index
    hits = index.lexical_search(req["term"], 20)
    chunks = index.get_chunks([c for c, _ in hits])
    docs = sorted({chunks[c][0].doc.doc_id for c, _ in hits if c in chunks})
    out = {"answer": ans, "lexical_docs": docs, "version": index.version(), "pid": os.getpid()}
    print("RESULT " + json.dumps(out), flush=True)
"""


class App:
    """A long-lived app process (its own CITELINE_HOME) answering questions sent on stdin."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log = log
        with log.open("wb") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", DRIVER],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
                env=env,
                cwd=PROJECT_ROOT,
            )

    def ask(self, q: str, term: str, timeout: float = 600) -> dict[str, Any]:
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(json.dumps({"q": q, "term": term}) + "\n")
        self.proc.stdin.flush()
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not sel.select(timeout=max(0.0, deadline - time.monotonic())):
                break
            line = self.proc.stdout.readline()
            if not line:
                raise AssertionError(f"app process died: {self.log.read_text()[-2000:]}")
            if line.startswith("RESULT "):
                return dict(json.loads(line[len("RESULT ") :]))
        raise AssertionError(f"no answer in {timeout} s: {self.log.read_text()[-2000:]}")

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


NEW_DOC = """---
id: zorblatine-guideline-2025
title: "Zorblatine for stress-related bowel symptoms"
publisher: Test Society of Gastroenterology
year: 2025
type: Guideline
url: https://example.org/zorblatine
audience: clinician
---
# Zorblatine for stress-related bowel symptoms

## Recommendations

- Zorblatine 20 mg once daily is recommended for adults whose bowel symptoms flare with stress.
- Zorblatine should be stopped after 12 weeks if bowel symptoms have not improved.
"""
CHANGED_DOC = "gut-brain-axis-overview"
CHANGED_LINE = (
    "\n\n## Update\n\nQuixotrin breathing exercises are recommended for people whose gut "
    "symptoms get worse with stress.\n"
)


@pytest.fixture(scope="session")
def token_proxy(
    chroma_server: ChromaServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AuthProxy]:
    """The session's server behind an authenticating proxy that wants a bearer token."""
    token = "citeline-test-" + secrets.token_urlsafe(24)
    log = tmp_path_factory.mktemp("token-proxy") / "proxy.log"
    with AuthProxy(chroma_server.port, token, "bearer", log) as proxy:
        yield proxy


@pytest.mark.parametrize("via", ["direct", "authenticating-proxy"])
def test_app_processes_agree_and_follow_an_ingest_by_a_third_process(
    chroma_server: ChromaServer,
    tmp_path: Path,
    memo_embedder: BatchMemo,
    via: str,
    request: pytest.FixtureRequest,
) -> None:
    """`authenticating-proxy`: every process (both apps, both writers) talks to the server
    only through a proxy that wants CITELINE_CHROMA_TOKEN, and the token leaks nowhere."""
    url, token, proxy = chroma_server.url, "", None
    if via == "authenticating-proxy":
        proxy = request.getfixturevalue("token_proxy")
        url, token = proxy.url, proxy.token
    creds = {"CITELINE_CHROMA_TOKEN": token} if token else {}
    coll = new_collection()
    corpus = copy_corpus(tmp_path / "corpus")
    writer = Settings.from_env(home=tmp_path / "w1", chroma_url=url, collection=coll)
    if token:
        writer = writer.replace(chroma_token=token)
    first = sync([corpus], writer, embedder=memo_embedder)
    assert not first.failed
    apps = [
        App(child_env(tmp_path / name, url, coll, **creds), tmp_path / f"{name}.log")
        for name in ("app-a", "app-b")
    ]
    try:
        a, b = (app.ask(SEED, "zorblatine") for app in apps)
        assert a["pid"] != b["pid"]
        check_cited(a["answer"])
        assert a["answer"] == b["answer"], "two app processes give the same answer"
        assert a["lexical_docs"] == b["lexical_docs"] == []
        version = a["version"]
        assert b["version"] == version > 0

        # A third process with yet another CITELINE_HOME adds one document and changes one.
        (corpus / "zorblatine-guideline-2025.md").write_text(NEW_DOC, encoding="utf-8")
        changed = corpus / f"{CHANGED_DOC}.md"
        changed.write_text(changed.read_text(encoding="utf-8") + CHANGED_LINE, encoding="utf-8")
        run = run_module(
            ["ingest", str(corpus), "--json"], child_env(tmp_path / "w3", url, coll, **creds)
        )
        assert run.returncode == 0, run.stderr
        rep = json.loads(run.stdout)
        # The manifest lives on the server: a writer with an empty home sees the rest unchanged.
        assert rep["added"] == ["zorblatine-guideline-2025"] and rep["updated"] == [CHANGED_DOC]
        assert len(rep["unchanged"]) == len(first.added) - 1
        time.sleep(STAMP_TTL)  # the running apps check the version stamp at most this often

        q_new = "What dose of zorblatine is recommended for bowel symptoms that flare with stress?"
        a, b = (app.ask(q_new, "zorblatine") for app in apps)
        for r in (a, b):
            check_cited(r["answer"])
            assert r["lexical_docs"] == ["zorblatine-guideline-2025"], "lexical index refreshed"
            cited = {ref["doc_id"] for ref in r["answer"]["references"]}
            assert "zorblatine-guideline-2025" in cited
            assert r["version"] > version
        assert a["answer"] == b["answer"]

        q_changed = (
            "Are quixotrin breathing exercises recommended when stress worsens gut symptoms?"
        )
        a, b = (app.ask(q_changed, "quixotrin") for app in apps)
        for r in (a, b):
            assert r["lexical_docs"] == [CHANGED_DOC]
            check_cited(r["answer"])
            passages = [
                ref["passage"] for ref in r["answer"]["references"] if ref["doc_id"] == CHANGED_DOC
            ]
            assert any("Quixotrin breathing exercises" in p for p in passages), passages
        assert a["answer"] == b["answer"]
    finally:
        for app in apps:
            app.close()
    if proxy is not None:
        assert proxy.forwarded > 0 and not proxy.refused
        texts = [run.stdout, run.stderr, proxy.log.read_text()]
        for f in [*tmp_path.rglob("*"), chroma_server.log]:
            if f.is_file():
                texts.append(f.read_bytes().decode("utf-8", "replace"))
        assert not [t for t in texts if token in t], "the token leaked into an output or a file"


# -- restarts with more than 1,000 chunks (Chroma issue 7090) -----------------------------------
def filler_documents(n_docs: int, per_doc: int, seed: int) -> list[Any]:
    """Synthetic documents with random unit vectors: enough chunks to pass Chroma's HNSW
    persistence threshold (sync_threshold 1,000) without embedding a thousand texts."""
    rng = np.random.default_rng(seed)
    items = []
    for d in range(n_docs):
        meta = DocMeta(doc_id=f"filler-{seed}-{d}", title=f"Filler {d}", type="Research")
        chunks, vecs, svecs = [], {}, {}
        for i in range(per_doc):
            cid = f"filler{seed}x{d:03d}x{i:04d}"
            text = f"Filler record {i} of document {d} carries no clinical content."
            chunks.append(
                Chunk(id=cid, doc=meta, text=text, section="Filler", ordinal=i, sentences=(text,))
            )
            v = rng.normal(size=384).astype(np.float32)
            vecs[cid] = v / np.linalg.norm(v)
            svecs[cid] = vecs[cid].tobytes()
        items.append((meta, f"hash-{seed}-{d}", chunks, vecs, svecs))
    return items


def test_restarts_with_more_than_1000_chunks_keep_answering(
    tmp_path: Path, memo_embedder: BatchMemo
) -> None:
    server = ChromaServer(tmp_path / "chroma")
    server.start()
    try:
        coll = new_collection()
        writer = srv_settings(server, tmp_path / "writer", coll)
        assert not sync([CORPUS], writer, embedder=memo_embedder).failed
        filler = filler_documents(6, 200, seed=7)
        idx = open_index(writer)
        with idx.writer():
            idx.replace_documents(filler)
        audit = idx.audit()
        n_chunks = len(audit.dense)
        assert n_chunks > 1000 and len(audit.sentence_collection or ()) > 1000, n_chunks
        idx.close()

        live = srv_settings(server, tmp_path / "live", coll)  # an app process that stays up
        before = comparable(answer(SEED, [], live))
        check_cited(before)
        samples = [(c.id, item[3][c.id]) for item in filler for c in item[2][::37]]

        def still_answers(reader: Settings) -> None:
            assert comparable(answer(SEED, [], reader)) == before
            index = get_engine(reader).index
            assert len(index.audit().dense) == n_chunks
            for cid, vec in samples:  # every part of the HNSW graph was loaded
                assert index.dense_search(vec, 1)[0][0] == cid
                # the server's sentence collection (the caches' source of sentence vectors)
                sentence_id = index.nearest_sentences(vec, 1)[0][0]
                assert sentence_id.rsplit(":", 1)[0] == cid

        server.stop()
        with pytest.raises(ChromaServerError) as down:  # a running app meets the dead server
            answer(SEED, [], live)
        assert down.value.url == server.url and server.url in str(down.value)

        for n, sig in enumerate((signal.SIGTERM, signal.SIGKILL)):
            server.start()
            time.sleep(STAMP_TTL)
            still_answers(live)
            still_answers(srv_settings(server, tmp_path / f"fresh-{n}", coll))
            server.stop(sig)
        server.start()

        # Writes after a restart: replace one filler document's vectors.
        changed = filler_documents(1, 200, seed=8)[0]
        changed = (filler[0][0], "hash-changed", *changed[2:])
        idx = open_index(writer)
        with idx.writer():
            idx.replace_documents([changed])
        server.stop()
        server.start()
        reader = srv_settings(server, tmp_path / "after-write", coll)
        index = open_index(reader)
        assert index.documents()[filler[0][0].doc_id].content_hash == "hash-changed"
        new_id, new_vec = changed[2][5].id, changed[3][changed[2][5].id]
        assert index.dense_search(new_vec, 1)[0][0] == new_id
        old_id, old_vec = filler[0][2][5].id, filler[0][3][filler[0][2][5].id]
        assert old_id not in {c for c, _ in index.dense_search(old_vec, 5)}
        assert comparable(answer(SEED, [], reader)) == before
        assert "Error loading hnsw index" not in server.log_text()
    finally:
        server.stop()


def test_front_matter_change_reaches_a_replica_s_dense_filters(
    chroma_server: ChromaServer, tmp_path: Path, memo_embedder: BatchMemo
) -> None:
    """Server mode: the chunk collection's metadata (dense-search filters) follows a front
    matter change that keeps every chunk, as seen by another replica."""
    coll = new_collection()
    writer = srv_settings(chroma_server, tmp_path / "writer", coll)
    reader = srv_settings(chroma_server, tmp_path / "reader", coll)
    check_front_matter_change(tmp_path, writer, reader, memo_embedder)


# -- a dead server -------------------------------------------------------------------------------
def test_a_dead_server_gives_one_clear_error_line(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    env = child_env(tmp_path / "home", url, "citeline")
    for args, code in (
        (["citeline", "ask", SEED], 1),
        (["citeline", "ask", SEED, "--json"], 1),
        (["ingest", str(CORPUS)], 2),
    ):
        run = run_module(args, env)
        assert run.returncode == code, (args, run.returncode, run.stderr)
        lines = run.stderr.strip().splitlines()
        assert len(lines) == 1, run.stderr
        assert lines[0].startswith("error: Cannot reach the Chroma server at " + url)
        assert "CITELINE_CHROMA_URL" in lines[0]
        assert run.stdout == ""
    settings = Settings.from_env(home=tmp_path / "home", chroma_url=url)
    with pytest.raises(ChromaServerError) as err:
        open_index(settings)
    assert err.value.url == url
    with pytest.raises(ChromaServerError):
        index_exists(settings)
    with pytest.raises(ConfigError):
        open_index(settings.replace(chroma_url="127.0.0.1:8000"))


# -- one writer at a time ------------------------------------------------------------------------
def _lease(server_index: Any) -> store.Lease | None:
    return server_index.audit().lease


def _set_lease(server_index: Any, lease: store.Lease) -> None:
    server_index.manifest.set_lease(lease)


def test_one_writer_at_a_time_across_homes(
    chroma_server: ChromaServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    coll = new_collection()
    holder = open_index(srv_settings(chroma_server, tmp_path / "h1", coll), create=True)
    other = open_index(srv_settings(chroma_server, tmp_path / "h2", coll), create=True)
    host = socket.gethostname()
    with holder.writer():
        held = _lease(holder)
        assert held is not None and held.pid == os.getpid() and held.host == host
        # Another machine's ingest (another CITELINE_HOME, so the file lock does not see it).
        run = run_module(
            ["ingest", str(CORPUS)], child_env(tmp_path / "h3", chroma_server.url, coll)
        )
        assert run.returncode == 2, run.stderr
        lines = run.stderr.strip().splitlines()
        assert len(lines) == 1 and "Another ingest is writing" in lines[0], run.stderr
        assert f"pid {os.getpid()} on host {host}" in lines[0]
        with pytest.raises(IngestLockedError), other.writer():
            pass
    assert _lease(holder) is None, "released"
    assert holder.manifest.generations() == {}, "nothing was written"

    # A lease left by a dead process of this host is taken over at once.
    dead = subprocess.Popen(["true"])
    dead.wait()
    _set_lease(holder, store.Lease("crashed", host, dead.pid, time.time() + 60))
    with other.writer():
        assert _lease(other).owner == other.lease.held.owner  # type: ignore[union-attr]
    # Another host's live lease is respected; an expired one is not.
    _set_lease(holder, store.Lease("remote", "elsewhere", 1, time.time() + 60))
    with pytest.raises(IngestLockedError, match="on host elsewhere"), other.writer():
        pass
    _set_lease(holder, store.Lease("remote", "elsewhere", 1, time.time() - 1))
    with other.writer():
        pass

    # The lease is renewed while an ingest runs, and a writer that lost it commits nothing.
    other.tune(lease_renew=0.2, lease_ttl=1.0)
    item = filler_documents(1, 2, seed=3)[0]
    with other.writer():
        first = _lease(other)
        time.sleep(1.5)
        renewed = _lease(other)
        assert first is not None and renewed is not None and renewed.owner == first.owner
        assert renewed.expires > first.expires and not renewed.stale()
        _set_lease(holder, store.Lease("thief", "elsewhere", 1, time.time() + 60))
        time.sleep(0.5)
        with pytest.raises(IngestLockedError, match="lost the writer lease"):
            other.replace_documents([item])
    assert other.manifest.generations() == {}
    assert _lease(holder).owner == "thief"  # type: ignore[union-attr]


def test_a_commit_cut_before_its_stamp_reaches_running_readers_at_the_next_ingest(
    chroma_server: ChromaServer, tmp_path: Path
) -> None:
    """The window of crash point `before_stamp`, built exactly: the manifest changed, the version
    stamp did not. Running readers keep their cache; the next ingest, with nothing to write,
    moves the stamp and they catch up (a deletion leaves no generation to compare)."""
    coll = new_collection()
    writer = open_index(srv_settings(chroma_server, tmp_path / "w", coll), create=True)
    items = filler_documents(3, 2, seed=11)
    with writer.writer():
        writer.replace_documents(items)
    reader = open_index(srv_settings(chroma_server, tmp_path / "r", coll))
    all_ids = {item[0].doc_id for item in items}
    assert set(reader.documents()) == all_ids
    gone, changed = items[0][0].doc_id, items[1][0].doc_id

    def next_ingest(name: str) -> dict[str, int]:
        nxt = open_index(srv_settings(chroma_server, tmp_path / name, coll), create=True)
        with nxt.writer():
            return nxt.reconcile()

    # What a killed removal leaves: the record deleted, no stamp bump.
    writer.manifest.delete([gone])
    reader.refresh(force=True)
    assert set(reader.documents()) == all_ids, "the stamp did not move: the cache stays"
    assert next_ingest("next-1") == {"orphan_vectors": 2, "documents_missing_vectors": 0}
    reader.refresh(force=True)
    assert set(reader.documents()) == all_ids - {gone}

    # What a killed update leaves: the record rewritten with the next generation, no stamp bump.
    record = writer.manifest.records([changed])[changed]
    top = max(writer.manifest.generations().values())
    writer.manifest.put([{**record, "content_hash": "cut"}], top + 1)
    reader.refresh(force=True)
    assert reader.documents()[changed].content_hash == items[1][1]
    assert next_ingest("next-2") == {"orphan_vectors": 0, "documents_missing_vectors": 0}
    reader.refresh(force=True)
    assert reader.documents()[changed].content_hash == "cut"
    assert reader.audit().dense == {c.id for item in items[1:] for c in item[2]}


# -- kill -9 of a server-mode ingest -------------------------------------------------------------
# The "after" folder is processed as alpha (updated), delta (unchanged), gamma, omega (new), then
# the prune of beta. Points: chunk vectors written but not sentence vectors; vectors written but
# no manifest record; manifest written but the stamp not bumped; committed on the server but not
# in the writer's cache; committed with old vectors left; stale deletes half done; prune
# committed with vectors left.
POINTS = [
    "between_collections:1",
    "after_vectors:2",
    "before_stamp:1",
    "before_commit:1",
    "after_commit:1",
    "between_deletes:1",
    "after_remove_commit:1",
]


def doc_versions(idx: Index) -> dict[str, tuple[str, frozenset[str]]]:
    """Each cached document's content hash and chunk ids."""
    chunks: dict[str, set[str]] = {}
    for row in idx.audit().rows:
        chunks.setdefault(row.doc_id, set()).add(row.id)
    return {
        d: (rec.content_hash, frozenset(chunks.get(d, ()))) for d, rec in idx.documents().items()
    }


def server_state(settings: Settings) -> tuple[dict[str, str], set[str]]:
    """The server's committed state as a fresh replica sees it, checked for agreement between
    the manifest, both collections and the cache built from them."""
    idx = open_index(settings)
    try:
        docs, chunks, fts, _ = cache_state(idx)
        audit = idx.audit()
        listed = {c[0] for r in audit.manifest.values() for c in r["chunks"]}
        dense = audit.dense
        sentence_ids = audit.sentence_collection
        per_chunk = {cid: len(ch.sentences) for cid, (ch, _) in idx.get_chunks(chunks).items()}
        top = max(idx.manifest.generations().values(), default=0)
    finally:
        idx.close()
    assert len(chunks) == len(set(chunks)) and chunks == fts, "no duplicates; FTS agrees"
    assert set(chunks) == listed == dense, "cache, manifest and dense collection agree"
    assert sentence_ids == {f"{c}:{i}" for c, n in per_chunk.items() for i in range(n)}
    assert audit.stamp is not None and audit.stamp >= top, "the stamp covers every generation"
    return docs, set(chunks)


def test_kill_9_of_a_server_ingest_converges(
    chroma_server: ChromaServer,
    tmp_path: Path,
    memo_embedder: BatchMemo,
    forker: Forker,
    crash_corpora: tuple[Path, Path],
) -> None:
    before, after = crash_corpora  # the library the embedded-mode crash tests use

    states, versions = {}, {}
    for name, folder in (("before", before), ("after", after)):
        clean = new_collection()
        home = tmp_path / f"clean-{name}"
        sync([folder], srv_settings(chroma_server, home, clean), embedder=memo_embedder)
        check = srv_settings(chroma_server, tmp_path / f"clean-{name}-check", clean)
        states[name] = server_state(check)
        versions[name] = doc_versions(get_engine(check).index)
    expected = states["after"]

    for n, point in enumerate(POINTS):
        coll = new_collection()
        home = tmp_path / f"writer-{n}"
        assert not sync(
            [before], srv_settings(chroma_server, home, coll), embedder=memo_embedder
        ).failed
        reader = open_index(srv_settings(chroma_server, tmp_path / f"reader-{n}", coll))
        env = child_env(home, chroma_server.url, coll, **{CRASH_ENV: point})
        crashed = forker.run("ingest", [str(after), "--prune", "--json"], env)
        assert crashed.rc == -signal.SIGKILL, (point, crashed.rc, crashed.stderr[-2000:])
        # Right after the kill, a new replica sees every document whole: old or new version.
        seen = open_index(srv_settings(chroma_server, tmp_path / f"mid-{n}", coll))
        for doc_id, version in doc_versions(seen).items():
            allowed = {v[doc_id] for v in versions.values() if doc_id in v}
            assert version in allowed, (point, doc_id)
        seen.close()
        # The next ingest runs elsewhere (another home) and takes over the dead writer's lease.
        recovery = srv_settings(chroma_server, tmp_path / f"recovery-{n}", coll)
        assert not sync([after], recovery, prune=True, embedder=memo_embedder).failed
        assert server_state(srv_settings(chroma_server, tmp_path / f"check-{n}", coll)) == expected
        # An app process that was running all along converges too.
        reader.refresh(force=True)
        docs, chunks, fts, _ = cache_state(reader)
        assert (docs, set(chunks)) == expected and chunks == fts, point
        reader.close()


# -- the store contract (tests/store_contract.py) on a server collection -------------------------
class TestServerStore(StoreContract):
    @pytest.fixture
    def store(self, chroma_server: ChromaServer, tmp_path: Path) -> Iterator[Index]:
        settings = srv_settings(chroma_server, tmp_path / "home", new_collection())
        idx = open_index(settings, create=True, tuning=Tuning(lease_settle=0.05))
        yield idx
        idx.close()
