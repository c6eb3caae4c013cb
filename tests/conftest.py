"""Shared fixtures: no egress, per-test index folders, the real model loaded once."""

from __future__ import annotations

import ipaddress
import os
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["ANONYMIZED_TELEMETRY"] = "False"

from citeline.config import PROJECT_ROOT, Settings
from citeline.environment import set_offline_defaults

set_offline_defaults()  # the test process is an entry point too

SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"
CORPUS = PROJECT_ROOT / "corpus"

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_create_connection = socket.create_connection


def _is_loopback(address: object) -> bool:
    if isinstance(address, (str, bytes)):  # AF_UNIX path
        return True
    host = address[0] if isinstance(address, tuple) else address
    if host in ("localhost", "", None):
        return True
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False


class EgressBlocked(OSError):
    pass


def _guard(address: object) -> None:
    if not _is_loopback(address):
        raise EgressBlocked(f"test tried to connect to {address!r}: only loopback is allowed")


@pytest.fixture(autouse=True, scope="session")
def no_egress() -> Iterator[None]:
    """Any non-loopback connection fails for the whole suite (the product must work offline)."""

    def connect(self: socket.socket, address: object) -> None:
        _guard(address)
        return _real_connect(self, address)  # type: ignore[arg-type]

    def connect_ex(self: socket.socket, address: object) -> int:
        _guard(address)
        return _real_connect_ex(self, address)  # type: ignore[arg-type]

    def create_connection(address: tuple, *args: object, **kwargs: object) -> socket.socket:
        _guard(address)
        return _real_create_connection(address, *args, **kwargs)  # type: ignore[arg-type]

    socket.socket.connect = connect  # type: ignore[method-assign]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]
    socket.create_connection = create_connection  # type: ignore[assignment]
    yield
    socket.socket.connect = _real_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _real_connect_ex  # type: ignore[method-assign]
    socket.create_connection = _real_create_connection


@pytest.fixture(scope="session")
def forker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """A fork server for fresh CLI processes without the import cost (tests/forkserver.py)."""
    from tests.forkserver import Forker

    f = Forker(tmp_path_factory.mktemp("forker"))
    yield f
    f.close()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The adversarial suite's counts (what the tests actually ran), after every run."""
    from tests.suite_counts import summary_lines

    lines = summary_lines()
    if lines:
        terminalreporter.section("adversarial suite")
        for line in lines:
            terminalreporter.write_line(line)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh CITELINE_HOME for one test."""
    h = tmp_path / "home"
    monkeypatch.setenv("CITELINE_HOME", str(h))
    return h


@pytest.fixture
def settings(home: Path) -> Settings:
    return Settings.from_env(home=home)


@pytest.fixture(scope="session")
def embedder():  # type: ignore[no-untyped-def]
    """The real all-MiniLM-L6-v2, loaded once for the session."""
    from citeline.embeddings import get_embedder

    return get_embedder("")


@pytest.fixture(scope="session")
def corpus_home(tmp_path_factory: pytest.TempPathFactory, embedder) -> Path:  # type: ignore[no-untyped-def]
    """The bundled corpus ingested once into a session-wide index (read-only for tests)."""
    from ingest.sync import sync

    h = tmp_path_factory.mktemp("corpus-home")
    report = sync([CORPUS], Settings.from_env(home=h), embedder=embedder)
    assert not report.failed, report.failed
    return h


@pytest.fixture
def corpus_settings(corpus_home: Path) -> Settings:
    return Settings.from_env(home=corpus_home)


@pytest.fixture(scope="session")
def small_home(tmp_path_factory: pytest.TempPathFactory, embedder) -> Path:  # type: ignore[no-untyped-def]
    """Three corpus documents ingested once: a template index that tests copy, never change."""
    from ingest.sync import sync

    root = tmp_path_factory.mktemp("small")
    src = root / "src"
    src.mkdir()
    for name in ("gut-brain-axis-overview.md", "probiotics-what-to-know.md", "nice-ibs-cg61.md"):
        shutil.copy(CORPUS / name, src / name)
    h = root / "home"
    assert not sync([src], Settings.from_env(home=h), embedder=embedder).failed
    return h


@pytest.fixture(scope="session")
def crash_corpora(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two versions of a tiny library: `after` updates alpha, keeps delta, adds gamma and omega
    and drops beta (an ingest of `after` with --prune then prunes it)."""
    from tests.test_ingest_integration import write

    root = tmp_path_factory.mktemp("crash-corpora")
    before, after = root / "before", root / "after"
    before.mkdir()
    write(before, "alpha", "Alpha therapy is recommended for adults. It is taken daily.")
    write(before, "beta", "Beta screening should be offered yearly.")
    write(before, "delta", "Delta advice is kept as it is.")
    after.mkdir()
    write(
        after, "alpha", "Alpha therapy is recommended for adults and children. It is taken daily."
    )
    write(after, "delta", "Delta advice is kept as it is.")
    write(after, "gamma", "Gamma diet advice is given to every patient. It helps. It is cheap.")
    write(after, "omega", "Omega checks happen each month.")
    return before, after


def copy_corpus(dest: Path) -> Path:
    shutil.copytree(CORPUS, dest)
    return dest


def shared_data(*parts: str) -> Path:
    """A path under ../shared/data, or skip the test with the reason."""
    p = SHARED_DATA.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"third-party data not present: {p} (see ../shared/data/README.md)")
    return p
