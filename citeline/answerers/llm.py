"""The optional LLM answerer: a LangChain chat model drafts from the retrieved passages.

The draft is only a draft: the pipeline parses it with `citations.parse_draft` and runs the same
enforcement as for the extractive answerer, so nothing uncited or unsupported reaches the user
whatever the model writes. Every failure (dead server, timeout, HTTP error, garbage) becomes an
`LLMError` with a one-line reason; the pipeline then shows the extractive answer with a notice.

Prompts are files in prompts/ (answer_*.md, condense_*.md). Passages, history and the question
are untrusted: they are wrapped in tags the model is told to treat as data, and any text inside
them that could close or open those tags is defused first.
"""

from __future__ import annotations

import logging
import math
import os
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

from citeline import prompts
from citeline.citations import DraftSentence, parse_draft
from citeline.config import Settings
from citeline.conversation import Turn, resolve
from citeline.errors import LLMError
from citeline.retrieve import Retrieval
from citeline.sections import section_for
from citeline.text import content_words

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel
    from langchain_core.messages import BaseMessage

log = logging.getLogger(__name__)

DEFAULT_URLS = {"openai": "https://api.openai.com/v1", "ollama": "http://127.0.0.1:11434"}
PROBE_TTL = 15.0  # seconds a reachability check is reused (sidebar, model-name lookup)
PROBE_TIMEOUT = 5.0  # a reachability check never waits longer than this
HISTORY_TURNS = 6  # condense sees at most this many recent turns ...
HISTORY_CHARS = 600  # ... each cut to this length
MAX_QUERY_CHARS = 400  # a condensed query longer than this is implausible

_TAG = re.compile(r"<(\s*/?\s*)(passage|question|history)\b", re.IGNORECASE)
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s.*$", re.MULTILINE)
_EMPHASIS = re.compile(r"(\*\*|__|`)")
_QUERY_PREFIX = re.compile(
    r"^\s*(standalone\s+(search\s+)?(query|question)|search\s+query|query|question)\s*:\s*",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Probe:
    """Whether the configured server answers, and the models it lists."""

    reachable: bool
    models: tuple[str, ...] = ()
    error: str = ""


@dataclass
class Draft:
    sentences: list[DraftSentence]
    raw: str
    backend: str


def base_url(settings: Settings) -> str:
    return (settings.llm_base_url or DEFAULT_URLS.get(settings.llm, "")).rstrip("/")


def _api_key(settings: Settings) -> str:
    # Local servers ignore the key, but the OpenAI client insists on one.
    return settings.llm_api_key or os.environ.get("OPENAI_API_KEY", "") or "none"


def _headers(settings: Settings) -> dict[str, str]:
    key = _api_key(settings)
    return {"Authorization": f"Bearer {key}"} if key != "none" else {}


# ---------------------------------------------------------------- chat models and reachability

_lock = threading.Lock()
_models: dict[tuple[Any, ...], BaseChatModel] = {}
_probes: dict[tuple[Any, ...], tuple[float, Probe]] = {}


def chat_model(settings: Settings, model: str) -> BaseChatModel:
    """The LangChain chat model for these settings (built once, shared by all sessions)."""
    key = (
        settings.llm,
        base_url(settings),
        model,
        settings.llm_api_key,
        settings.llm_timeout,
        settings.llm_max_tokens,
        settings.llm_temperature,
    )
    with _lock:
        if key not in _models:
            _models[key] = _build(settings, model)
        return _models[key]


def _build(settings: Settings, model: str) -> BaseChatModel:
    if settings.llm == "openai":
        from langchain_openai import ChatOpenAI

        return ChatOpenAI(
            base_url=base_url(settings),
            model=model,
            api_key=_api_key(settings),  # type: ignore[arg-type]
            timeout=settings.llm_timeout,
            max_retries=0,
            max_tokens=settings.llm_max_tokens,  # type: ignore[call-arg]
            temperature=settings.llm_temperature,
        )
    if settings.llm == "ollama":
        from langchain_ollama import ChatOllama

        return ChatOllama(
            base_url=base_url(settings),
            model=model,
            num_predict=settings.llm_max_tokens,
            temperature=settings.llm_temperature,
            client_kwargs={"timeout": settings.llm_timeout, "headers": _headers(settings)},
        )
    raise LLMError(f"no language model is configured (CITELINE_LLM={settings.llm})")


def probe(settings: Settings, ttl: float = PROBE_TTL) -> Probe:
    """A cheap reachability check (GET /models, or Ollama's /api/tags), reused for `ttl` s."""
    key = (settings.llm, base_url(settings), settings.llm_api_key, settings.llm_timeout)
    with _lock:
        hit = _probes.get(key)
    if hit and time.monotonic() - hit[0] < ttl:
        return hit[1]
    result = _probe(settings)
    with _lock:
        _probes[key] = (time.monotonic(), result)
    return result


def _probe(settings: Settings) -> Probe:
    timeout = min(settings.llm_timeout, PROBE_TIMEOUT)
    url = base_url(settings) + ("/api/tags" if settings.llm == "ollama" else "/models")
    try:
        r = httpx.get(url, headers=_headers(settings), timeout=timeout)
        r.raise_for_status()
        body = r.json()
        if settings.llm == "ollama":
            names = [m.get("name") or m.get("model") for m in body.get("models", [])]
        else:
            names = [m.get("id") for m in body.get("data", [])]
    except Exception as exc:
        return Probe(False, (), reason_for(exc, timeout))
    return Probe(True, tuple(str(n) for n in names if n))


def reason_for(exc: BaseException, timeout: float) -> str:
    """A short, user-facing reason for a failed call (no secrets, no stack trace)."""
    import openai

    chain: list[BaseException] = []
    e: BaseException | None = exc
    while e is not None and e not in chain:
        chain.append(e)
        e = e.__cause__ or e.__context__
    # The most specific cause anywhere in the chain wins.
    if any(
        isinstance(e, (httpx.TimeoutException, openai.APITimeoutError, TimeoutError)) for e in chain
    ):
        return f"timed out after {timeout:g} s"
    if any(isinstance(e, ConnectionRefusedError) for e in chain):
        return "connection refused"
    for e in chain:
        if isinstance(e, LLMError):
            return e.reason
        if isinstance(e, (httpx.ConnectError, openai.APIConnectionError, ConnectionError)):
            return "could not connect"
        if isinstance(e, openai.APIStatusError):
            return f"HTTP {e.status_code}"
        if isinstance(e, httpx.HTTPStatusError):
            return f"HTTP {e.response.status_code}"
        if getattr(e, "status_code", None):  # ollama.ResponseError
            return f"HTTP {e.status_code}"  # type: ignore[attr-defined]
        if isinstance(e, ValueError):  # JSONDecodeError, malformed stream
            return "invalid response"
    return f"error: {type(exc).__name__}"


# ---------------------------------------------------------------- prompts


def defuse(text: str) -> str:
    """Untrusted text cannot open or close the tags that delimit it in a prompt."""
    return _TAG.sub(lambda m: "‹" + m.group(1) + m.group(2), text)


def _source(retrieval_passage: Any) -> str:
    d = retrieval_passage.doc
    bits = ", ".join(str(x) for x in (d.publisher, d.year) if x)
    where = retrieval_passage.chunk.section
    text = f"{d.title}" + (f" ({bits})" if bits else "") + (f", {where}" if where else "")
    return defuse(text).replace('"', "'")


def answer_messages(query: str, retrieval: Retrieval, audience: str) -> list[BaseMessage]:
    """System prompt (rules, audience wording) and user message (passages, question)."""
    from langchain_core.messages import HumanMessage, SystemMessage

    audience_text = prompts.text(
        "answer_audience_patient.md" if audience == "patient" else "answer_audience_clinician.md"
    )
    passages = "\n\n".join(
        prompts.render("answer_passage.md", n=p.n, source=_source(p), text=defuse(p.chunk.text))
        for p in retrieval.passages
    )
    return [
        SystemMessage(prompts.render("answer_system.md", audience_instructions=audience_text)),
        HumanMessage(prompts.render("answer_user.md", passages=passages, question=defuse(query))),
    ]


def condense_messages(question: str, history: Sequence[Turn]) -> list[BaseMessage]:
    from langchain_core.messages import HumanMessage, SystemMessage

    lines = []
    for t in list(history)[-HISTORY_TURNS:]:
        content = " ".join(t.get("content", "").split())[:HISTORY_CHARS]
        if content:
            lines.append(f"{t.get('role', 'user')}: {defuse(content)}")
    return [
        SystemMessage(prompts.text("condense_system.md")),
        HumanMessage(
            prompts.render("condense_user.md", history="\n".join(lines), question=defuse(question))
        ),
    ]


# ---------------------------------------------------------------- parsing the model's output


def to_draft(raw: str, retrieval: Retrieval, max_sentences: int) -> list[DraftSentence]:
    """The model's text as draft sentences: the first is the verdict, the others are placed in
    the same sections as extractive bullets (by the section of the passage they cite)."""
    text = _EMPHASIS.sub("", _HEADING.sub("", raw))
    sections = {p.n: p.chunk.section for p in retrieval.passages}
    out: list[DraftSentence] = []
    seen: set[str] = set()
    for d in parse_draft(text):
        if d.text.lower() in seen:  # tiny models repeat themselves
            continue
        seen.add(d.text.lower())
        src = next((sections[n] for n in d.citations if n in sections), "")
        d.kind = "verdict" if not out else section_for(src, d.text)
        out.append(d)
        if len(out) >= max_sentences:
            break
    return out


def clean_query(raw: str) -> str:
    """The query in a condense reply: its first line that is not a preamble ending in ':'."""
    line = next(
        (ln for ln in raw.strip().splitlines() if ln.strip() and not ln.rstrip().endswith(":")),
        "",
    )
    line = _QUERY_PREFIX.sub("", _EMPHASIS.sub("", line)).strip()
    return line.strip("\"'“”‘’ ").strip()


def plausible_query(query: str, question: str, history: Sequence[Turn]) -> bool:
    """A condensed query is used only if it looks like a rewrite of the question: not empty,
    not much longer than its inputs, keeping most of the question's own words and drawing most
    of its words from the question or the conversation (not a made-up topic or an answer)."""
    if not query or "<" in query:
        return False
    users = [t["content"] for t in history if t.get("role") == "user"]
    inputs = len(question) + (len(users[-1]) if users else 0)
    if len(query) > min(MAX_QUERY_CHARS, 2 * inputs + 40):
        return False
    own, got = set(content_words(question)), set(content_words(query))
    if not got:
        return False
    if own and len(own & got) < math.ceil(len(own) / 2):
        return False
    context = own | {w for t in history for w in content_words(t.get("content", ""))}
    return len(got - context) <= len(got) / 2


# ---------------------------------------------------------------- one answer's use of the model


class LLMAnswerer:
    """The configured model for one `answer()` call: condense, then draft.

    A transport failure is remembered, so a dead or slow server is waited for once per answer.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.url = base_url(settings)
        self.failure: str | None = None
        self._model: str | None = None

    def model_name(self) -> str:
        if self._model is None:
            if self.settings.llm_model:
                self._model = self.settings.llm_model
            else:
                p = probe(self.settings)
                if not p.reachable:
                    raise LLMError(p.error)
                if not p.models:
                    raise LLMError("the server lists no model")
                self._model = p.models[0]
        return self._model

    @property
    def backend(self) -> str:
        return f"{self.settings.llm}:{self._model or self.settings.llm_model}"

    def notice(self, reason: str) -> str:
        return prompts.render("llm_fallback.md", url=self.url, reason=reason)

    def condense(self, question: str, history: Sequence[Turn]) -> str:
        """The LLM's standalone query, or the rule-based one when it fails or is implausible."""
        rule_based = resolve(question, history)
        if self.failure:
            return rule_based
        try:
            model = chat_model(self.settings, self.model_name())
            raw = model.invoke(condense_messages(question, history)).text
        except Exception as exc:
            self.failure = reason_for(exc, self.settings.llm_timeout)
            log.warning("condense failed (%s); using the rule-based query", self.failure)
            return rule_based
        query = clean_query(raw)
        if not plausible_query(query, question, history):
            log.info("condensed query %r is implausible; using %r", raw[:200], rule_based)
            return rule_based
        return query

    def draft(
        self,
        query: str,
        retrieval: Retrieval,
        audience: str,
        on_token: Callable[[str], None] | None = None,
    ) -> Draft:
        """Stream the model's answer (each token to `on_token`) and parse it into sentences."""
        if self.failure:
            raise LLMError(self.failure)
        try:
            model = chat_model(self.settings, self.model_name())
            stream = iter(model.stream(answer_messages(query, retrieval, audience)))
        except Exception as exc:
            self.failure = reason_for(exc, self.settings.llm_timeout)
            raise LLMError(self.failure) from exc
        parts: list[str] = []
        while True:
            try:
                chunk = next(stream)
            except StopIteration:
                break
            except Exception as exc:
                self.failure = reason_for(exc, self.settings.llm_timeout)
                raise LLMError(self.failure) from exc
            token = chunk.text
            if token:
                parts.append(token)
                if on_token is not None:  # outside the try: the caller's errors propagate
                    on_token(token)
        raw = "".join(parts)
        log.info("%s draft: %r", self.backend, raw)
        sentences = to_draft(raw, retrieval, self.settings.max_bullets + 1)
        if not sentences:
            self.failure = "returned no usable text"
            raise LLMError(self.failure)
        return Draft(sentences, raw, self.backend)
