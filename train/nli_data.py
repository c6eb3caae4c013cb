"""Training pairs for the verifier's reader, from SciFact train claims only.

A pair is (claim, evidence, label): label ENTAILED or CONTRADICTED for the claim against the
rationale sentences its annotators marked (each evidence set joined), NEITHER for the claim
against the sentences of a cited abstract that are no rationale and share most words with it
(the hard case: on topic, saying something else), and against its cited abstracts when it has
no evidence at all (SciFact's NEI claims). No text is stored in the repository.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any

ENTAILED, CONTRADICTED, NEITHER = 0, 1, 2
NEITHER_PER_DOCUMENT = 2
Pair = tuple[str, str, int]
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9\-]{2,}")


def load(folder: Path, split: str) -> tuple[dict[int, list[str]], list[dict[str, Any]]]:
    corpus: dict[int, list[str]] = {}
    with (folder / "corpus.jsonl").open(encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            corpus[d["doc_id"]] = d["abstract"]
    with (folder / f"claims_{split}.jsonl").open(encoding="utf-8") as f:
        claims = [json.loads(line) for line in f]
    return corpus, claims


def held_out_claims(claims: list[dict[str, Any]], share: float, seed: int) -> set[int]:
    ids = sorted(c["id"] for c in claims)
    random.Random(seed).shuffle(ids)
    return set(ids[: int(len(ids) * share)])


def _words(s: str) -> set[str]:
    return {w.lower() for w in _WORD.findall(s)}


def pairs_for(claim: dict[str, Any], corpus: dict[int, list[str]]) -> list[Pair]:
    """The pairs of one claim (see the module's docstring)."""
    out: list[Pair] = []
    text = claim["claim"]
    words = _words(text)
    docs = claim["evidence"] or {str(d): [] for d in claim["cited_doc_ids"]}
    for doc_id, sets in docs.items():
        abstract = corpus.get(int(doc_id))
        if not abstract:
            continue
        used: set[int] = set()
        for e in sets:
            label = ENTAILED if e["label"] == "SUPPORT" else CONTRADICTED
            used.update(e["sentences"])
            out.append((text, " ".join(abstract[i] for i in e["sentences"]), label))
        rest = sorted(
            ((len(words & _words(s)), -i) for i, s in enumerate(abstract) if i not in used),
            reverse=True,
        )
        for _, neg_i in rest[:NEITHER_PER_DOCUMENT]:
            out.append((text, abstract[-neg_i], NEITHER))
    return out
