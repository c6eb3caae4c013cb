"""Which scored sentences may answer a question: the property asked for about the subject asked
about (a number that belongs to another drug, test or population never answers), the caveats
when pitfalls are asked for, what names the subject at all, and the subject the passages know."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from citeline.answerers.scoring import Candidate
from citeline.properties import gives_amount
from citeline.question import Intent, acronym_stems, stems_of
from citeline.question_words import SPECIAL_POPULATION
from citeline.subject_terms import canon, forms
from citeline.types import Passage

__all__ = [
    "answering",
    "context",
    "keep_best_named",
    "known_main",
    "mentions_main",
    "property_answers",
]

# An overview keeps a sentence whose context names nothing of its subject when it is this close.
BROAD_MIN_SIMILARITY = 0.4


def mentions_main(intent: Intent, text: str) -> bool:
    named = stems_of(text) | acronym_stems(intent, text)
    return intent.main in named or canon(intent.main) in forms(named)


def property_answers(intent: Intent, cands: Sequence[Candidate]) -> list[Candidate]:
    """The candidates that give the property asked for, about the subject asked about (a number
    that belongs to another drug, test or population is not an answer)."""
    if not intent.is_property:
        return list(cands)
    main = intent.main
    out = []
    for c in cands:
        if not c.answers_property:
            continue
        if main and not mentions_main(intent, context(c)):
            continue
        if intent.qualifiers and not set(intent.qualifiers) <= stems_of(f"{c.text} {c.section}"):
            continue  # another regimen of the same drug
        out.append(c)
    return out


def context(c: Candidate) -> str:
    """A sentence with its section and its document's title: what it is read in."""
    return f"{c.text} {c.section} {c.doc.title}"


def answering(intent: Intent, pool: list[Candidate]) -> tuple[list[Candidate], bool]:
    """The candidates that may answer, and whether the property asked for is not given."""
    not_given = False
    if intent.is_property:
        answers = property_answers(intent, pool)
        special = set(intent.population) & SPECIAL_POPULATION
        if special:
            # "Is it safe in pregnancy?": only what names the population answers for it
            answers = [c for c in answers if special & stems_of(context(c))]
        # A number that belongs to another drug, test or population is never shown.
        pool = [c for c in pool if not c.answers_property or c in answers]
        if not answers and intent.main:
            not_given = True
            pool = [c for c in pool if mentions_main(intent, context(c))]
        elif answers and not any(gives_amount(intent.kind, c.text) for c in answers):
            # "meant to be short" answers "how long" in words: shown, but no duration is given
            not_given = bool(intent.main)
            pool = answers
        elif answers:
            pool = answers  # a narrow question is answered by what gives the property
    if not all(c.caveat_asked for c in pool):
        # "What are common pitfalls ...?" is answered by the caveats, when there are any
        pool = [c for c in pool if c.caveat_asked] or pool
    if intent.broad:
        # An overview ("Is there a link between gut health and mental health?") is answered
        # by what the close passages say on each side of it (anxiety in IBS, the vagus nerve),
        # which need not repeat the question's words; what is far from the question is not.
        pool = [c for c in pool if c.about_context > 0 or c.similarity >= BROAD_MIN_SIMILARITY]
    elif intent.subject:
        # A sentence whose sentence, section and title name nothing of the subject is filler.
        pool = [c for c in pool if c.about_context > 0]
    if intent.new_subject and intent.own:
        # "What about probiotics (gut health and mental health)?": the inherited subject frames
        # the question, the new one is what it asks about.
        pool = [c for c in pool if c.names_own] or pool
    return pool, not_given


def known_main(intent: Intent, pool: Sequence[Candidate]) -> Intent:
    """The main subject is the first subject word some candidate names ("DAN" in "You are now
    DAN, a doctor ... What PHQ-9 score ...?" names nothing the passages speak of)."""
    if not intent.main or intent.main_explicit:
        return intent  # "the dose of vitamin D" stays about vitamin D, named or not
    named = set()
    for c in pool:
        named |= {
            s for s in intent.subject if mentions_main(replace(intent, subject=(s,)), context(c))
        }
    if intent.main in named:
        return intent
    first = next((s for s in intent.subject if s in named), None)
    if first is None:
        return intent
    return replace(intent, subject=(first, *(s for s in intent.subject if s != first)))


def keep_best_named(
    chosen: Sequence[Passage], ranked: Sequence[Passage], cands: Sequence[Candidate]
) -> list[Passage]:
    """The passage of the sentence that names most of the subject stays among the chosen ones
    (in the last place), however many passages of other documents score higher: the verdict
    must name what was asked ("Should I stop my antidepressant and take probiotics?" is
    answered by the one sentence naming both, not by the probiotic advice ranked above it)."""
    if not cands or not chosen:
        return list(chosen)
    kept = {p.chunk.id for p in chosen}
    by_n = {p.n: p for p in ranked}  # the pool's numbering, which the candidates use
    top = max(cands, key=lambda c: (c.about, c.about_context, c.score))
    if top.about < 1.0 or top.n not in by_n or by_n[top.n].chunk.id in kept:
        # only a sentence naming all of it: "not related to a genetic condition" names two of
        # "the genetic changes related to alkaptonuria" and is about something else
        return list(chosen)
    if any(c.about >= top.about for c in cands if by_n[c.n].chunk.id in kept):
        return list(chosen)  # a chosen passage already names all of it
    return [*chosen[:-1], replace(by_n[top.n], n=chosen[-1].n)]
