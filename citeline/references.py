"""One reference per document per answer.

The answerer and `citations.enforce()` cite retrieved passages; a reader wants documents. A
document that gave two passages is one reference that lists both places it was cited from, and
the claims' citation numbers are renumbered to the references (in order of first citation, so
the first number shown is [1]). Each reference keeps its passages and, per passage, the
sentences that were cited, so the app can highlight them and show each citation's sentence.
Pure functions: no framework, no I/O."""

from __future__ import annotations

import re
from collections.abc import Sequence

from citeline.text import STOPWORDS, split_sentences, words
from citeline.types import CitedPassage, Claim, Passage, Reference


def build_references(claims: Sequence[Claim], passages: Sequence[Passage]) -> list[Reference]:
    """The references of `claims` (in display order), one per document; renumbers each claim's
    `citations` in place from passage numbers to reference numbers and fills `claim.sources`.

    Citation numbers that name no passage are dropped (enforce() never leaves any)."""
    by_n = {p.n: p for p in passages}
    order: list[str] = []  # doc ids in order of first citation
    cited: dict[str, list[Passage]] = {}  # doc id -> its cited passages, in order of citation
    for c in claims:
        for old in c.citations:
            p = by_n.get(old)
            if p is None:
                continue
            doc = p.doc.doc_id
            if doc not in cited:
                order.append(doc)
                cited[doc] = []
            if all(q.n != p.n for q in cited[doc]):
                cited[doc].append(p)
    number = {doc: i for i, doc in enumerate(order, start=1)}
    sentences: dict[int, list[str]] = {}  # passage number -> sentences cited from it
    for c in claims:
        found = {old: _rests_on(c.text, by_n[old]) for old in c.citations if old in by_n}
        # A claim quoted from one passage does not also rest on the closest sentence of another.
        quoted = any(exact for _, exact in found.values())
        sources: dict[int, list[str]] = {}
        for old, (sents, exact) in found.items():
            keep = sents if exact or not quoted else []
            rested = c.sentences.get(old)  # the sentence the verifier aligned the claim with
            chunk_sents = by_n[old].chunk.sentences
            if not exact and rested is not None and 0 <= rested < len(chunk_sents):
                keep = [chunk_sents[rested]]
            sources.setdefault(number[by_n[old].doc.doc_id], []).extend(keep)
            sentences.setdefault(old, []).extend(keep)
        c.sources = {n: list(dict.fromkeys(s)) for n, s in sources.items()}
        remapped: dict[int, int] = {}
        for old, idx in c.sentences.items():
            if old in by_n:
                remapped.setdefault(number[by_n[old].doc.doc_id], idx)
        c.sentences = remapped
        c.citations = sorted(c.sources)
    return [_reference(number[doc], cited[doc], sentences) for doc in order]


def _reference(n: int, passages: list[Passage], sentences: dict[int, list[str]]) -> Reference:
    parts = [
        CitedPassage(
            chunk_id=p.chunk.id,
            section=p.chunk.section,
            page=p.chunk.page,
            text=p.chunk.text,
            cited=list(dict.fromkeys(sentences.get(p.n, []))),
        )
        for p in passages
    ]
    doc = passages[0].doc
    return Reference(
        n=n,
        doc_id=doc.doc_id,
        title=doc.title,
        publisher=doc.publisher,
        year=doc.year,
        type=doc.type,
        url=doc.url,
        section="; ".join(dict.fromkeys(x.section for x in parts if x.section)),
        page=next((x.page for x in parts if x.page), None),
        passage="\n\n".join(x.text for x in parts),
        highlights=list(dict.fromkeys(s for x in parts for s in x.cited)),
        passages=parts,
    )


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _content(text: str) -> set[str]:
    return {w for w in words(text) if w not in STOPWORDS}


def rests_on(claim: str, passage: Passage) -> list[str]:
    """The sentences of `passage` a claim rests on: those it quotes (an extractive claim is one
    sentence, or a sentence and its caveat), else the one it sits inside (a claim cut from a
    longer sentence), else the one sharing most of its content words (a paraphrase)."""
    return _rests_on(claim, passage)[0]


def _rests_on(claim: str, passage: Passage) -> tuple[list[str], bool]:
    """rests_on(), and whether the claim quotes the sentences (False: the closest one)."""
    sents = list(passage.chunk.sentences) or split_sentences(passage.chunk.text)
    text = _squash(claim)
    quoted = [s for s in sents if _squash(s) and _squash(s) in text]
    if quoted:
        return quoted, True
    inside = [s for s in sents if text and text in _squash(s)]
    if inside:
        return inside[:1], True
    want = _content(claim)
    scored = [(len(want & _content(s)) / (len(want | _content(s)) or 1), s) for s in sents]
    best = max(scored, default=(0.0, ""), key=lambda t: t[0])
    return ([best[1]] if best[0] > 0 else []), False
