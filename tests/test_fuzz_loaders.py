"""Malformed input: a zoo of broken files through the real ingest CLI, and hypothesis-generated
files through the loaders. A bad file costs one line and exit code 1, never the run; nothing
hangs (every load runs under a time bound); no document lands half-indexed."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from citeline.errors import LoaderError
from ingest.chunking import chunk_blocks
from ingest.loaders import load
from ingest.sync import Report
from tests import suite_counts
from tests.forkserver import Forker, child_env
from tests.malformed import FRONT, seeds, zoo
from tests.test_crash_recovery import assert_readable, snapshot

# Characters that must never reach the index: C0/C1 controls (but tab, newline, CR) and the
# bidirectional overrides that make text display in another order than it is read.
FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
LOAD_SECONDS = 60  # generous: the 2-core CI box is shared; a healthy load takes < 5 s


def bounded(fn: Callable[[], Any], seconds: float, what: str) -> Any:
    """fn() in a thread; the test fails if it has not returned within `seconds`."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:
            box["error"] = exc

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(seconds)
    if t.is_alive():
        pytest.fail(f"{what}: still running after {seconds} s")
    if "error" in box:
        raise box["error"]
    return box["value"]


def check_load(path: Path) -> str:
    """Load one file under a time bound: a clean one-line LoaderError, or a document whose
    every chunk is clean text. Returns "failed" or "loaded"."""
    try:
        doc = bounded(lambda: load(path), LOAD_SECONDS, str(path))
    except LoaderError as exc:
        msg = str(exc)
        assert msg and "\n" not in msg, repr(msg)
        # The loaders' safety net turns a parser bug into this message: a bug all the same.
        assert not msg.startswith("unexpected error"), msg
        return "failed"
    assert any(b.text.strip() for b in doc.blocks)
    chunks = chunk_blocks(doc.meta, doc.blocks)
    assert chunks and len({c.id for c in chunks}) == len(chunks)
    for c in chunks:
        assert not FORBIDDEN.search(c.text), repr(c.text[:200])
        assert c.sentences and all(s.strip() for s in c.sentences)
    assert not FORBIDDEN.search(doc.meta.title), repr(doc.meta.title)
    return "loaded"


# -- the zoo ----------------------------------------------------------------------------------

ZOO = zoo()


@pytest.mark.slow
def test_zoo_each_file_loads_or_fails_in_one_line_within_time(tmp_path: Path) -> None:
    for case in ZOO:
        case.build(tmp_path)
    files = [p for p in sorted(tmp_path.rglob("*")) if p.is_file() and p.suffix != ".yaml"]
    outcomes = {p.relative_to(tmp_path).as_posix(): check_load(p) for p in files}
    for case in ZOO:
        if case.name in outcomes:
            assert outcomes[case.name] == ("failed" if case.error else "loaded"), case


@pytest.mark.integration
@pytest.mark.slow
def test_zoo_ingest_reports_one_line_per_bad_file_and_indexes_only_whole_documents(
    tmp_path: Path, forker: Forker
) -> None:
    src, home = tmp_path / "src", tmp_path / "home"
    src.mkdir()
    for case in ZOO:
        case.build(src)
    good = ["zoo-good-one", "zoo-good-two"]
    for doc_id in good:
        (src / f"{doc_id}.md").write_text(
            FRONT.format(id=doc_id) + f"# {doc_id}\n\n## Advice\n\nGood {doc_id} advice.\n"
        )
    env = child_env(CITELINE_HOME=str(home))
    run = forker.run("ingest", [str(src), "--json"], env, timeout=900)
    assert run.rc == 1, run.stderr[-3000:]
    report = json.loads(run.stdout)
    failed = {Path(f["path"]).relative_to(src).as_posix(): f["error"] for f in report["failed"]}
    expected_bad = {c.name: c.error for c in ZOO if c.error}
    assert set(failed) == set(expected_bad), failed
    for name, error in failed.items():
        assert expected_bad[name] in error and "\n" not in error, (name, error)
    accepted = {c.doc_id for c in ZOO if c.error is None and c.doc_id}
    assert sorted(report["added"]) == sorted(accepted | set(good)), report["added"]

    # The plain summary (what the CLI prints without --json): one line per bad file.
    lines = Report(**report).summary().splitlines()
    bad_lines = [ln for ln in lines if ln.startswith("  ! ")]
    assert len(bad_lines) == len(expected_bad), lines
    for name in expected_bad:
        assert sum(ln.startswith(f"  ! {src / name}: ") for ln in bad_lines) == 1, name

    # Nothing partial: the index holds exactly the accepted documents, each whole.
    s = snapshot(home)
    assert_readable(s)
    assert s.dense == set(s.chunks) and s.sentences == s.expected_sentences
    assert set(s.docs) == accepted | set(good)
    for path in (p for p in src.rglob("*") if p.is_file() and p.suffix in (".md", ".txt")):
        try:
            doc = load(path)
        except LoaderError:
            continue
        ids = frozenset(c.id for c in chunk_blocks(doc.meta, doc.blocks))
        assert s.docs[doc.meta.doc_id][1] == ids, path
    assert not any(FORBIDDEN.search(t) for t in s.texts.values())
    suite_counts.record("malformed_files", len(ZOO))


# -- hypothesis -------------------------------------------------------------------------------

SUFFIXES = [".md", ".txt", ".html", ".pdf"]
SEEDS = seeds()
FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


class Counter:
    def __init__(self) -> None:
        self.n = 0


@pytest.fixture
def fuzz_count():  # type: ignore[no-untyped-def]
    c = Counter()
    yield c
    suite_counts.record("fuzz_examples", c.n)


def _write(tmp_path: Path, suffix: str, data: bytes, counter: Counter) -> Path:
    counter.n += 1
    p = tmp_path / f"fuzz-{counter.n}{suffix}"
    p.write_bytes(data)
    return p


@FUZZ
@given(suffix=st.sampled_from(SUFFIXES), data=st.binary(max_size=4096))
def test_fuzz_random_bytes(tmp_path: Path, fuzz_count: Counter, suffix: str, data: bytes) -> None:
    check_load(_write(tmp_path, suffix, data, fuzz_count))


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, bytes]:
    """A valid seed file damaged by a few byte-level edits: flip, delete, insert, truncate,
    duplicate a slice."""
    suffix = draw(st.sampled_from(SUFFIXES))
    b = bytearray(SEEDS[suffix])
    for _ in range(draw(st.integers(1, 6))):
        i = draw(st.integers(0, max(len(b) - 1, 0)))
        op = draw(st.sampled_from(["flip", "delete", "insert", "truncate", "duplicate"]))
        if op == "flip" and b:
            b[i] = draw(st.integers(0, 255))
        elif op == "delete":
            del b[i : i + draw(st.integers(1, 200))]
        elif op == "insert":
            b[i:i] = draw(st.binary(min_size=1, max_size=64))
        elif op == "truncate":
            del b[i:]
        elif op == "duplicate" and b:
            j = draw(st.integers(0, len(b) - 1))
            b[i:i] = b[j : j + draw(st.integers(1, 400))]
    return suffix, bytes(b)


@FUZZ
@given(case=mutated())
def test_fuzz_mutated_valid_files(
    tmp_path: Path, fuzz_count: Counter, case: tuple[str, bytes]
) -> None:
    suffix, data = case
    check_load(_write(tmp_path, suffix, data, fuzz_count))


_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(max_size=40),
    st.dates(),
)
_values = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
_keys = st.sampled_from(
    ["id", "title", "publisher", "year", "type", "url", "audience"]
) | st.one_of(st.text(max_size=10), st.integers())


@st.composite
def structured(draw: st.DrawFn) -> tuple[str, bytes]:
    """Well-formed containers with hostile contents: random front matter (any YAML types, keys
    that are numbers), random Unicode (controls, bidi, surrogate-free), random tag soup."""
    kind = draw(st.sampled_from(["md", "html", "txt"]))
    body = draw(st.text(max_size=600))
    if kind == "md":
        meta = draw(st.dictionaries(_keys, _values, max_size=6))
        try:
            front = yaml.safe_dump(meta, allow_unicode=True)
        except yaml.YAMLError:
            front = "title: x\n"
        heading = draw(st.text(max_size=40))
        text = f"---\n{front}---\n# {heading}\n\n{body}\n"
        return ".md", text.encode("utf-8", "surrogatepass")
    if kind == "html":
        tags = draw(
            st.lists(
                st.sampled_from(
                    ["p", "div", "h1", "h2", "h3", "li", "td", "script", "style", "main", "nav"]
                ),
                max_size=12,
            )
        )
        parts = [f"<{t}>{draw(st.text(max_size=60))}" for t in tags]
        closing = "".join(f"</{t}>" for t in reversed(tags) if draw(st.booleans()))
        return ".html", f"<html><body>{''.join(parts)}{body}{closing}</body></html>".encode(
            "utf-8", "surrogatepass"
        )
    encoding = draw(st.sampled_from(["utf-8", "utf-16", "utf-32", "latin-1", "cp1252"]))
    return ".txt", body.encode(encoding, "replace")


@FUZZ
@given(case=structured())
def test_fuzz_structured_documents(
    tmp_path: Path, fuzz_count: Counter, case: tuple[str, bytes]
) -> None:
    suffix, data = case
    check_load(_write(tmp_path, suffix, data, fuzz_count))
