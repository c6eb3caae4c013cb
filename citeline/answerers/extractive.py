"""The default answerer: no LLM. It picks the retrieved sentences that best answer the question,
drops near-duplicates, keeps caveats next to the claims they qualify, and groups the bullets
under headings. Every sentence is quoted from a passage, so numbers stay exactly as written."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from citeline.citations import DraftSentence
from citeline.retrieve import Retrieval
from citeline.safety import is_instruction
from citeline.text import content_words

# Answer sections in display order, each with the words that place a sentence in it. The
# source section heading is checked before the sentence itself.
SECTIONS: list[tuple[str, tuple[str, ...]]] = [
    ("Common pitfalls", ("pitfall", "avoid", "mistake", "overlook", "delay")),
    (
        "Caveats and safety",
        (
            "not recommended",
            "caveat",
            "safety",
            "should not",
            "limitation",
            "outside research",
            "outside of research",
            "insufficient",
            "uncertain",
            "risks",
            "harm",
            "against",
            "not be used",
            "unknown long-term",
        ),
    ),
    (
        "Assessment and screening",
        (
            "screen",
            "assess",
            "phq",
            "gad-",
            "alarm",
            "red flag",
            "diagnos",
            "refer",
            "warning sign",
            "urgent",
            "see a doctor",
        ),
    ),
    (
        "Treatment and management",
        (
            "treat",
            "therap",
            "management",
            "recommend",
            "probiotic",
            "prebiotic",
            "diet",
            "cbt",
            "hypnotherapy",
            "antidepress",
            "first-line",
            "first line",
            "medication",
            "transplant",
        ),
    ),
    (
        "Mechanisms",
        (
            "mechanism",
            "axis",
            "hpa",
            "microbio",
            "inflammat",
            "pathway",
            "stress",
            "nervous system",
            "hormone",
            "genetic",
            "brain",
        ),
    ),
    (
        "The evidence",
        (
            "evidence",
            "prevalence",
            "risk",
            "%",
            "study",
            "studies",
            "meta-analysis",
            "cohort",
            "trial",
            "associated",
            "link",
            "common",
        ),
    ),
]
OTHER_SECTION = "What the guidelines say"
CAVEAT = re.compile(
    r"\b(not recommended|should not|only (be )?(used|recommended|indicated)|"
    r"outside (of )?research|however|but not|insufficient evidence|no evidence|"
    r"not (be )?used|caution|unless)\b",
    re.IGNORECASE,
)
# A verdict must stand alone: not lean on "the study" or "this" from a passage the reader has
# not seen yet.
DEPENDENT_OPENING = re.compile(
    r"^(the (study|review|authors?|findings?|answer|trial|guideline|analysis|paper|results?)|"
    r"this|these|those|it|they|such|both|however)\b",
    re.IGNORECASE,
)
VERDICT_WINDOW = 3
MIN_SENTENCE_CHARS = 30
REDUNDANT_COSINE = 0.85
OVERLAP_WEIGHT = 0.15
PATIENT_BONUS = 0.05


@dataclass
class Candidate:
    n: int  # passage number
    index: int  # sentence index within the passage
    text: str
    vector: np.ndarray
    score: float
    section: str  # source section path


def section_for(source_section: str, sentence: str) -> str:
    for text in (source_section.lower(), sentence.lower()):
        for heading, keys in SECTIONS:
            if any(k in text for k in keys):
                return heading
    return OTHER_SECTION


def _candidates(query: str, retrieval: Retrieval, audience: str) -> list[Candidate]:
    qwords = set(content_words(query))
    out: list[Candidate] = []
    for p in retrieval.passages:
        vecs = retrieval.sentence_vectors.get(p.chunk.id)
        if vecs is None or not len(p.chunk.sentences):
            continue
        sims = vecs @ retrieval.query_vector
        bonus = (
            PATIENT_BONUS if audience == "patient" and p.doc.type == "Patient information" else 0.0
        )
        for i, sentence in enumerate(p.chunk.sentences):
            if (
                len(sentence) < MIN_SENTENCE_CHARS
                or sentence.rstrip().endswith("?")
                or is_instruction(sentence)  # an instruction injected into a source is not a claim
            ):
                continue
            sw = set(content_words(sentence))
            overlap = len(qwords & sw) / len(qwords) if qwords else 0.0
            out.append(
                Candidate(
                    p.n,
                    i,
                    sentence,
                    vecs[i],
                    float(sims[i]) + OVERLAP_WEIGHT * overlap + bonus,
                    p.chunk.section,
                )
            )
    return out


def compose(
    query: str, retrieval: Retrieval, *, floor: float, max_bullets: int, audience: str = "clinician"
) -> tuple[DraftSentence | None, list[DraftSentence]]:
    """(verdict, bullets) drafted from the passages; each sentence cites the passage it is from."""
    cands = sorted(_candidates(query, retrieval, audience), key=lambda c: -c.score)
    cands = [c for c in cands if c.score >= floor]
    if not cands:
        return None, []
    by_pos = {(c.n, c.index): c for c in _candidates(query, retrieval, audience)}
    chosen: list[Candidate] = []
    chosen_keys: set[tuple[int, int]] = set()

    def redundant(c: Candidate) -> bool:
        return any(
            float(c.vector @ o.vector) >= REDUNDANT_COSINE or c.text == o.text for o in chosen
        )

    for c in cands:
        if len(chosen) >= max_bullets + 1:
            break
        if (c.n, c.index) in chosen_keys or redundant(c):
            continue
        chosen.append(c)
        chosen_keys.add((c.n, c.index))
        # Keep the caveat that qualifies this claim (the next sentence of the same passage).
        nxt = by_pos.get((c.n, c.index + 1))
        if (
            nxt
            and CAVEAT.search(nxt.text)
            and (nxt.n, nxt.index) not in chosen_keys
            and not redundant(nxt)
            and len(chosen) < max_bullets + 1
        ):
            nxt.score = c.score - 1e-6
            chosen.append(nxt)
            chosen_keys.add((nxt.n, nxt.index))

    # The verdict: the best self-contained sentence among the top few.
    verdict_c = next(
        (c for c in chosen[:VERDICT_WINDOW] if not DEPENDENT_OPENING.match(c.text)), chosen[0]
    )
    rest = [c for c in chosen if c is not verdict_c]
    verdict = DraftSentence(verdict_c.text, [verdict_c.n], kind="verdict")
    bullets = [DraftSentence(c.text, [c.n], kind=section_for(c.section, c.text)) for c in rest]
    return verdict, bullets
