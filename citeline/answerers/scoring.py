"""Sentences scored as answers to *this* question, not as paraphrases of it.

Each candidate sentence is read in its context (document title, section path, its passage's
relevance) and scored by: similarity to the question, whether it is about the question's subject
(in the sentence, or in its section and title), whether it gives what the question asks (a dose
for "what dose", a frequency for "how often", ...), the evidence type of its source, and whether
it can stand alone. A sentence that leans on context the reader has not seen gets a lead-in
naming its source or subject (shown apart from the quoted words), or is not used.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from citeline.question import Intent, acronym_stems, mentions, stems_of
from citeline.safety import is_instruction
from citeline.text import content_words
from citeline.types import DocMeta, Passage

MIN_SENTENCE_CHARS = 30
SUBJECT_WEIGHT = 0.22
PROPERTY_BONUS = 0.12
PROPERTY_MISSING = 0.12
CONTEXT_WEIGHT = 0.08
HEADING_WEIGHT = 0.2
TITLE_WEIGHT = 0.1
SOURCE_WEIGHT = 0.15
# Share of the question's content words (the predicate too: "effective", "therapies") in the
# sentence, and the question's subject phrases found word for word ("anxiety symptoms").
OVERLAP_WEIGHT = 0.12
PHRASE_WEIGHT = 0.06
BIGRAM_WEIGHT = 0.12
OWN_MISSING = 0.15
FIGURE_BONUS = 0.05
_FIGURE = re.compile(
    r"\d+(\.\d+)?\s*%|\b(one|two) in (two|three|four|five|six|ten|\d+)\b|\ba (third|quarter)\b",
    re.I,
)
# A sentence that opens with the subject ("Brain-gut behaviour therapies (BGBTs) are ...") is
# about it; one that names it in passing is about something else.
SUBJECT_FIRST_BONUS = 0.1


def _opening(sentence: str) -> str:
    """The words before the sentence's first verb-like word (is, are, was, were, ...)."""
    m = re.search(
        r"\b(is|are|was|were|has|have|can|may|should|refers?|means?|include[sd]?)\b", sentence
    )
    head = sentence[: m.start()] if m else sentence
    return " ".join(head.split()[:8])


DEPENDENT_PENALTY = 0.05
META_PENALTY = 0.12
# Evidence type priors: for clinicians guideline > review > research > patient information; for
# patients, patient information first where it answers.
PRIOR = {
    "clinician": {"Guideline": 0.06, "Review": 0.03, "Research": 0.0, "Patient information": -0.03},
    "patient": {"Patient information": 0.07, "Guideline": 0.03, "Review": 0.01, "Research": 0.0},
}
EVIDENCE_RANK = {"Guideline": 3, "Review": 2, "Research": 1, "Patient information": 0}

# Openings that need the source named ("The study ...") or the subject named ("A score of 3 ...").
_NEEDS_SOURCE = re.compile(
    r"^(the|this|these|our|in (this|the)) (study|studies|review|authors?|trial|meta-analysis|"
    r"analysis|cohort|paper|researchers|investigators|survey|report|findings?|results?|"
    r"data|work|project|pilot|experiment|guideline|guidelines|panel|committee|team)\b",
    re.I,
)
_NEEDS_SUBJECT = re.compile(
    r"^((a|the) (total )?score|scores|each (item|question)|the (scale|questionnaire|tool|test|"
    r"measure|instrument|screener|cut-?point|cut-?off|diet|intervention|treatment|drug|"
    r"procedure|programme|program|strategy)|\d+\s*(-|–|to)\s*\d+\s*:|\d+\s*:)",
    re.I,
)
# Openings that lean on a sentence the reader has not seen: no lead-in repairs them.
_UNRESOLVABLE = re.compile(
    r"^(this|these|those|that|it|its|they|their|them|such|both|either|neither|here|however|"
    r"also|in addition|additionally|furthermore|moreover|similarly|likewise|conversely|"
    r"in contrast|by contrast|instead|otherwise|thus|therefore|hence|as a result|consequently|"
    r"the answer|the question|the latter|the former|the same|the other|one|another|others)\b",
    re.I,
)
# Sentences about a document rather than about the question's subject.
_META = re.compile(
    r"\b(this (document|page|summary|article|leaflet)|the (review|study|paper|guideline|report) "
    r"(discusses|describes|notes|summari[sz]es|covers|reviews|outlines|provides|presents|examines|"
    r"explores|looks at)|is summari[sz]ed here|summari[sz]ed in our own words|written by the "
    r"citeline team)\b",
    re.I,
)
# A sentence about a source rather than what it found or advises: "NICE CG61 covers the
# diagnosis ...", "The Rome IV report ... sets out the criteria", "The BSG published its own
# guideline in 2022", "ATLANTIS tested ...", "SMILES was a 12-week randomised trial testing ...".
_ABOUT_SOURCE = re.compile(
    r"\b(guidelines?|guidance|report|review|trial|study|statement|update|paper|meta-analysis)\b"
    r"[^.;:]{0,60}?\b(covers|covered|sets out|set out|reviewed|published|tested|describes|"
    r"summari[sz]es|focuses on|was an? [\w-]+( [\w-]+)? (trial|study)|is an? [\w-]+ (trial|study)|"
    r"was first published|revised|updated)\b|"
    r"^\S+( \S+){0,3} (tested|covers|reviewed|published) ",
    re.I,
)
# "Which X ...?" is answered by a sentence that names instances.
_NAMES_INSTANCES = re.compile(
    r"\b(such as|including|for example|e\.g\.|namely)\b|\([A-Z][A-Za-z0-9-]+\)"
)
WHICH_BONUS = 0.06
# "... therefore ...", "... thus ..." early in a sentence: a conclusion drawn from what came before.
_CONCLUDES = re.compile(r"^(\S+\s+){0,4}(therefore|thus|hence|so)\b", re.I)
# How a study was done is not what it found: method sentences rank below results unless the
# question asks about the method.
_METHOD = re.compile(
    r"\b(tested whether|asked whether|aimed to|was designed|were randomi[sz]ed|randomly assigned|"
    r"enrolled|recruited|were colonised|(was|were) measured|questionnaire scores|participants (then|were)|"
    r"was an? [\w-]*\s*(randomi[sz]ed|pilot|prospective|cross-sectional|controlled)|"
    r"the (study|trial) (included|involved|compared)|reviewed .* using)\b",
    re.I,
)
_ASKS_METHOD = re.compile(
    r"\b(how was|how were|design|methods?|how many (people|participants|patients|adults)|"
    r"who (was|were) (studied|included)|how long did|measured|questionnaire)\b",
    re.I,
)
_RESULT = re.compile(
    r"(%|\b(found|showed|shows|superior|improved|improves|reduced|reduces|increased|increases|"
    r"higher|lower|more likely|less likely|no (significant )?(difference|effect)|did not|favoured|"
    r"odds ratio|developed|caused|predicted)\b)",
    re.I,
)
METHOD_PENALTY = 0.08
RESULT_BONUS = 0.04
_URL = re.compile(r"\S*(https?://|\bwww\.)\S*", re.I)


def _link_line(sentence: str) -> bool:
    """Mostly a link: "Immunization of HealthCare Personnel: http://www.cdc.gov/..." (a sentence
    that says something and also carries a link is still a claim)."""
    if not _URL.search(sentence):
        return False
    return len(content_words(_URL.sub(" ", sentence))) < 5


# A cross-reference is a pointer to another page, not an answer.
_POINTER = re.compile(
    r"^\s*\(?(see (the following|also|our|this|these|the pdq|[\"“‘'])|for (more|further) information\b|"
    r"(more|further) information (is|can be)\b|learn more\b|read more\b)",
    re.I,
)
_TITLE_WORD = re.compile(r"[A-Za-z][\w'’-]*")
_SENTENCE_VERB = re.compile(
    r"\b(is|are|was|were|be|been|can|could|should|may|might|will|would|has|have|had|does|do|"
    r"did|must|shows?|found|include[sd]?|causes?|means?)\b"
)


def _title_line(sentence: str) -> bool:
    """A title or heading on a line of its own ("Management of Multidrug-Resistant Organisms In
    Healthcare Settings, 2006"): its words capitalised, no verb."""
    long_words = [w for w in _TITLE_WORD.findall(sentence) if len(w) > 3]
    if len(long_words) < 3 or _SENTENCE_VERB.search(sentence):
        return False
    return sum(w[0].isupper() for w in long_words) >= 0.7 * len(long_words)


_LIST_FRAGMENT = re.compile(r"^([a-z]\)|[a-z]\.\s|\d+\)|[ivx]+\.\s|[-*•])|[:;,]\s*$")


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

    @property
    def key(self) -> tuple[int, int]:
        return (self.n, self.index)

    @property
    def evidence_rank(self) -> int:
        return EVIDENCE_RANK.get(self.doc.type, 0)


def source_name(doc: DocMeta) -> str:
    """A short name for a document: the study-type part of its title when it has one ("a 12-year
    population cohort"), else its main title; with the year."""
    title = doc.title.strip()
    head, _, tail = title.partition(":")
    study = re.compile(
        r"\b(cohort|trial|meta-analysis|review|study|survey|guideline|report)\b", re.I
    )
    # "...: a 12-year population cohort" names the study; "...: a meta-analysis" alone does not
    use_tail = bool(tail) and bool(study.search(tail)) and len(tail.split()) >= 4
    name = tail.strip() if use_tail else head.strip()
    name = re.sub(r"^(a|an|the)\s+", "", name, flags=re.I)
    if len(name) > 70:
        name = name[:70].rsplit(" ", 1)[0] + " …"
    name = name[:1].upper() + name[1:]
    return f"{name} ({doc.year})" if doc.year else name


def bigrams(text: str) -> set[tuple[str, str]]:
    """Adjacent content-word stems ("anxiety symptom", "diagnosed depressive"): a sentence that
    keeps the question's word pairs speaks of the same thing, not of a neighbour ("anxiety
    disorder" for "anxiety symptoms")."""
    ws = content_words(text)
    return set(itertools.pairwise(ws))


def _lead_in(sentence: str, doc: DocMeta) -> tuple[str, bool]:
    """(lead-in, usable): a sentence that needs its source or subject named gets one; one that
    leans on an unseen sentence is not usable."""
    if _NEEDS_SOURCE.match(sentence) or _NEEDS_SUBJECT.match(sentence):
        return source_name(doc) + ":", True
    if _UNRESOLVABLE.match(sentence):
        return "", False
    return "", True


def candidates(
    question: str,
    intent: Intent,
    passages: Sequence[Passage],
    sentence_vectors: dict[str, np.ndarray],
    query_vector: np.ndarray,
    audience: str,
    *,
    named: frozenset[str] = frozenset(),
) -> list[Candidate]:
    """Every usable sentence of the passages, scored as an answer to the question; `named` are
    the documents the question names ("according to NICE")."""
    prior = PRIOR.get(audience, PRIOR["clinician"])
    qwords = set(content_words(question))
    asks_method = bool(_ASKS_METHOD.search(question))
    phrases = [p.lower() for p in intent.phrases if " " in p]
    qpairs = bigrams(question)
    # the subject a definition or "what are X" question asks about, to find sentences about it
    head_stems = set(intent.own[:2]) if intent.kind == "definition" else set()
    top_passage = max((p.score for p in passages), default=1.0) or 1.0
    out: list[Candidate] = []
    for p in passages:
        vecs = sentence_vectors.get(p.chunk.id)
        if vecs is None or not len(p.chunk.sentences) or vecs.shape[0] != len(p.chunk.sentences):
            continue
        sims = vecs @ query_vector
        context = f"{p.chunk.section} {p.doc.title}"
        context_stems = stems_of(context) | acronym_stems(intent, context)
        # A section whose heading reads like the question holds its answer ("Red flag
        # indicators needing referral" for "Which red flag indicators should prompt referral?").
        heading = set(content_words(p.chunk.section.rpartition(" > ")[2]))
        heading_share = (
            len(qwords & heading) / len(qwords) if qwords and len(qwords & heading) >= 2 else 0.0
        )
        passage_bonus = heading_share * HEADING_WEIGHT + (
            SOURCE_WEIGHT if p.doc.doc_id in named else 0.0
        )
        # a document about the subject (its title names it) is a better source than a passing
        # mention elsewhere
        title = p.doc.title
        passage_bonus += TITLE_WEIGHT * mentions(
            intent, stems_of(title) | acronym_stems(intent, title)
        )
        for i, sentence in enumerate(p.chunk.sentences):
            if (
                len(sentence) < MIN_SENTENCE_CHARS
                or sentence.rstrip().endswith("?")
                or _LIST_FRAGMENT.search(sentence.strip())
                or is_instruction(sentence)  # an instruction injected into a source is not a claim
                or _link_line(sentence)  # a link line is a pointer, not an answer
                or _POINTER.match(sentence)  # "See the following summaries ..."
                or _title_line(sentence)  # "Management of ... Settings, 2006"
            ):
                continue
            lead_in, usable = _lead_in(sentence, p.doc)
            if not usable:
                continue
            s_stems = stems_of(sentence) | acronym_stems(intent, sentence)
            about = mentions(intent, s_stems)
            about_ctx = mentions(intent, s_stems | context_stems)
            has_prop = intent.answers_property(sentence)
            score = float(sims[i])
            score += SUBJECT_WEIGHT * (0.7 * about + 0.3 * about_ctx)
            score += CONTEXT_WEIGHT * (p.score / top_passage) + passage_bonus
            if qwords:
                score += OVERLAP_WEIGHT * len(qwords & set(content_words(sentence))) / len(qwords)
            if phrases:
                low = sentence.lower()
                score += PHRASE_WEIGHT * sum(ph in low for ph in phrases) / len(phrases)
            if qpairs:
                score += BIGRAM_WEIGHT * len(qpairs & bigrams(sentence)) / len(qpairs)
            score += prior.get(p.doc.type, 0.0)
            if intent.is_property:
                score += PROPERTY_BONUS if has_prop else -PROPERTY_MISSING
                if has_prop and intent.kind == "prevalence" and _FIGURE.search(sentence):
                    score += FIGURE_BONUS  # "23%" answers "how common" better than "common"
            if head_stems and head_stems & set(content_words(_opening(sentence))):
                score += SUBJECT_FIRST_BONUS
            if not asks_method and _METHOD.search(sentence):
                score -= METHOD_PENALTY
            elif not intent.is_property and _RESULT.search(sentence):
                score += RESULT_BONUS
            if intent.kind in ("which", "how") and _NAMES_INSTANCES.search(sentence):
                score += WHICH_BONUS
            names_own = not intent.frame or bool(set(intent.own) & (s_stems | context_stems))
            if not names_own:
                score -= OWN_MISSING if intent.new_subject else OWN_MISSING / 2
            if lead_in:
                score -= DEPENDENT_PENALTY
            if _META.search(sentence):
                score -= META_PENALTY
            about_source = not asks_method and bool(
                _ABOUT_SOURCE.search(sentence) or _METHOD.search(sentence)
            )
            out.append(
                Candidate(
                    n=p.n,
                    index=i,
                    text=sentence,
                    vector=vecs[i],
                    similarity=float(sims[i]),
                    score=score,
                    section=p.chunk.section,
                    doc=p.doc,
                    about=about,
                    about_context=about_ctx,
                    answers_property=has_prop,
                    lead_in=lead_in,
                    names_own=names_own,
                    about_source=about_source,
                    self_contained=not lead_in and not _CONCLUDES.match(sentence),
                )
            )
    return out


def mentions_main(intent: Intent, text: str) -> bool:
    return intent.main in stems_of(text) | acronym_stems(intent, text)


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
        context = f"{c.text} {c.section} {c.doc.title}"
        if main and not mentions_main(intent, context):
            continue
        if intent.qualifiers and not set(intent.qualifiers) <= stems_of(f"{c.text} {c.section}"):
            continue  # another regimen of the same drug
        out.append(c)
    return out
