"""Follow-up resolution: a question plus the conversation so far -> the standalone query searched."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Sequence, Set
from typing import TypedDict

from citeline.question import stems_of, subject_phrases
from citeline.text import stem


class Turn(TypedDict):
    role: str
    content: str


# A follow-up that leans on the conversation: starts with a connective or refers back.
_ANAPHORIC_START = re.compile(
    r"^\s*(and|also|but|so|then|what\s+about|how\s+about|and\s+what\s+about|what\s+of|"
    r"is\s+it|are\s+they|does\s+it|do\s+they|can\s+it|why|how\s+so|same\s+for)\b",
    re.IGNORECASE,
)
MAX_PHRASES = 3
_WHAT_ABOUT = re.compile(r"^\s*(and\s+)?(what|how)\s+about\b", re.IGNORECASE)
# "Which screener ...?": asks for an instance, which the answer names.
_NAME_TOKEN = re.compile(r"^[A-Z][A-Z0-9-]+$|^[A-Z][\w-]*\d")
_WHICH_INSTANCE = re.compile(
    r"^\s*which\s+[\w-]+|^\s*(is|are)\s+there\s+(a|an|any)\s+[\w-]+|"
    r"^\s*what\s+(drug|medicine|medication|test|treatment|therapy|screener|scale|tool)s?\b",
    re.IGNORECASE,
)
# A pronoun that stands for the conversation's subject.
# ("that" in "And if that doesn't work?" is the last answer's advice, not the subject.)
_PRONOUN_SUBJECT = re.compile(r"\b(it|they|them)\b", re.IGNORECASE)
# "the trial", "that diet", "this test": a thing the conversation has already named.
_BACK_NOUN = (
    r"(trial|study|studies|diet|drug|drugs|medicine|treatment|therapy|test|tests|questionnaire|"
    r"scale|screener|score|tool|phase|method|strain|course|group|dose|procedure|findings?|results?)"
)
_DEFINITE_BACK = re.compile(
    rf"\b(?:(?:the|those|these)\s+(?:[\w-]+\s+){{0,3}}?|(?:that|this)\s+(?:[\w-]+\s+)?){_BACK_NOUN}\b",
    re.IGNORECASE,
)


def refers_back(question: str) -> bool:
    """A turn that leans on the conversation: a connective start, a pronoun standing for the
    subject, or a definite reference to something already named ("the trial")."""
    return bool(
        _ANAPHORIC_START.search(question)
        or _PRONOUN_SUBJECT.search(question)
        or _DEFINITE_BACK.search(question)
    )


def resolve(
    question: str,
    history: Sequence[Turn] | None = None,
    condense: Callable[[str, Sequence[Turn]], str] | None = None,
    entities: Set[str] | None = None,
    titles: Set[str] | None = None,
) -> str:
    """The standalone query for `question`, written as a question.

    Without an LLM (`condense` None) a turn without a subject of its own inherits the
    conversation's subject (its main entity, not a bag of recent words): "Is it safe in
    pregnancy?" after "What dose of amitriptyline is used for IBS?" searches "Is amitriptyline
    safe in pregnancy?"; "How long should the strict phase last?" after "What is the low FODMAP
    diet?" searches "How long should the strict phase last (low FODMAP diet)?". A turn that names
    a new subject drops the old one, unless it asks "what about X?", which keeps the old subject
    as its frame. `entities` are the stems the library's titles use: a subject must name one (or
    be an acronym) to count as a subject of its own; None counts every subject word. With
    `titles` (the stems of the library's titles), a turn whose own subject names no title word
    ("Which lifestyle changes should I suggest?" after a heartburn question) narrows the
    conversation's subject instead of replacing it.
    """
    question = question.strip()
    turns = list(history or [])
    users = [t["content"] for t in turns if t.get("role") == "user" and t.get("content")]
    if not users:
        return question
    if condense is not None:
        return condense(question, turns).strip() or question
    subject: list[str] = []
    for i, turn in enumerate(turns):
        if turn.get("role") != "user" or not turn.get("content"):
            continue
        previous = turn["content"]
        subject = _next_subject(previous, subject, entities, titles)
        reply = turns[i + 1] if i + 1 < len(turns) else None
        if reply and reply.get("role") == "assistant" and _WHICH_INSTANCE.match(previous):
            subject = _answered_instance(previous, reply.get("content", ""), subject, entities)
    if not subject:
        last = next((t["content"] for t in reversed(turns) if t.get("role") == "assistant"), "")
        subject = own_subject(last, entities)[:1]
    return _rewrite(question, subject, entities, titles)


def own_subject(text: str, entities: Set[str] | None = None) -> list[str]:
    """The subject phrases a text names itself ("gut health", "mental health")."""
    out: list[str] = []
    # "What about X?" names X as its subject, whatever the library calls it; "And if the
    # symptoms respond?" names no subject ("respond" is what they do).
    anyway = entities is None or bool(_WHAT_ABOUT.search(text))
    for phrase in subject_phrases(text):
        tokens = phrase.split()
        named = anyway or any(
            stem(t.lower()) in (entities or ()) or (t.isupper() and len(t) > 1) for t in tokens
        )
        if text.lstrip().startswith(phrase) and not tokens[0].isupper():
            phrase = phrase[:1].lower() + phrase[1:]  # capitalised only as a sentence's start
        if named and phrase.lower() not in (o.lower() for o in out):
            out.append(phrase)
    return out


def _continues(question: str, own: list[str], titles: Set[str] | None) -> bool:
    """The turn goes on with the conversation's subject rather than naming a new one."""
    if refers_back(question):
        return True
    if titles is None:
        return False
    return not any(
        stem(w) in titles for phrase in own for w in re.findall(r"[\w'-]+", phrase.lower())
    )


def _answered_instance(
    question: str, reply: str, subject: list[str], entities: Set[str] | None
) -> list[str]:
    """After "Which two-item screener can I use?" answered "The GAD-2, ...", the GAD-2 is what
    the conversation is about: "How well does it perform?" asks about the GAD-2."""
    asked = stems_of(question)
    for phrase in own_subject(reply, entities):
        # a name ("HADS" of "HADS deliberately leaves"), not the words that follow it
        tokens = phrase.split()
        # from its first name ("CRF1" of "blocking CRF1 receptors")
        start = next((i for i, t in enumerate(tokens) if _NAME_TOKEN.search(t)), 0)
        name = list(itertools.takewhile(lambda t: t[:1].isupper(), tokens[start:]))
        if not any(_NAME_TOKEN.search(t) for t in name):
            continue  # a name such as GAD-2 or HADS, not any words the answer begins with
        phrase = " ".join(name)
        words = stems_of(phrase)
        if words and not words & asked:
            rest = [s for s in subject if s.lower() != phrase.lower()]
            return [phrase, *rest][:MAX_PHRASES]
    return subject


def _next_subject(
    question: str, subject: list[str], entities: Set[str] | None, titles: Set[str] | None = None
) -> list[str]:
    own = own_subject(question, entities)
    if not own:
        return subject
    if _continues(question, own, titles):
        old = [s for s in subject if s.lower() not in (o.lower() for o in own)]
        if old and _PRONOUN_SUBJECT.search(question) and not _WHAT_ABOUT.match(question):
            # "Does it depend on disease activity?": "it" is still the subject (anxiety in
            # IBD); disease activity only narrows it
            return (old + own)[:MAX_PHRASES]
        return (own + old)[:MAX_PHRASES]
    return own[:MAX_PHRASES]


def _rewrite(
    question: str, subject: list[str], entities: Set[str] | None, titles: Set[str] | None = None
) -> str:
    if not subject:
        return question
    own = own_subject(question, entities)
    if own and not _continues(question, own, titles):
        return question  # a new subject drops the old one
    body = question.rstrip(" ?.!")
    low_own = [o.lower() for o in own]
    rest = [s for s in subject if s.lower() not in low_own]
    if not rest:
        return question
    if _PRONOUN_SUBJECT.search(body) and not (own and _WHAT_ABOUT.match(body)):
        # the pronoun stands for the conversation's main subject ("Did it improve their mood?");
        # after "What about X, ..." it stands for X
        body = _PRONOUN_SUBJECT.sub(rest[0], body, count=1)
        rest = rest[1:]
    if not rest:
        return body + "?"
    return f"{body} ({_and(rest)})?"


def _and(phrases: list[str]) -> str:
    return phrases[0] if len(phrases) == 1 else ", ".join(phrases[:-1]) + " and " + phrases[-1]
