"""Follow-up resolution: a question plus the conversation so far -> the standalone query searched."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import TypedDict

from citeline.text import STOPWORDS, words


class Turn(TypedDict):
    role: str
    content: str


# A follow-up that leans on the conversation: starts with a connective or refers back.
_ANAPHORIC_START = re.compile(
    r"^\s*(and|also|but|so|then|what\s+about|how\s+about|and\s+what\s+about|what\s+of|"
    r"is\s+it|are\s+they|does\s+it|do\s+they|can\s+it|why|how\s+so|same\s+for)\b",
    re.IGNORECASE,
)
_PRONOUN = re.compile(r"\b(it|its|this|that|these|those|they|them|their|there)\b", re.IGNORECASE)
_FILLER = {
    "what",
    "about",
    "how",
    "and",
    "also",
    "but",
    "so",
    "then",
    "does",
    "do",
    "is",
    "are",
    "can",
    "why",
    "same",
    "for",
    "tell",
    "more",
    "else",
    "explain",
    "please",
    "ok",
    "okay",
}
SHORT_QUESTION_WORDS = 4
TOPIC_WORDS = 8


def topic_terms(text: str) -> list[str]:
    """The content words of a query, in order, without duplicates."""
    out: list[str] = []
    for w in words(text):
        if w in STOPWORDS or w in _FILLER or len(w) < 2 or w in out:
            continue
        out.append(w)
    return out


def needs_context(question: str) -> bool:
    own = topic_terms(question)
    return (
        len(own) <= SHORT_QUESTION_WORDS
        and bool(_ANAPHORIC_START.search(question) or _PRONOUN.search(question))
    ) or len(own) <= 1


def resolve(
    question: str,
    history: Sequence[Turn] | None = None,
    condense: Callable[[str, Sequence[Turn]], str] | None = None,
) -> str:
    """The standalone query for `question`.

    Without an LLM (`condense` None) the topic of earlier user turns is carried into short or
    anaphoric follow-ups: "what about treatment?" after "Is there a link between gut health and
    mental health?" searches "treatment gut health mental health". Earlier turns are resolved in
    order, so a third turn inherits the topic the second one inherited.
    """
    question = question.strip()
    users = [t["content"] for t in (history or []) if t.get("role") == "user" and t.get("content")]
    if not users:
        return question
    if condense is not None:
        return condense(question, history or []).strip() or question
    topic = ""
    for previous in users:
        topic = _merge(previous, topic)
    return _merge(question, topic)


def _merge(question: str, topic: str) -> str:
    if not topic or not needs_context(question):
        return question
    own = topic_terms(question)
    carried = [t for t in topic_terms(topic) if t not in own][:TOPIC_WORDS]
    return " ".join(own + carried) if own else " ".join(carried)
