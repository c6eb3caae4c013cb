"""Citation enforcement: nothing is shown unless a retrieved passage supports it.

`enforce()` is pure given a support function: each draft sentence must cite a retrieved passage
that supports it; a wrong citation is re-attributed to a passage that does, else the sentence is
dropped and kept in `removed` for audit, labelled `contradicted` or `not_found`. `support()` is
the seam to the one verifier (`citeline/verify.py`), which aligns the claim with the sentence it
rests on and judges whether that sentence entails it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from citeline.text import normalize, numbers, split_sentences
from citeline.types import Claim, RemovedClaim
from citeline.verify import CONTRADICTED, NOT_FOUND, SUPPORTED, Verdict, verify

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
    sentences: Sequence[str] | None = None,
) -> float:
    """Support of a claim by a passage, 0..1: the verifier's alignment score (`verify()`).

    1 when the claim is quoted from the passage (whole words); 0 when the passage contradicts
    it (a number, negation, direction, recommendation grade or comparison that differs) or the
    claim has no content word at all ("No.", "It is."); otherwise the mean of the cosine
    similarity and the share of the claim's content words covered by the sentence it rests on.
    A claim the passage does not entail keeps its alignment score but not its label: `enforce`
    reads the label through `make_support_fn`.
    """
    return verify(claim, claim_vector, passage_text, sentence_vectors, sentences).score


def enforce(
    draft: Sequence[DraftSentence],
    passage_ids: Sequence[int],
    support_fn: SupportFn,
    threshold: float,
) -> tuple[list[Claim], list[RemovedClaim]]:
    """Claims that survive, each citing only passages that support it, and the removed ones.

    A passage supports a claim when the verifier labels it `supported` with a score of at least
    `threshold` (for a plain score function: when its score reaches `threshold`). A removed
    claim is labelled `contradicted` when a passage it was checked against contradicts it."""
    valid = list(passage_ids)
    claims: list[Claim] = []
    removed: list[RemovedClaim] = []
    seen: set[str] = set()
    for sent in draft:
        key = sent.text.lower()
        if key in seen:
            continue
        cited = [n for n in sent.citations if n in valid]
        verdicts = {n: _verdict(support_fn, sent.text, n, threshold) for n in cited}
        kept = [n for n in cited if _holds(verdicts[n], threshold)]
        if not kept:
            # Re-attribute: the passage that supports the sentence best, if any does enough.
            # By the rules alone: the trained reader judges a claim against what it cites.
            others = {
                n: _verdict(support_fn, sent.text, n, threshold, read=False)
                for n in valid
                if n not in verdicts
            }
            verdicts.update(others)
            good = [n for n, v in others.items() if _holds(v, threshold)]
            best = max(good, key=lambda n: others[n].score, default=None)
            if best is None:
                removed.append(_removed(sent, cited, verdicts))
                continue
            kept = [best]
        seen.add(key)
        top = max(kept, key=lambda n: verdicts[n].score)
        where = {n: verdicts[n].sentence for n in kept}
        claims.append(
            Claim(
                sent.text,
                sorted(kept),
                verdicts[top].score,
                sent.kind,
                support_label=SUPPORTED,
                sentences={n: i for n, i in where.items() if i is not None},
            )
        )
    return claims, removed


def _verdict(
    support_fn: SupportFn, claim: str, n: int, threshold: float, read: bool = True
) -> Verdict:
    get = getattr(support_fn, "verdict", None)
    if get is not None:
        return get(claim, n, read=read)
    score = support_fn(claim, n)
    return Verdict(SUPPORTED if score >= threshold else NOT_FOUND, score, None)


def _holds(v: Verdict, threshold: float) -> bool:
    return v.label == SUPPORTED and v.score >= threshold


def _removed(sent: DraftSentence, cited: list[int], verdicts: dict[int, Verdict]) -> RemovedClaim:
    if not sent.citations:
        reason = "no citation"
    elif not cited:
        reason = "cites a passage that was not retrieved"
    else:
        reason = "cited passage does not support it"
    against = [v for v in verdicts.values() if v.label == CONTRADICTED]
    first = against + [verdicts[n] for n in cited]
    v = first[0] if first else None
    return RemovedClaim(
        sent.text,
        list(sent.citations),
        reason,
        label=CONTRADICTED if against else NOT_FOUND,
        detail=v.detail if v else "",
        sentence=v.sentence if v else None,
    )


class SupportFunction:
    """The verifier bound to one answer's passages and the embedded draft sentences: call it for
    the score, `.verdict()` for the label and the sentence the claim rests on (both cached)."""

    def __init__(
        self,
        passage_texts: Mapping[int, str],
        sentence_vectors: Mapping[int, np.ndarray],
        claim_vectors: Mapping[str, np.ndarray],
        passage_sentences: Mapping[int, Sequence[str]] | None = None,
    ) -> None:
        self.texts = passage_texts
        self.vectors = sentence_vectors
        self.claims = claim_vectors
        self.sentences = passage_sentences or {}
        self.cache: dict[tuple[str, int, bool], Verdict] = {}

    def verdict(self, claim: str, n: int, read: bool = True) -> Verdict:
        """The verifier's verdict; with `read=False` the trained reader is not asked (rules)."""
        if (claim, n, read) not in self.cache:
            self.cache[(claim, n, read)] = verify(
                claim,
                self.claims.get(claim),
                self.texts[n],
                self.vectors.get(n),
                self.sentences.get(n),
                use_model=read,
            )
        return self.cache[(claim, n, read)]

    def __call__(self, claim: str, n: int) -> float:
        return self.verdict(claim, n).score


def make_support_fn(
    passage_texts: Mapping[int, str],
    sentence_vectors: Mapping[int, np.ndarray],
    claim_vectors: Mapping[str, np.ndarray],
    passage_sentences: Mapping[int, Sequence[str]] | None = None,
) -> SupportFunction:
    """Bind the verifier to one answer's passages (with their sentences in the order of their
    vectors, when known) and the embedded draft sentences."""
    return SupportFunction(passage_texts, sentence_vectors, claim_vectors, passage_sentences)
