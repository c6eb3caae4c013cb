"""A flipping model: a loopback OpenAI-compatible server, streamed through the real `ChatOpenAI`
path (`CITELINE_LLM=openai`) and the real pipeline over the bundled corpus, writes drafts whose
claims are faithful paraphrases of the retrieved passages or corruptions of them (negation,
recommendation grade, direction, swapped comparands, quantities, scope, population, hedges,
swapped terms). No corrupted claim may be shown; every faithful one must be."""

from __future__ import annotations

import random
import re
from http.server import BaseHTTPRequestHandler

import pytest

from citeline.config import Settings
from citeline.pipeline import answer
from citeline.text import normalize, split_sentences
from citeline.verify import abbreviations
from eval import perturb_ops as ops
from tests.test_llm_integration import (
    completion,
    llm_settings,
    loopback_server,
    models_json,
    read_body,
    send,
    sse,
)

pytestmark = [pytest.mark.integration, pytest.mark.llm]
QUESTIONS = (
    "Is there a link between gut health and mental health?",
    "Should FMT be used to treat depression?",
    "Which treatments are recommended for IBS?",
)
_PASSAGE = re.compile(r'<passage n="(\d+)" source="[^"]*">\n(.*?)\n</passage>', re.S)


def _usable(s: str) -> bool:
    return 8 <= len(s.split()) <= 40 and s.endswith(".") and not re.search(r"[()\[\]:;]", s)


def script(prompt: str) -> tuple[str, list[str], list[tuple[str, str]]]:
    """The draft for one prompt: per passage, a faithful paraphrase of one sentence and every
    corruption of it that applies, each with the passage's [n] marker."""
    rng = random.Random(16)
    faithful: list[str] = []
    corrupted: list[tuple[str, str]] = []
    parts: list[str] = []
    for n, text in _PASSAGE.findall(prompt):  # every passage the model is shown
        usable = [s for s in split_sentences(text) if _usable(s)]
        if not usable:
            continue
        # The sentence with the most kinds of corruption that apply to it.
        s = max(usable, key=lambda s: len(ops.corruptions(s, text, random.Random(16))))
        para = ops.paraphrases(s, abbreviations(text))
        good = para[0][1] if para else s
        faithful.append(good)
        parts.append(f"{good[:-1]} [{n}].")
        for kind, _, bad in ops.corruptions(s, text, rng):
            if bad.endswith(".") and normalize(bad) != normalize(s):
                corrupted.append((kind, bad))
                parts.append(f"{bad[:-1]} [{n}].")
    return " ".join(parts), faithful, corrupted


@pytest.mark.parametrize("question", QUESTIONS)
def test_flipped_claims_are_never_shown_and_faithful_ones_are(
    corpus_settings: Settings, question: str
) -> None:
    scripted: list[tuple[str, list[str], list[tuple[str, str]]]] = []

    def server(h: BaseHTTPRequestHandler) -> None:
        if h.path.endswith("/models"):
            return send(h, 200, models_json(), "application/json")
        body = read_body(h)
        if not body.get("stream"):  # a condense request: answer with the question itself
            return send(h, 200, completion(question), "application/json")
        scripted.append(script(body["messages"][-1]["content"]))
        send(h, 200, sse(scripted[-1][0]), "text/event-stream")

    with loopback_server(server) as url:
        # Room for every scripted sentence (the answerer keeps max_bullets + 1 of a draft).
        settings = llm_settings(corpus_settings, url, max_bullets=100)
        tokens: list[str] = []
        ans = answer(question, [], settings, on_token=tokens.append)
    assert scripted, "the pipeline never asked the model to draft"
    draft, faithful, corrupted = scripted[0]
    assert "".join(tokens) == draft, "the draft was streamed through ChatOpenAI"
    kinds = {k for k, _ in corrupted}
    assert len(kinds) >= 5, kinds
    assert ans.backend == "openai:fake-model"
    shown = {c.text for c in ans.claims}
    leaked = [(k, c) for k, c in corrupted if normalize(c) in shown]
    assert not leaked, leaked
    missing = [f for f in faithful if normalize(f) not in shown]
    assert not missing, (missing, [(r.text, r.label, r.detail) for r in ans.removed_claims])
    labels = {normalize(r.text): r.label for r in ans.removed_claims}
    for _, c in corrupted:
        assert labels.get(normalize(c)) in ("contradicted", "not_found"), c
    assert "contradicted" in labels.values()
    out = ans.to_dict()
    for section in out["sections"]:
        for claim in section["claims"]:
            assert claim["support_label"] == "supported"
    # Every shown claim knows the sentence it rests on (keyed by the retrieval's passage numbers
    # until pipeline._assemble renumbers them with the citations).
    assert all(c.sentences for c in ans.claims)
