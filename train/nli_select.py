"""The reader's operating point: accept rates of held-out SciFact train claims per threshold,
with the verifier composed as the product composes it (citeline/verify.py: rules first, the
reader for the claims they leave open)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np

from citeline.verify import SUPPORTED, analyse, with_reader

LABELS = ("SUPPORT", "CONTRADICT", "NEI")


def _items(claims: Sequence[dict[str, Any]], corpus: dict[int, list[str]]) -> list[tuple]:
    out = []
    for c in claims:
        if not c["evidence"]:
            docs = [corpus[d] for d in c["cited_doc_ids"] if d in corpus]
            out.append((c["claim"], "NEI", docs))
            continue
        label = next(e["label"] for ev in c["evidence"].values() for e in ev)
        docs = [
            [corpus[int(d)][i] for i in sorted({i for e in ev for i in e["sentences"]})]
            for d, ev in c["evidence"].items()
        ]
        out.append((c["claim"], label, docs))
    return out


def accept_rates(
    claims: Sequence[dict[str, Any]],
    corpus: dict[int, list[str]],
    net: Any,
    tok: Any,
    max_len: int,
    thresholds: Sequence[float],
    support_threshold: float = 0.55,
) -> dict[float, dict[str, float]]:
    import torch

    from citeline.embeddings import get_embedder

    items = _items(claims, corpus)
    texts = list(
        dict.fromkeys([c for c, _, _ in items] + [s for *_, ds in items for d in ds for s in d])
    )
    vecs = dict(zip(texts, get_embedder("").embed(texts), strict=True))
    judged = []  # per claim: its label and, per document, (rules' verdict, evidence or None)
    for claim, label, docs in items:
        rows = []
        for sents in docs:
            svecs = np.stack([vecs[s] for s in sents])
            ruled, evidence = analyse(claim, vecs[claim], " ".join(sents), svecs, sents)
            p = None
            if evidence is not None:
                enc = tok([claim], [evidence], truncation="longest_first", max_length=max_len,
                          return_tensors="pt")  # fmt: skip
                with torch.no_grad():
                    p = float(torch.softmax(net(**enc), -1)[0, 0])
            rows.append((ruled, p))
        judged.append((label, rows))
    out: dict[float, dict[str, float]] = {}
    for t in thresholds:
        counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for label, rows in judged:
            ok = False
            for ruled, p in rows:
                v = with_reader(ruled, p, t)
                ok = ok or (v.label == SUPPORTED and v.score >= support_threshold)
            counts[label][0] += 1
            counts[label][1] += ok
        out[t] = {k: round(counts[k][1] / counts[k][0], 4) for k in LABELS if counts[k][0]}
    return out


def choose(rates: dict[float, dict[str, float]], max_contradict: float, max_nei: float) -> float:
    """Among the thresholds within both ceilings, the one with the most SUPPORT accepted beyond
    CONTRADICT and NEI; of equals, the strictest (the highest threshold when none is within)."""
    within = [
        t
        for t in rates
        if rates[t].get("CONTRADICT", 0) <= max_contradict and rates[t].get("NEI", 0) <= max_nei
    ]
    if not within:
        return max(rates)

    def gain(t: float) -> tuple[float, float]:
        r = rates[t]
        return (r.get("SUPPORT", 0) - r.get("CONTRADICT", 0) - r.get("NEI", 0), t)

    return max(within, key=gain)
