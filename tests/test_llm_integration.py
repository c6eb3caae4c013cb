"""The LLM answerer against real servers on loopback: llama.cpp serving SmolLM2-135M-Instruct
(the same command as `make llm-server`), and HTTP servers started here that are dead, slow,
return HTTP errors or garbage, or a valid completion full of uncited and bogus claims.

Whatever a server does, `answer()` returns a well-formed Answer: only enforced claims, or the
extractive answer with a one-line notice. What the tiny model wrote is logged and saved to
reports/llm-integration.jsonl."""

from __future__ import annotations

import importlib.util
import json
import logging
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from citeline import llm_server, prompts
from citeline.answerers import llm
from citeline.config import PROJECT_ROOT, Settings
from citeline.conversation import Turn, resolve
from citeline.pipeline import answer
from citeline.text import normalize, numbers, split_sentences
from citeline.types import Answer

pytestmark = [pytest.mark.integration, pytest.mark.llm, pytest.mark.slow]
log = logging.getLogger(__name__)
SEED = "Is there a link between gut health and mental health?"
HISTORY = [
    Turn(role="user", content=SEED),
    Turn(role="assistant", content="People with IBS have higher rates of anxiety and depression."),
]
REPORT = PROJECT_ROOT / "reports" / "llm-integration.jsonl"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def llm_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The real llama.cpp server with SmolLM2-135M-Instruct on a free loopback port."""
    if importlib.util.find_spec("llama_cpp") is None:
        pytest.fail("llama-cpp-python[server] is not installed: run `make llm-install`")
    port = free_port()
    logfile = tmp_path_factory.mktemp("llm-server") / "server.log"
    with logfile.open("wb") as out:
        proc = subprocess.Popen(
            llm_server.command(port),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    try:
        llm_server.wait_ready(llm_server.base_url(port), proc)
    except llm_server.ServerError as exc:
        proc.kill()
        pytest.fail(f"{exc}\n{logfile.read_text(errors='replace')[-3000:]}")
    yield llm_server.base_url(port)
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def llm_settings(base: Settings, url: str, **kw: object) -> Settings:
    return base.replace(llm="openai", llm_base_url=url, **kw)


def check_enforced(ans: Answer, settings: Settings) -> None:
    """Every claim cited, every citation a listed reference and every reference cited, each
    claim's support at least the threshold, every number of a claim in each passage it cites."""
    refs = {r.n: r for r in ans.references}
    assert {n for c in ans.claims for n in c.citations} == set(refs)
    for c in ans.claims:
        assert c.citations, f"uncited claim: {c.text}"
        assert c.support >= settings.support_threshold, (c.text, c.support)
        for n in c.citations:
            assert n in refs
            assert numbers(c.text) <= numbers(refs[n].passage), (c.text, refs[n].passage)
    if ans.refused:
        assert ans.refusal_reason and not ans.claims
    else:
        assert ans.verdict is not None and ans.claims
    assert ans.disclaimer


def record(name: str, raw: str, ans: Answer) -> None:
    """Log and keep what the model wrote and what enforcement made of it."""
    entry = {
        "test": name,
        "question": ans.question,
        "backend": ans.backend,
        "raw_draft": raw,
        "removed_claims": [(r.text, r.citations, r.reason) for r in ans.removed_claims],
        "claims": [(c.text, c.citations, round(c.support, 3)) for c in ans.claims],
        "refused": ans.refused,
        "notices": ans.notices,
    }
    text = json.dumps(entry, ensure_ascii=False, indent=2)
    log.info("LLM answer:\n%s", text)
    print(text)
    REPORT.parent.mkdir(exist_ok=True)
    with REPORT.open("a", encoding="utf-8") as f:
        f.write(json.dumps(entry, ensure_ascii=False) + "\n")


# ------------------------------------------------------------------ the real model


@pytest.mark.parametrize(
    ("question", "audience"),
    [
        ("Should FMT be used to treat depression?", "clinician"),
        (SEED, "patient"),
        ("How common are anxiety and depression in people with IBS?", "clinician"),
    ],
)
def test_real_model_answers_keep_only_enforced_claims(
    llm_url: str, corpus_settings: Settings, question: str, audience: str
) -> None:
    settings = llm_settings(corpus_settings, llm_url, llm_timeout=300.0)
    tokens: list[str] = []
    ans = answer(question, [], settings, audience=audience, on_token=tokens.append)
    raw = "".join(tokens)
    record(f"real:{question}", raw, ans)
    model = f"openai:{llm_server.MODEL_ALIAS}"
    assert not any("did not answer" in n for n in ans.notices)
    assert raw.strip(), "the model streamed no tokens"
    check_enforced(ans, settings)
    assert not ans.refused, "the corpus covers this question: a refusal would be false"
    # Nothing the model wrote is shown unless it survived enforcement.
    shown = {c.text for c in ans.claims}
    assert shown.isdisjoint({r.text for r in ans.removed_claims if r.reason == "no citation"})
    if ans.backend != model:
        # None of the model's sentences survived: the extractive answer is shown, and says so.
        check_unsupported_fallback(ans, settings, model)
        assert ans.removed_claims, "a fallback without any removed model sentence"


def check_unsupported_fallback(ans: Answer, settings: Settings, model: str) -> None:
    notice = prompts.render("llm_unsupported.md", backend=model)
    assert notice in ans.notices, ans.notices
    assert ans.backend == "extractive"
    # the query that was searched, for the same audience
    expected = extractive(settings, ans.standalone_query, audience=ans.audience)
    assert [c.text for c in ans.claims] == [c.text for c in expected.claims]


def test_real_model_condenses_follow_ups_or_falls_back_to_rules(
    llm_url: str, corpus_settings: Settings
) -> None:
    settings = llm_settings(corpus_settings, llm_url, llm_timeout=300.0)
    question = "what about probiotics?"
    answerer = llm.LLMAnswerer(settings)
    got = resolve(question, HISTORY, answerer.condense)
    assert answerer.failure is None
    # Temperature 0: the same request gives the same text, so we can see what the model wrote.
    model = llm.chat_model(settings, answerer.model_name())
    raw = model.invoke(llm.condense_messages(question, HISTORY)).text
    cleaned = llm.clean_query(raw)
    plausible = llm.plausible_query(cleaned, question, HISTORY)
    log.info("condense: raw %r -> %r (plausible: %s)", raw, got, plausible)
    print(f"condense raw={raw!r} used={got!r} plausible={plausible}")
    assert got == (cleaned if plausible else resolve(question, HISTORY))
    ans = answer(question, HISTORY, settings)
    assert ans.standalone_query == got
    check_enforced(ans, settings)


def cli_ask_json(home: Path, url: str, question: str) -> dict:
    """`python -m citeline ask --json` in a fresh process, answered through `url`."""
    env = {
        "CITELINE_HOME": str(home),
        "CITELINE_LLM": "openai",
        "CITELINE_LLM_BASE_URL": url,
        "CITELINE_LLM_TIMEOUT": "300",
        "PATH": "/usr/bin:/bin",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "PYTHONPATH": str(PROJECT_ROOT),
    }
    out = subprocess.run(
        [sys.executable, "-m", "citeline", "ask", question, "--json"],
        capture_output=True,
        text=True,
        env=env,
        cwd=PROJECT_ROOT,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    print(json.dumps({k: data[k] for k in ("backend", "verdict", "sections", "removed_claims")}))
    refs = {r["n"] for r in data["references"]}
    claims = [c for s in data["sections"] for c in s["claims"]]
    if data["verdict"]:
        claims.append(
            {"text": data["verdict"], "citations": data["verdict_citations"], "support": 1.0}
        )
    for c in claims:
        assert c["citations"] and set(c["citations"]) <= refs, c
    assert {n for c in claims for n in c["citations"]} == refs
    assert data["refused"] == (not claims)
    return data


def test_cli_ask_json_names_the_model(llm_url: str, corpus_settings: Settings) -> None:
    """The JSON names the backend whose sentences are shown: the model when any of its
    sentences survived enforcement, else the extractive answer with the notice saying why."""
    model = f"openai:{llm_server.MODEL_ALIAS}"
    # The real model: what SmolLM2 writes at temperature 0 changes with the passages it is
    # given, so either outcome may happen; each must be reported as it is.
    data = cli_ask_json(corpus_settings.home_path, llm_url, SEED)
    if data["backend"] != model:
        assert data["backend"] == "extractive", data["backend"]
        assert prompts.render("llm_unsupported.md", backend=model) in data["notices"]
        assert data["removed_claims"] and all(r["label"] for r in data["removed_claims"])

    # A model whose draft quotes passage 1 and cites it: its answer is shown and named.
    def server(h: BaseHTTPRequestHandler) -> None:
        if h.path.endswith("/models"):
            return send(h, 200, models_json(), "application/json")
        body = read_body(h)
        prompt = body["messages"][-1]["content"]
        m = re.search(r'<passage n="1" source="[^"]*">\n(.*?)\n</passage>', prompt, re.S)
        quoted = next(s for s in split_sentences(m.group(1)) if len(s) > 40) if m else ""
        draft = f"{quoted} [1]"
        if body.get("stream"):
            send(h, 200, sse(draft), "text/event-stream")
        else:
            send(h, 200, completion(draft), "application/json")

    with loopback_server(server) as url:
        data = cli_ask_json(corpus_settings.home_path, url, SEED)
    assert data["backend"] == "openai:fake-model", data["notices"]
    assert not any("wrote no sentence" in n for n in data["notices"]), data["notices"]


# ------------------------------------------------------------------ failing servers


@contextmanager
def loopback_server(handle: Callable[[BaseHTTPRequestHandler], None]) -> Iterator[str]:
    """A real HTTP server on a free loopback port; `handle` answers every GET and POST."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            handle(self)

        def do_POST(self) -> None:
            handle(self)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


def send(h: BaseHTTPRequestHandler, status: int, body: bytes, ctype: str) -> None:
    try:
        h.send_response(status)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)
    except OSError:  # the client gave up first (the slow server)
        pass


def read_body(h: BaseHTTPRequestHandler) -> dict:
    n = int(h.headers.get("Content-Length") or 0)
    return json.loads(h.rfile.read(n) or b"{}")


def models_json() -> bytes:
    return json.dumps(
        {"object": "list", "data": [{"id": "fake-model", "object": "model"}]}
    ).encode()


def sse(content: str) -> bytes:
    def event(delta: dict, finish: str | None = None) -> str:
        chunk = {
            "id": "chatcmpl-1",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": "fake-model",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        return f"data: {json.dumps(chunk)}\n\n"

    words = re.findall(r"\S+\s*", content)
    body = event({"role": "assistant", "content": ""})
    body += "".join(event({"content": w}) for w in words)
    body += event({}, "stop") + "data: [DONE]\n\n"
    return body.encode()


def completion(content: str) -> bytes:
    return json.dumps(
        {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 0,
            "model": "fake-model",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": "stop",
                }
            ],
        }
    ).encode()


def extractive(
    settings: Settings,
    question: str,
    history: list[Turn] | None = None,
    audience: str | None = None,
) -> Answer:
    return answer(question, history or [], settings.replace(llm="none"), audience=audience)


def check_fallback(ans: Answer, settings: Settings, url: str, reason: str) -> None:
    notice = (
        f"The language model at {url} did not answer ({reason}); showing the extractive answer."
    )
    assert notice in ans.notices, ans.notices
    assert ans.backend == "extractive"
    check_enforced(ans, settings)
    expected = extractive(settings, ans.question)
    assert [c.text for c in ans.claims] == [c.text for c in expected.claims]
    assert not ans.refused


def test_dead_server_falls_back_to_the_extractive_answer(corpus_settings: Settings) -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    for model in ("", "some-model"):  # model lookup fails / the chat request fails
        settings = llm_settings(corpus_settings, url, llm_model=model)
        ans = answer(SEED, [], settings)
        check_fallback(ans, settings, url, "connection refused")


def test_dead_server_follow_up_uses_the_rule_based_query_and_waits_once(
    corpus_settings: Settings,
) -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    settings = llm_settings(corpus_settings, url, llm_model="m")
    ans = answer("what about probiotics?", HISTORY, settings)
    assert ans.standalone_query == resolve("what about probiotics?", HISTORY)
    assert sum("did not answer" in n for n in ans.notices) == 1
    assert ans.backend == "extractive"
    check_enforced(ans, settings)


def test_slow_server_times_out_and_falls_back(corpus_settings: Settings) -> None:
    calls: list[str] = []

    def slow(h: BaseHTTPRequestHandler) -> None:
        calls.append(h.path)
        time.sleep(30)
        send(h, 200, models_json(), "application/json")

    with loopback_server(slow) as url:
        for model in ("", "some-model"):
            settings = llm_settings(corpus_settings, url, llm_model=model, llm_timeout=1.0)
            t0 = time.monotonic()
            ans = answer(SEED, [], settings)
            elapsed = time.monotonic() - t0
            check_fallback(ans, settings, url, "timed out after 1 s")
            assert elapsed < 20, f"waited {elapsed:.1f} s for a server that takes 30 s"
    assert "/v1/models" in calls and "/v1/chat/completions" in calls


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("invalid-json", "invalid response"),
        ("sse-garbage", "invalid response"),
        ("http-500", "HTTP 500"),
        ("empty", "returned no usable text"),
    ],
)
def test_garbage_server_falls_back(corpus_settings: Settings, mode: str, reason: str) -> None:
    def garbage(h: BaseHTTPRequestHandler) -> None:
        if h.command == "POST":
            read_body(h)
        if h.path.endswith("/models"):
            send(h, 200, models_json(), "application/json")
        elif mode == "invalid-json":
            send(h, 200, b'{"choices": [{"delta": {"content": "Gut', "application/json")
        elif mode == "sse-garbage":
            send(h, 200, b"data: {not json at all\n\n", "text/event-stream")
        elif mode == "http-500":
            send(h, 500, b'{"error": {"message": "model crashed"}}', "application/json")
        else:
            send(h, 200, sse(""), "text/event-stream")

    with loopback_server(garbage) as url:
        settings = llm_settings(corpus_settings, url)
        ans = answer(SEED, [], settings)
        record(f"garbage:{mode}", "", ans)
        check_fallback(ans, settings, url, reason)


def test_model_list_that_is_not_json_falls_back(corpus_settings: Settings) -> None:
    def garbage(h: BaseHTTPRequestHandler) -> None:
        send(h, 200, b"<html>not an API</html>", "application/json")

    with loopback_server(garbage) as url:
        settings = llm_settings(corpus_settings, url)
        check_fallback(answer(SEED, [], settings), settings, url, "invalid response")


def test_valid_completion_with_uncited_and_bogus_claims_keeps_only_enforced_ones(
    corpus_settings: Settings,
) -> None:
    """The server answers properly, but with an uncited sentence quoted from passage 2, a claim
    citing a passage that does not exist ([99]) and an uncited invention."""
    drafts: list[str] = []

    def server(h: BaseHTTPRequestHandler) -> None:
        if h.path.endswith("/models"):
            return send(h, 200, models_json(), "application/json")
        body = read_body(h)
        prompt = body["messages"][-1]["content"]
        m = re.search(r'<passage n="2" source="[^"]*">\n(.*?)\n</passage>', prompt, re.S)
        assert m, prompt[:500]
        quoted = next(s for s in split_sentences(m.group(1)) if len(s) > 40 and s[-1] == ".")
        draft = (
            f"{quoted} Aspirin cures 97% of depression [99]. The moon is made of cheese. {quoted}"
        )
        drafts.append(draft)
        if body.get("stream"):
            send(h, 200, sse(draft), "text/event-stream")
        else:
            send(h, 200, completion(draft), "application/json")

    with loopback_server(server) as url:
        settings = llm_settings(corpus_settings, url)
        tokens: list[str] = []
        ans = answer(SEED, [], settings, on_token=tokens.append)
    assert drafts and "".join(tokens) == drafts[0]
    record("uncited-and-bogus", drafts[0], ans)
    assert ans.backend == "openai:fake-model"
    assert not any("did not answer" in n for n in ans.notices)
    check_enforced(ans, settings)
    removed = {r.text: r.reason for r in ans.removed_claims}
    assert removed["Aspirin cures 97% of depression."] == "cites a passage that was not retrieved"
    assert removed["The moon is made of cheese."] == "no citation"
    # The uncited quotation was re-attributed to a passage that contains it, and shown once.
    quoted = normalize(split_sentences(drafts[0])[0])
    kept = [c for c in ans.claims if c.text == quoted]
    assert len(kept) == 1 and ans.verdict is kept[0]
    refs = {r.n: r for r in ans.references}
    assert all(quoted in normalize(refs[n].passage) for n in kept[0].citations)


def test_valid_condense_and_implausible_condense_over_http(corpus_settings: Settings) -> None:
    """Condense requests (not streamed) get `reply`; drafting gets an uncited quotation."""
    replies = iter(
        [
            "Standalone query: probiotics for gut health and mental health",
            "Probiotics are living microorganisms. " * 20,
        ]
    )

    def server(h: BaseHTTPRequestHandler) -> None:
        if h.path.endswith("/models"):
            return send(h, 200, models_json(), "application/json")
        body = read_body(h)
        if body.get("stream"):
            send(h, 200, sse("Nothing useful here."), "text/event-stream")
        else:
            send(h, 200, completion(next(replies)), "application/json")

    with loopback_server(server) as url:
        settings = llm_settings(corpus_settings, url)
        first = answer("what about probiotics?", HISTORY, settings)
        second = answer("what about probiotics?", HISTORY, settings)
    assert first.standalone_query == "probiotics for gut health and mental health"
    assert second.standalone_query == resolve("what about probiotics?", HISTORY)
    for ans in (first, second):
        # The draft has no supported sentence: rather than a false "the guidelines do not
        # address this", the extractive answer is shown with a notice naming the model.
        check_unsupported_fallback(ans, settings, "openai:fake-model")
        assert not ans.refused and ans.claims
        assert ans.removed_claims[0].text == "Nothing useful here."
        assert ans.removed_claims[0].reason == "no citation"
        check_enforced(ans, settings)


def test_llm_server_module_finds_the_packaged_model() -> None:
    path = llm_server.gguf_path()
    assert path.suffix == ".gguf" and path.stat().st_size > 50_000_000
    cmd = llm_server.command(8123)
    assert cmd[1:3] == ["-m", "llama_cpp.server"]
    assert cmd[cmd.index("--model") + 1] == str(path)
    assert cmd[cmd.index("--host") + 1] == "127.0.0.1"
    assert cmd[cmd.index("--port") + 1] == "8123"
    assert cmd[0] == sys.executable
