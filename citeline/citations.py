"""Citation enforcement: nothing is shown unless a retrieved passage supports it.

`enforce()` is pure given a support function: each draft sentence must cite a retrieved passage
that supports it; a wrong citation is re-attributed to a passage that does, else the sentence is
dropped and kept in `removed` for audit. `support()` is the one scorer (swap it for an NLI model
when one is available offline).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from citeline.text import content_words, normalize, numbers, split_sentences
from citeline.types import Claim, RemovedClaim

_MARKER = re.compile(r"\[(\d+(?:\s*[,;]\s*\d+)*)\]")
_MARKER_GROUP = re.compile(r"(?:\s*\[\d+(?:\s*[,;]\s*\d+)*\])+")


@dataclass
class DraftSentence:
    text: str
    citations: list[int]
    kind: str = ""
    lead_in: str = ""  # shown apart from the quoted words: "Yes.", "PHQ-9 (2001):"


SupportFn = Callable[[str, int], float]


def parse_draft(draft: str) -> list[DraftSentence]:
    """Split model output into sentences with the [n] markers each carries.

    A marker group right after a sentence's end (`... here. [2]`) belongs to that sentence.
    """
    # Move markers that follow a full stop before it, so the splitter keeps them with their sentence.
    draft = re.sub(r"([.!?])((?:\s*\[\d+(?:\s*[,;]\s*\d+)*\])+)", r"\2\1", draft)
    out: list[DraftSentence] = []
    for sentence in split_sentences(draft):
        cites: list[int] = []
        for group in _MARKER.findall(sentence):
            for n in re.split(r"\s*[,;]\s*", group):
                if n.isdigit() and int(n) not in cites:
                    cites.append(int(n))
        text = normalize(_MARKER_GROUP.sub("", sentence))
        text = re.sub(r"\s+([.!?,;:])", r"\1", text)
        if any(ch.isalnum() for ch in text):
            out.append(DraftSentence(text, cites))
    return out


def numbers_supported(claim: str, passage_text: str) -> bool:
    """Every number, dose, percentage or interval in the claim appears in the passage."""
    return numbers(claim) <= numbers(passage_text)


def support(
    claim: str,
    claim_vector: np.ndarray | None,
    passage_text: str,
    sentence_vectors: np.ndarray | None,
) -> float:
    """Support of a claim by a passage, 0..1.

    0 when a number of the claim is missing from the passage, or when the claim has no content
    word at all ("No.", "It is."); 1 when the claim is quoted from the passage (whole words);
    otherwise the mean of (a) cosine similarity between the claim and the passage's best
    sentence and (b) the share of the claim's content words found in the passage.
    """
    cw = set(content_words(claim))
    if not cw or not numbers_supported(claim, passage_text):
        return 0.0
    norm_claim = normalize(claim).rstrip(".").lower()
    if norm_claim and _quoted(norm_claim, normalize(passage_text).lower()):
        return 1.0
    overlap = len(cw & set(content_words(passage_text))) / len(cw) if cw else 0.0
    cosine = 0.0
    if claim_vector is not None and sentence_vectors is not None and sentence_vectors.size:
        cosine = max(0.0, float(np.max(sentence_vectors @ claim_vector)))
    return 0.5 * cosine + 0.5 * overlap


def _quoted(needle: str, text: str) -> bool:
    """`needle` occurs in `text` as whole words (a plain search: a regex compiled per claim cost
    ~20 ms per answer in the benchmark profile)."""
    start = text.find(needle)
    while start != -1:
        end = start + len(needle)
        before = text[start - 1] if start else " "
        after = text[end] if end < len(text) else " "
        if not _word_char(before) and not _word_char(after):
            return True
        start = text.find(needle, start + 1)
    return False


def _word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def enforce(
    draft: Sequence[DraftSentence],
    passage_ids: Sequence[int],
    support_fn: SupportFn,
    threshold: float,
) -> tuple[list[Claim], list[RemovedClaim]]:
    """Claims that survive, each citing only passages that support it, and the removed ones."""
    valid = list(passage_ids)
    claims: list[Claim] = []
    removed: list[RemovedClaim] = []
    seen: set[str] = set()
    for sent in draft:
        key = sent.text.lower()
        if key in seen:
            continue
        cited = [n for n in sent.citations if n in valid]
        scores = {n: support_fn(sent.text, n) for n in cited}
        kept = [n for n in cited if scores[n] >= threshold]
        if not kept:
            # Re-attribute: the passage that supports the sentence best, if any does enough.
            others = {n: support_fn(sent.text, n) for n in valid if n not in scores}
            scores.update(others)
            best = max(others, key=lambda n: others[n], default=None)
            if best is not None and others[best] >= threshold:
                kept = [best]
            else:
                if not sent.citations:
                    reason = "no citation"
                elif not cited:
                    reason = "cites a passage that was not retrieved"
                else:
                    reason = "cited passage does not support it"
                removed.append(RemovedClaim(sent.text, list(sent.citations), reason))
                continue
        seen.add(key)
        claims.append(Claim(sent.text, sorted(kept), max(scores[n] for n in kept), sent.kind))
    return claims, removed


def make_support_fn(
    passage_texts: Mapping[int, str],
    sentence_vectors: Mapping[int, np.ndarray],
    claim_vectors: Mapping[str, np.ndarray],
) -> SupportFn:
    """Bind `support()` to one answer's passages and the embedded draft sentences."""
    cache: dict[tuple[str, int], float] = {}

    def fn(claim: str, n: int) -> float:
        if (claim, n) not in cache:
            cache[(claim, n)] = support(
                claim, claim_vectors.get(claim), passage_texts[n], sentence_vectors.get(n)
            )
        return cache[(claim, n)]

    return fn
