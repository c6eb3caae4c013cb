"""The assemble step: the verdict, sections in the clinical order, references renumbered to the
cited passages, follow-up suggestions a clinician would click, the glossary; and the filters as
shown on an answer."""

from __future__ import annotations

import re
from typing import Any

from citeline import prompts
from citeline.question import Intent, stems_of
from citeline.references import build_references
from citeline.retrieve import Retrieval
from citeline.sections import (
    ASSESSMENT,
    CAVEATS,
    EVIDENCE,
    MECHANISMS,
    OTHER,
    RECOMMEND,
    TREATMENT,
    arrange,
    section_for,
)
from citeline.store import Filters, Index
from citeline.types import Answer, Claim, Section

# Follow-up questions per answer section, about the answer's subject.
FOLLOW_UPS = {
    RECOMMEND: "What do the guidelines recommend for {s}?",
    TREATMENT: "Which treatments help with {s}?",
    EVIDENCE: "How strong is the evidence on {s}?",
    MECHANISMS: "What mechanisms explain {s}?",
    ASSESSMENT: "How should {s} be assessed?",
    CAVEATS: "What cautions apply to {s}?",
}


def assemble_answer(
    ans: Answer, claims: list[Claim], retrieval: Retrieval, intent: Intent, index: Index
) -> None:
    cited = {n for c in claims for n in c.citations}
    verdict = next((c for c in claims if c.kind == "verdict"), claims[0])
    ans.verdict = verdict
    groups: dict[str, list[Claim]] = {}
    for c in claims:
        if c is not verdict:
            kind = c.kind if c.kind in FOLLOW_UPS or c.kind == OTHER else OTHER
            groups.setdefault(kind, []).append(c)
    ans.sections = [Section(h, items) for h, items in arrange(groups)]
    # One reference per cited document; the claims' [n] are renumbered to them.
    ans.references = build_references(ans.claims, retrieval.passages)
    ans.follow_ups = follow_ups(ans, retrieval, intent, cited)
    if ans.audience == "patient":
        ans.glossary = glossary(claims)


# Words that complete the term a question's subject words begin ("cognitive behavioural therapy",
# "low FODMAP diet"), though alone they are too general to be a subject.
_TERM_HEADS = frozenset(
    "therapy therapies treatment treatments test tests score scores scale symptoms syndrome "
    "disorder disorders disease diseases infection infections trial diet".split()
)
_NOT_A_TOPIC = frozenset(
    "make makes made something anything everything get gets getting got take takes "
    "taking took cure cures fix fixes".split()
)


# Words that join a subject phrase to what follows; at its end they dangle.
_TRAILING = frozenset({"without", "with", "within", "versus", "vs"})
_TOPIC_BREAK = re.compile(rf"\s*\b(?:{'|'.join(sorted(_NOT_A_TOPIC))})\b\s*", re.I)


def subject_text(intent: Intent, question: str = "") -> str:
    """The answer's subject as a follow-up names it: the question's subject phrases with the
    term each begins completed from the question, leaving out a lone verb form ("screened")."""
    parts = [
        part.split() for p in intent.phrases for part in _TOPIC_BREAK.split(p)
    ]  # "stress make IBS": stress, IBS
    phrases = []
    for words in parts:
        if not words or words == ["health"] or (len(words) == 1 and words[0].endswith("ed")):
            continue
        while len(words) > 1 and words[-1].lower() in _TRAILING:
            words = words[:-1]  # "losing weight without (trying)": "losing weight"
        phrase = " ".join(words)
        m = re.search(rf"\b{re.escape(phrase)}\s+([A-Za-z]+)", question, flags=re.I)
        if m and m.group(1).lower() in _TERM_HEADS:
            phrase = f"{phrase} {m.group(1)}"
        phrases.append(phrase)
    return " and ".join(phrases[:2])


def follow_ups(
    ans: Answer, retrieval: Retrieval, intent: Intent, cited: set[int], limit: int = 3
) -> list[str]:
    """Questions about the answer's subject that the retrieved passages can answer and this
    answer did not: one per answer section the index has for the subject and the answer lacks,
    then what the other retrieved documents are about. Never the question just asked."""
    out: list[str] = []
    asked = ans.question.strip().lower().rstrip("?")
    shown = {s.heading for s in ans.sections}
    shown_headings = " ".join(shown)
    subject = subject_text(intent, ans.standalone_query or ans.question)
    if subject:
        aspects: list[str] = []
        for p in retrieval.pool or retrieval.passages:
            if intent.main and intent.main not in stems_of(p.chunk.text + " " + p.doc.title):
                continue
            for sentence in p.chunk.sentences:
                heading = section_for(p.chunk.section, sentence)
                if (
                    heading in FOLLOW_UPS
                    and heading not in shown_headings
                    and heading not in aspects
                ):
                    aspects.append(heading)
        for heading in sorted(aspects, key=list(FOLLOW_UPS).index):
            out.append(FOLLOW_UPS[heading].format(s=subject))
    for p in retrieval.pool or retrieval.passages:
        if len(out) >= limit * 2:
            break
        if p.n in cited or p.doc.title in (ans.verdict.text if ans.verdict else ""):
            continue
        title = p.doc.title.split(":")[0].strip()
        q = f"What does “{title}” ({p.doc.publisher or p.doc.type}, {p.doc.year}) conclude?"
        if p.doc.year is None:
            q = f"What does “{title}” conclude?"
        if q not in out and p.doc.doc_id not in {r.doc_id for r in ans.references}:
            out.append(q)
    return [q for q in dict.fromkeys(out) if q.lower().rstrip("?") != asked][:limit]


def glossary(claims: list[Claim]) -> list[dict[str, str]]:
    terms: dict[str, str] = prompts.data("glossary.yaml")
    text = " ".join(c.text for c in claims).lower()
    out, seen = [], set()
    for term, meaning in terms.items():
        if term.lower() in text and meaning not in seen:
            out.append({"term": term, "meaning": meaning})
            seen.add(meaning)
    return out


def filters_shown(filters: Filters | None) -> dict[str, Any]:
    """The active filters as an answer shows them (and the export records them)."""
    if not filters or filters.is_empty():
        return {}
    out: dict[str, Any] = {}
    if filters.types:
        out["type"] = ", ".join(filters.types)
    if filters.publishers:
        out["publisher"] = ", ".join(filters.publishers)
    if filters.year_min is not None or filters.year_max is not None:
        lo = filters.year_min if filters.year_min is not None else "…"
        hi = filters.year_max if filters.year_max is not None else "…"
        out["year"] = f"{lo}–{hi}"
    if filters.doc_ids:
        out["documents"] = ", ".join(filters.doc_ids)
    return out


def matching_documents(index: Index, filters: Filters) -> list[str]:
    """The ids of the indexed documents the filters admit."""
    out = []
    for doc_id, rec in index.documents().items():
        m = rec.meta
        if filters.types and m.type not in filters.types:
            continue
        if filters.publishers and m.publisher not in filters.publishers:
            continue
        if filters.doc_ids and doc_id not in filters.doc_ids:
            continue
        year = m.year or 0
        if filters.year_min is not None and year < filters.year_min:
            continue
        if filters.year_max is not None and year > filters.year_max:
            continue
        out.append(doc_id)
    return out
