"""Sentences scored as answers to *this* question, not as paraphrases of it.

Each candidate sentence is read in its context (document title, section path, its passage's
relevance) and scored by: similarity to the question, whether it is about the question's subject
(in the sentence, or in its section and title), whether it gives what the question asks (a dose
for "what dose", a frequency for "how often", ...), the evidence type of its source, and whether
it can stand alone. A sentence that leans on context the reader has not seen gets a lead-in
naming its source or subject (shown apart from the quoted words), or is not used.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from citeline.answerers.cues import (
    ABOUT_SOURCE,
    ADVISES,
    ASKS_ADVICE,
    ASKS_CARE,
    ASKS_CAVEATS,
    ASKS_FOUND,
    ASKS_METHOD,
    ASKS_WHY,
    CAVEAT_HEADING,
    CONCLUDES,
    DIRECT,
    EXPLAINS,
    FIGURE,
    GIVES_CARE,
    META,
    METHOD,
    NAMES_INSTANCES,
    PEOPLE,
    RESULT,
    bigrams,
    gives_share,
    lead_in_for,
    only_as_population,
    opening,
    points_back,
    source_name,
    unusable,
)
from citeline.question import Intent, acronym_stems, asked_sentence, mentions, stems_of
from citeline.sections import CAVEATS, section_for
from citeline.text import content_words
from citeline.types import DocMeta, Passage

__all__ = [
    "Candidate",
    "candidates",
    "headed_sentences",
    "source_name",
]

SUBJECT_WEIGHT = 0.22
PROPERTY_BONUS = 0.12
PROPERTY_MISSING = 0.12
CONTEXT_WEIGHT = 0.08
HEADING_WEIGHT = 0.2
# A heading that names at least this many, and this share, of the question's words lends its
# words to the sentences under it (`headed_sentences`).
HEADED_MIN_WORDS = 2
HEADED_MIN_SHARE = 0.4
HEADED_FIRST_BONUS = 0.05
HEADED_WHOLE_SHARE = 0.75
# A sentence this much closer to the question read under its heading shows the heading.
HEADED_LEAD_IN = 0.05
TITLE_WEIGHT = 0.1
SOURCE_WEIGHT = 0.15
# Share of the question's content words (the predicate too: "effective", "therapies") in the
# sentence, and the question's subject phrases found word for word ("anxiety symptoms").
OVERLAP_WEIGHT = 0.12
PHRASE_WEIGHT = 0.06
BIGRAM_WEIGHT = 0.12
OWN_MISSING = 0.15
FIGURE_BONUS = 0.05
# A sentence that opens with the subject ("Brain-gut behaviour therapies (BGBTs) are ...") is
# about it; one that names it in passing is about something else.
SUBJECT_FIRST_BONUS = 0.1
DEPENDENT_PENALTY = 0.05
META_PENALTY = 0.12
# Evidence type priors: for clinicians guideline > review > research > patient information; for
# patients, patient information first where it answers.
PRIOR = {
    "clinician": {"Guideline": 0.06, "Review": 0.03, "Research": 0.0, "Patient information": -0.03},
    "patient": {"Patient information": 0.07, "Guideline": 0.03, "Review": 0.01, "Research": 0.0},
}
EVIDENCE_RANK = {"Guideline": 3, "Review": 2, "Research": 1, "Patient information": 0}

WHICH_BONUS = 0.06
# "What did the trial show?": the kind of source asked about ("the big primary care trial"),
# as a title names it and the evidence type it has.
KIND_TYPES = {
    r"trials?": "Research", r"stud(y|ies)": "Research", r"cohorts?": "Research",
    r"preprints?": "Research", r"surveys?": "Research", r"meta-analys[ie]s": "Review",
    r"reviews?": "Review",
}  # fmt: skip
_KINDS = {k: re.compile(rf"\b{k}\b", re.I) for k in KIND_TYPES}
KIND_WEIGHT = 0.06
# A question that asks what to do is answered by a sentence that advises (as a property
# question is by the property: the same weight).
ADVICE_BONUS = PROPERTY_BONUS
CARE_BONUS = PROPERTY_BONUS
METHOD_PENALTY = 0.08
RESULT_BONUS = 0.04
DIRECT_BONUS = PROPERTY_BONUS
WHY_BONUS = 0.06


@dataclass(eq=False)
class Candidate:
    n: int  # passage number
    index: int  # sentence index within the passage
    text: str
    vector: np.ndarray
    similarity: float  # cosine to the question
    score: float  # answer score
    section: str
    doc: DocMeta
    about: float  # share of the subject in the sentence itself
    about_context: float  # share of the subject in the sentence, its section or title
    answers_property: bool
    lead_in: str = ""
    self_contained: bool = True
    names_own: bool = True  # names a subject word of the question's own (not inherited)
    about_source: bool = False  # says what a source is or did, not what it found or advises
    kind_asked: bool = False  # from the kind of source the question asks about ("the trial")
    caveat_asked: bool = True  # False: the question asks for pitfalls and this is none

    @property
    def key(self) -> tuple[int, int]:
        return (self.n, self.index)

    @property
    def evidence_rank(self) -> int:
        return EVIDENCE_RANK.get(self.doc.type, 0)


@dataclass
class _Asked:
    """What the scorer needs of the question, computed once."""

    intent: Intent
    audience: str
    words: set[str]  # content-word stems
    asks_method: bool
    asks_advice: bool  # "Should I try ...?", "What can I do ...?": a recommendation answers
    asks_caveats: bool  # "What are common pitfalls ...?": a caveat answers
    asks_care: bool  # "When should I see a doctor about ...?": seeing someone answers
    asks_why: bool  # "Why does my tummy hurt ...?": a cause or a mechanism answers
    asks_found: bool  # "Did the trial show ...?", "What was found?": a result answers
    counts_main: bool  # "How common is IBS?" counts IBS ("... in IBS?" counts something in it)
    phrases: list[str]
    pairs: set[tuple[str, str]]
    head_stems: set[str]  # the subject a definition asks about
    named: frozenset[str]  # documents the question names
    # kinds of source the question asks about ("trial" in "What did the trial show?")
    kinds: set[str]

    @classmethod
    def of(cls, question: str, intent: Intent, audience: str, named: frozenset[str]) -> _Asked:
        asked = asked_sentence(question)
        return cls(
            intent=intent,
            audience=audience,
            words=set(content_words(question)),
            asks_method=bool(ASKS_METHOD.search(question)),
            asks_advice=bool(ASKS_ADVICE.search(asked)),
            asks_caveats=bool(ASKS_CAVEATS.search(asked)),
            asks_care=bool(ASKS_CARE.search(asked)),
            asks_why=bool(ASKS_WHY.search(asked)),
            asks_found=bool(ASKS_FOUND.search(asked)),
            counts_main=bool(intent.main) and not only_as_population(intent.main, question),
            phrases=[p.lower() for p in intent.phrases if " " in p],
            pairs=bigrams(question),
            head_stems=set(intent.own[:2]) if intent.kind == "definition" else set(),
            named=named,
            kinds={k for k, pat in _KINDS.items() if pat.search(question)},
        )


def candidates(
    question: str,
    intent: Intent,
    passages: Sequence[Passage],
    sentence_vectors: dict[str, np.ndarray],
    query_vector: np.ndarray,
    audience: str,
    *,
    named: frozenset[str] = frozenset(),
    headed_vectors: dict[str, np.ndarray] | None = None,
) -> list[Candidate]:
    """Every usable sentence of the passages, scored as an answer to the question; `named` are
    the documents the question names ("according to NICE"); `headed_vectors` the vectors of
    the sentences read under their heading (`headed_sentences`)."""
    asked = _Asked.of(question, intent, audience, named)
    top_passage = max((p.score for p in passages), default=1.0) or 1.0
    out: list[Candidate] = []
    for p in passages:
        vecs = sentence_vectors.get(p.chunk.id)
        if vecs is None or not len(p.chunk.sentences) or vecs.shape[0] != len(p.chunk.sentences):
            continue
        sims = vecs @ query_vector
        headed = (headed_vectors or {}).get(p.chunk.id)
        opening_bonus = np.zeros(len(sims))
        read_under = np.zeros(len(sims), dtype=bool)
        heading = p.chunk.section.rpartition(" > ")[2]
        if headed is not None and headed.shape == vecs.shape:
            headed_sims = headed @ query_vector
            read_under = headed_sims > sims + HEADED_LEAD_IN
            # "Recurrent abdominal pain ... 1 day per week" under "Rome IV criteria for IBS"
            # says what its heading names, though its own words do not; the section's first
            # sentence states its main point, the others elaborate
            sims = np.maximum(sims, headed_sims)
            # a heading that is nearly the question ("Rome IV criteria for IBS") opens with
            # the answer itself
            shared = len(asked.words & set(content_words(heading)))
            whole = shared >= HEADED_WHOLE_SHARE * len(asked.words)
            opening_bonus[0] = HEADED_FIRST_BONUS * (5 if whole else 1)
        context = f"{p.chunk.section} {p.doc.title}"
        context_stems = stems_of(context) | acronym_stems(intent, context)
        kind_asked = bool(asked.kinds) and _of_kind(asked.kinds, p.doc)
        bonus = _passage_bonus(asked, p) + CONTEXT_WEIGHT * (p.score / top_passage)
        bonus += KIND_WEIGHT if kind_asked else 0.0
        for i, sentence in enumerate(p.chunk.sentences):
            if unusable(sentence):
                continue
            lead_in, usable = lead_in_for(sentence, p.doc)
            if usable:
                c = _candidate(
                    asked, p, i, sentence, vecs[i], float(sims[i]), lead_in, context_stems
                )
                c.score += bonus + float(opening_bonus[i])
                c.kind_asked = kind_asked
                if not lead_in and read_under[i]:
                    # it answers as read under its heading: the heading is shown before it
                    c.lead_in = heading + ":"
                out.append(c)
    return out


def _of_kind(kinds: set[str], doc: DocMeta) -> bool:
    """A document of a kind the question asks about: its title says so ("the SMILES trial"),
    or its type does (a trial, cohort or study is research; a meta-analysis is a review)."""
    return any(_KINDS[k].search(doc.title) or KIND_TYPES[k] == doc.type for k in kinds)


def headed_sentences(question: str, passages: Sequence[Passage]) -> dict[str, list[str]]:
    """The sentences of each passage whose heading names much of what is asked ("Red flag
    indicators needing referral" for "Which red flag indicators should prompt referral?"), each
    prefixed with its heading: a list item under such a heading answers in its heading's words."""
    qwords = set(content_words(question))
    out: dict[str, list[str]] = {}
    for p in passages:
        heading = p.chunk.section.rpartition(" > ")[2]
        shared = len(qwords & set(content_words(heading)))
        if shared >= HEADED_MIN_WORDS and shared >= HEADED_MIN_SHARE * len(qwords):
            out[p.chunk.id] = [f"{heading}: {s}" for s in p.chunk.sentences]
    return out


def _passage_bonus(asked: _Asked, p: Passage) -> float:
    """What a sentence's passage lends it: a heading that reads like the question ("Red flag
    indicators needing referral" for "Which red flag indicators should prompt referral?"), a
    source the question names, a document whose title names the subject (a better source than a
    passing mention elsewhere)."""
    qwords, intent = asked.words, asked.intent
    heading = set(content_words(p.chunk.section.rpartition(" > ")[2]))
    shared = len(qwords & heading)
    bonus = HEADING_WEIGHT * shared / len(qwords) if qwords and shared >= 2 else 0.0
    if p.doc.doc_id in asked.named:
        bonus += SOURCE_WEIGHT
    title = p.doc.title
    return bonus + TITLE_WEIGHT * mentions(intent, stems_of(title) | acronym_stems(intent, title))


def _candidate(
    asked: _Asked,
    p: Passage,
    i: int,
    sentence: str,
    vector: np.ndarray,
    similarity: float,
    lead_in: str,
    context_stems: set[str],
) -> Candidate:
    intent = asked.intent
    s_stems = stems_of(sentence) | acronym_stems(intent, sentence)
    about = mentions(intent, s_stems)
    about_ctx = mentions(intent, s_stems | context_stems)
    has_prop = intent.answers_property(sentence)
    if has_prop and intent.kind == "prevalence":  # a share of the people asked about
        has_prop = gives_share(intent.main if asked.counts_main else "", sentence)
    names_own = not intent.frame or bool(set(intent.own) & (s_stems | context_stems))
    score = similarity + SUBJECT_WEIGHT * (0.7 * about + 0.3 * about_ctx)
    score += _lexical(asked, sentence) + _cues(asked, sentence, has_prop, about, about_ctx)
    caveat = False
    if asked.asks_caveats:
        # what goes wrong is answered by a caveat, as a dose question is by a dose
        caveat = bool(
            CAVEAT_HEADING.search(p.chunk.section) or section_for("", sentence) == CAVEATS
        )
        score += PROPERTY_BONUS if caveat else -PROPERTY_MISSING
    score += PRIOR.get(asked.audience, PRIOR["clinician"]).get(p.doc.type, 0.0)
    if not names_own:
        score -= OWN_MISSING if intent.new_subject else OWN_MISSING / 2
    elif intent.frame and not intent.new_subject:
        # "Which lifestyle changes (heartburn)?": lifestyle advice for depression names the
        # question's own words but not the conversation's subject
        inherited = replace(intent, subject=intent.frame, frame=())
        if not mentions(inherited, s_stems | context_stems):
            score -= OWN_MISSING / 2
    # a sentence pointing back at an unseen list is repaired by its lead-in; one whose opening
    # leans on what is not shown is not
    repaired = bool(lead_in) and points_back(sentence)
    if lead_in and not repaired:
        score -= DEPENDENT_PENALTY
    return Candidate(
        n=p.n,
        index=i,
        text=sentence,
        vector=vector,
        similarity=similarity,
        score=score,
        section=p.chunk.section,
        doc=p.doc,
        about=about,
        about_context=about_ctx,
        answers_property=has_prop,
        lead_in=lead_in,
        names_own=names_own,
        about_source=not asked.asks_method
        and bool(ABOUT_SOURCE.search(sentence) or METHOD.search(sentence)),
        self_contained=(not lead_in or repaired) and not CONCLUDES.match(sentence),
        caveat_asked=not asked.asks_caveats or caveat,
    )


def _lexical(asked: _Asked, sentence: str) -> float:
    """The question's words, phrases and word pairs found in the sentence."""
    score = 0.0
    if asked.words:
        shared = asked.words & set(content_words(sentence))
        score += OVERLAP_WEIGHT * len(shared) / len(asked.words)
    if asked.phrases:
        low = sentence.lower()
        score += PHRASE_WEIGHT * sum(ph in low for ph in asked.phrases) / len(asked.phrases)
    if asked.pairs:
        score += BIGRAM_WEIGHT * len(asked.pairs & bigrams(sentence)) / len(asked.pairs)
    return score


def _cues(asked: _Asked, sentence: str, has_prop: bool, about: float, about_ctx: float) -> float:
    """What the sentence is: the property asked for, a definition of the subject, a method or a
    finding, a list of instances, a sentence about a document."""
    intent, score = asked.intent, 0.0
    if intent.is_property:
        score += PROPERTY_BONUS if has_prop else -PROPERTY_MISSING
        if has_prop and intent.kind == "prevalence" and FIGURE.search(sentence):
            # "5-10% of people" answers "how common" better than "common" or "a quarter"
            score += FIGURE_BONUS * (2 if PEOPLE.search(sentence) else 1)
    if asked.head_stems and asked.head_stems & set(content_words(opening(sentence))):
        score += SUBJECT_FIRST_BONUS
    if not asked.asks_method and METHOD.search(sentence):
        score -= METHOD_PENALTY
    elif not intent.is_property and RESULT.search(sentence):
        # "Did the trial show ...?", "What was found ...?": what it found answers
        score += RESULT_BONUS * (3 if asked.asks_found else 1)
    if asked.asks_advice and ADVISES.search(sentence):
        # advice about what is asked, not about a neighbour; under a heading or title that
        # names it ("Book a GP appointment if any of these symptoms ..." on bowel symptoms)
        score += ADVICE_BONUS * max(about, 0.5 * about_ctx)
    if asked.asks_care:
        # when to see a doctor is answered by when to see one, not by what a diagnosis needs
        score += CARE_BONUS if GIVES_CARE.search(sentence) else -CARE_BONUS
    if asked.asks_why and EXPLAINS.search(sentence):
        score += WHY_BONUS
    if intent.kind in ("yesno", "safety") and DIRECT.match(sentence):
        score += DIRECT_BONUS * about_ctx  # "Yes, ..." answers a yes/no question outright
    if intent.kind in ("which", "how") and NAMES_INSTANCES.search(sentence):
        score += WHICH_BONUS
    if META.search(sentence):
        score -= META_PENALTY
    return score
