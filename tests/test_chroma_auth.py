"""Credentials for the Chroma server (CITELINE_CHROMA_TOKEN, _TOKEN_HEADER, _TENANT, _DATABASE,
a user:password in CITELINE_CHROMA_URL) against a real `chroma run` behind an authenticating
loopback proxy (tests/chroma_proxy.py): ingest and answer work with the right token; a wrong
token, no token and a token in the wrong header each give one line and write nothing; the
token appears in no output, log, report or file of those runs."""

from __future__ import annotations

import dataclasses
import json
import logging
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from citeline import chroma_client
from citeline.config import PROJECT_ROOT, Settings, mask_url
from citeline.errors import ChromaCredentialsError, ChromaServerError, ConfigError
from citeline.pipeline import answer
from citeline.render import WORD_JOINER  # invisible: it keeps URLs in text from becoming links
from citeline.store import index_exists, open_index, server_cache_name
from eval.runner import run_info
from tests.chroma_proxy import AuthProxy
from tests.conftest import CORPUS
from tests.forkserver import Forker
from tests.test_server_mode import (
    SEED,
    ChromaServer,
    check_cited,
    child_env,
    new_collection,
)

TOKEN = "citeline-test-" + secrets.token_urlsafe(24)
PASSWORD = "pw-" + secrets.token_urlsafe(16)
REFUSED = "The Chroma server at {url} refused the credentials (HTTP {status}): check "


def assert_no_secret(*texts: str, folders: tuple[Path, ...] = ()) -> int:
    """No text and no file under `folders` contains the token or the password (nor the basic
    auth header made of it); returns how many files were read, so a check is never empty."""
    import base64

    needles = [TOKEN, PASSWORD, base64.b64encode(f"alice:{PASSWORD}".encode()).decode()]
    for text in texts:
        for needle in needles:
            assert needle not in text, "a secret leaked into an output"
    read = 0
    for folder in folders:
        for f in folder.rglob("*"):
            if f.is_file():
                data = f.read_bytes()
                read += 1
                for needle in needles:
                    assert needle.encode() not in data, f"a secret leaked into {f}"
    return read


# -- unit: parameters, masking, reports (no server) ---------------------------------------------
def test_the_url_is_masked_and_settings_never_show_a_secret() -> None:
    url = f"https://alice:{PASSWORD}@chroma.internal:8443/chroma"
    assert mask_url(url) == "https://alice:***@chroma.internal:8443/chroma"
    assert mask_url(f"https://{TOKEN}@h/x") == "https://***@h/x"
    assert mask_url("http://127.0.0.1:8000") == "http://127.0.0.1:8000"
    s = Settings.from_env(
        {"CITELINE_CHROMA_URL": url, "CITELINE_CHROMA_TOKEN": TOKEN, "CITELINE_APP_PASSWORD": "x1"}
    )
    shown = repr(s) + json.dumps(s.public()) + str(s)
    assert_no_secret(shown)
    assert "x1" not in json.dumps(s.public()) and s.public()["chroma_token"] == "***"
    # An eval report's run section (report.json / .md / .html are made from it).
    info = json.dumps(run_info(s, "model", [], commit="abc"))
    assert_no_secret(info)
    assert '"chroma_url": "https://alice:***@chroma.internal:8443/chroma"' in info
    assert PASSWORD not in server_cache_name(s) and TOKEN not in server_cache_name(s)


def test_endpoint_sends_the_token_where_it_is_asked_for() -> None:
    def ep(**env: str) -> chroma_client.Endpoint:
        return chroma_client.endpoint(
            Settings.from_env({f"CITELINE_{k}": v for k, v in env.items()})
        )

    bearer = ep(CHROMA_URL="http://10.0.0.5:8000", CHROMA_TOKEN=TOKEN)
    assert bearer.headers == {"Authorization": f"Bearer {TOKEN}"} and not bearer.cloud
    assert (bearer.host, bearer.port, bearer.ssl) == ("10.0.0.5", 8000, False)
    header = ep(CHROMA_URL="http://h", CHROMA_TOKEN=TOKEN, CHROMA_TOKEN_HEADER="X-Chroma-Token")
    assert header.headers == {"X-Chroma-Token": TOKEN}
    basic = ep(CHROMA_URL=f"https://alice:{PASSWORD}@proxy.internal/chroma")
    assert basic.headers["Authorization"].startswith("Basic ")
    assert basic.host == "https://proxy.internal/chroma" and basic.url.count("***") == 1
    assert_no_secret(repr(bearer), repr(basic), basic.host, basic.url)
    # A server that echoes a credential back: the message built from its text does not.
    for sent, echo in ((bearer, f"Bearer {TOKEN}"), (basic, basic.headers["Authorization"])):
        scrubbed = chroma_client._scrub(f"bad request: Authorization: {echo}", sent)
        assert_no_secret(scrubbed)
        assert scrubbed.startswith("bad request: Authorization: ")
    cloud = ep(
        CHROMA_URL="https://api.trychroma.com",
        CHROMA_TOKEN=TOKEN,
        CHROMA_TENANT="t-1",
        CHROMA_DATABASE="d-1",
    )
    assert cloud.cloud and (cloud.host, cloud.port, cloud.ssl) == ("api.trychroma.com", 443, True)
    assert (cloud.tenant, cloud.database, cloud.token) == ("t-1", "d-1", TOKEN)
    with pytest.raises(ConfigError, match="Chroma Cloud: set CITELINE_CHROMA_TOKEN"):
        ep(CHROMA_URL="https://api.trychroma.com")
    with pytest.raises(ConfigError, match="use one of them") as both:
        ep(CHROMA_URL=f"http://alice:{PASSWORD}@h:1", CHROMA_TOKEN=TOKEN)
    assert_no_secret(str(both.value))
    with pytest.raises(ConfigError, match="CITELINE_CHROMA_TOKEN_HEADER"):
        ep(CHROMA_URL="http://h", CHROMA_TOKEN_HEADER="Bad Header:")
    with pytest.raises(ConfigError, match="CITELINE_CHROMA_TOKEN contains") as bad:
        ep(CHROMA_URL="http://h", CHROMA_TOKEN=TOKEN + "\r\nX-Evil: 1")
    assert_no_secret(str(bad.value))


# -- a real server behind the proxy ---------------------------------------------------------------
@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChromaServer]:
    server = ChromaServer(tmp_path_factory.mktemp("auth-chroma") / "data")
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("auth-logs")


@pytest.fixture(scope="module")
def bearer_proxy(backend: ChromaServer, logs: Path) -> Iterator[AuthProxy]:
    with AuthProxy(backend.port, TOKEN, "bearer", logs / "bearer-proxy.log") as proxy:
        yield proxy


@pytest.fixture(scope="module")
def library(
    bearer_proxy: AuthProxy, tmp_path_factory: pytest.TempPathFactory, forker: Forker
) -> tuple[str, Path]:
    """The corpus ingested through the proxy with the right token by the real ingest CLI."""
    coll = new_collection()
    home = tmp_path_factory.mktemp("auth-writer")
    env = child_env(home, bearer_proxy.url, coll, CITELINE_CHROMA_TOKEN=TOKEN)
    run = forker.run("ingest", [str(CORPUS), "--json"], env)
    assert run.rc == 0, run.stderr
    report = json.loads(run.stdout)
    assert report["added"] and not report["failed"]
    assert_no_secret(run.stdout, run.stderr, folders=(home,))
    return coll, home


def backend_collections(backend: ChromaServer) -> set[str]:
    """What the Chroma server holds, asked directly (not through the proxy)."""
    import chromadb

    client = chromadb.HttpClient(host="127.0.0.1", port=backend.port)
    return {c.name for c in client.list_collections()}


@pytest.mark.server
@pytest.mark.integration
@pytest.mark.slow
def test_ingest_and_answer_work_through_the_proxy_with_the_token(
    library: tuple[str, Path],
    bearer_proxy: AuthProxy,
    backend: ChromaServer,
    forker: Forker,
    tmp_path: Path,
    logs: Path,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    coll, writer_home = library
    assert {coll, f"{coll}-manifest", f"{coll}-sentences"} <= backend_collections(backend)
    # A replica with its own home answers through the proxy: the CLI process ...
    env = child_env(tmp_path / "cli", bearer_proxy.url, coll, CITELINE_CHROMA_TOKEN=TOKEN)
    run = forker.run("citeline", ["ask", SEED, "--json"], env)
    assert run.rc == 0, run.stderr
    check_cited(json.loads(run.stdout))
    # ... and this process, with every log record kept.
    caplog.set_level(logging.DEBUG)
    settings = Settings.from_env(
        home=tmp_path / "replica", chroma_url=bearer_proxy.url, collection=coll, chroma_token=TOKEN
    )
    assert index_exists(settings)
    ans = json.loads(json.dumps(answer(SEED, [], settings).to_dict()))
    check_cited(ans)
    cli = json.loads(run.stdout)
    ans.pop("timings_ms"), cli.pop("timings_ms")
    assert ans == cli, "the CLI process and this one give the same answer"
    assert bearer_proxy.forwarded > 0
    out, err = capfd.readouterr()
    files = assert_no_secret(
        run.stdout,
        run.stderr,
        caplog.text,
        out,
        err,
        json.dumps(ans),
        folders=(tmp_path, writer_home, logs, backend.path.parent),
    )
    assert files >= 4  # the caches, the proxy's log, the server's log and its data


BAD_CREDENTIALS = {
    "a wrong token": ({"CITELINE_CHROMA_TOKEN": "wrong-" + secrets.token_urlsafe(12)}, 403),
    "no token": ({}, 401),
    "the token in the wrong header": (
        {"CITELINE_CHROMA_TOKEN": TOKEN, "CITELINE_CHROMA_TOKEN_HEADER": "X-Chroma-Token"},
        401,
    ),
}


@pytest.mark.server
@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.parametrize("case", list(BAD_CREDENTIALS))
def test_refused_credentials_give_one_line_and_write_nothing(
    case: str,
    bearer_proxy: AuthProxy,
    backend: ChromaServer,
    forker: Forker,
    tmp_path: Path,
    logs: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    extra, status = BAD_CREDENTIALS[case]
    coll = new_collection()
    home = tmp_path / "home"
    env = child_env(home, bearer_proxy.url, coll, **extra)
    refused_before = len(bearer_proxy.refused)
    outputs = []
    for cmd, args, code in (
        ("ingest", [str(CORPUS)], 2),
        ("citeline", ["ask", SEED], 1),
        ("citeline", ["ask", SEED, "--json"], 1),
    ):
        run = forker.run(cmd, args, env)
        assert run.rc == code, (case, cmd, run.rc, run.stderr)
        lines = run.stderr.strip().splitlines()
        assert len(lines) == 1, run.stderr
        assert lines[0].startswith(
            "error: "
            + REFUSED.format(url=bearer_proxy.url, status=status)
            + "CITELINE_CHROMA_TOKEN"
        ), lines[0]
        assert run.stdout == ""
        outputs += [run.stdout, run.stderr]
    assert set(bearer_proxy.refused[refused_before:]) == {status}
    # Nothing written: not on the server, not a cache in the home folder.
    assert not {c for c in backend_collections(backend) if c.startswith(coll)}
    assert not list(home.glob("server-cache-*"))
    # In this process too: the same one line as a ChromaCredentialsError.
    caplog.set_level(logging.DEBUG)
    settings = Settings.from_env(
        env={k: v for k, v in env.items() if k.startswith("CITELINE_")}, home=tmp_path / "own"
    )
    for call in (lambda: open_index(settings, create=True), lambda: index_exists(settings)):
        with pytest.raises(ChromaCredentialsError) as err:
            call()
        assert err.value.status == status and err.value.url == bearer_proxy.url
        assert str(err.value).startswith(REFUSED.format(url=bearer_proxy.url, status=status))
        outputs.append(str(err.value))
    assert_no_secret(*outputs, caplog.text, folders=(tmp_path, logs))


@pytest.mark.server
@pytest.mark.integration
@pytest.mark.slow
def test_the_app_shows_the_refusal_as_a_notice(
    library: tuple[str, Path],
    bearer_proxy: AuthProxy,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    coll, _ = library
    for k, v in child_env(tmp_path / "app", bearer_proxy.url, coll).items():
        if k.startswith("CITELINE_"):
            monkeypatch.setenv(k, v)
    monkeypatch.setenv("CITELINE_CHROMA_TOKEN", "wrong-" + secrets.token_urlsafe(12))
    monkeypatch.delenv("CITELINE_APP_PASSWORD", raising=False)
    at = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=180)
    at.run()
    assert not at.exception
    notices = [e.value.replace("\\", "").replace(WORD_JOINER, "") for e in at.sidebar.error]
    assert any(
        n.startswith(REFUSED.format(url=bearer_proxy.url, status=403) + "CITELINE_CHROMA_TOKEN")
        for n in notices
    ), notices
    at.chat_input[0].set_value(SEED).run()
    errors = [e.value.replace("\\", "").replace(WORD_JOINER, "") for e in at.main.error]
    assert any("refused the credentials (HTTP 403)" in e for e in errors), errors
    assert not list((tmp_path / "app").glob("server-cache-*"))


@pytest.mark.server
@pytest.mark.integration
@pytest.mark.slow
def test_a_token_rotated_under_a_running_replica_gives_the_same_line(
    library: tuple[str, Path], bearer_proxy: AuthProxy, tmp_path: Path
) -> None:
    coll, _ = library
    settings = Settings.from_env(
        home=tmp_path / "r", chroma_url=bearer_proxy.url, collection=coll, chroma_token=TOKEN
    )
    idx = open_index(settings)
    try:
        assert idx.documents()
        bearer_proxy.token = "rotated-" + secrets.token_urlsafe(12)
        with pytest.raises(ChromaCredentialsError) as err:
            idx.refresh(force=True)
        assert str(err.value).startswith(REFUSED.format(url=bearer_proxy.url, status=403))
        assert idx.documents(), "the cache keeps answering from what it has"
    finally:
        bearer_proxy.token = TOKEN
        idx.close()


@pytest.mark.server
@pytest.mark.integration
@pytest.mark.slow
def test_x_chroma_token_basic_auth_and_cloud_client_through_proxies(
    library: tuple[str, Path], backend: ChromaServer, tmp_path: Path, logs: Path
) -> None:
    coll, _ = library
    outputs: list[str] = []
    with AuthProxy(backend.port, TOKEN, "x-chroma-token", logs / "x-proxy.log") as proxy:
        base = Settings.from_env(home=tmp_path / "x", chroma_url=proxy.url, collection=coll)
        right = base.replace(chroma_token=TOKEN, chroma_token_header="X-Chroma-Token")
        assert open_index(right).documents()
        with pytest.raises(ChromaCredentialsError) as err:  # bearer where X-Chroma-Token is read
            open_index(base.replace(home=tmp_path / "x2", chroma_token=TOKEN))
        outputs.append(str(err.value))
        assert err.value.status == 401
        # chromadb.CloudClient (what a Chroma Cloud URL gets) sends the key as X-Chroma-Token
        # and takes tenant and database from what the server says the key may use.
        ep = chroma_client.endpoint(
            base.replace(chroma_url="https://api.trychroma.com", chroma_token=TOKEN)
        )
        local = dataclasses.replace(ep, host="127.0.0.1", port=proxy.port, ssl=False)
        client: Any = chroma_client._open_client(local)
        assert coll in {c.name for c in client.list_collections()}
        assert (client.tenant, client.database) == ("default_tenant", "default_database")
    with AuthProxy(backend.port, f"alice:{PASSWORD}", "basic", logs / "basic-proxy.log") as proxy:
        url = proxy.url.replace("http://", f"http://alice:{PASSWORD}@")
        good = Settings.from_env(home=tmp_path / "b", chroma_url=url, collection=coll)
        assert open_index(good).documents()
        with pytest.raises(ChromaCredentialsError) as err:
            open_index(good.replace(chroma_url=url.replace(PASSWORD, "nope"), home=tmp_path / "c"))
        shown = proxy.url.replace("http://", "http://alice:***@")
        assert str(err.value).startswith(REFUSED.format(url=shown, status=403))
        assert "user:password in CITELINE_CHROMA_URL" in str(err.value)
        outputs.append(str(err.value))
    # A tenant the server does not have: one line naming the settings.
    with pytest.raises(ChromaServerError, match="CITELINE_CHROMA_TENANT") as missing:
        open_index(base.replace(chroma_url=backend.url, chroma_tenant="no-such-tenant"))
    assert str(missing.value).startswith(f"The Chroma server at {backend.url} has no tenant")
    outputs.append(str(missing.value))
    assert_no_secret(*outputs, folders=(tmp_path, logs))
