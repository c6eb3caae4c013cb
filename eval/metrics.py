"""Ranking metrics as BEIR reports them (pytrec_eval / trec_eval definitions).

`ranking` is a list of document ids, best first; `qrels` maps judged document ids to graded
relevance (0 = judged not relevant). Unjudged documents count as not relevant.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence


def ndcg_at_k(ranking: Sequence[str], qrels: Mapping[str, int], k: int = 10) -> float:
    """nDCG@k with linear gain (gain = grade) and a log2(rank + 1) discount, as trec_eval's
    ndcg_cut; the ideal DCG ranks all judged-relevant documents of the query by grade."""
    dcg = sum(max(qrels.get(doc, 0), 0) / math.log2(i + 2) for i, doc in enumerate(ranking[:k]))
    ideal = sorted((g for g in qrels.values() if g > 0), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def recall_at_k(ranking: Sequence[str], qrels: Mapping[str, int], k: int = 100) -> float:
    """Share of the query's relevant documents (grade > 0) found in the top k."""
    relevant = {doc for doc, g in qrels.items() if g > 0}
    if not relevant:
        return 0.0
    return len(relevant.intersection(ranking[:k])) / len(relevant)


def mrr_at_k(ranking: Sequence[str], qrels: Mapping[str, int], k: int = 10) -> float:
    """1 / rank of the first relevant document in the top k, else 0."""
    for i, doc in enumerate(ranking[:k], start=1):
        if qrels.get(doc, 0) > 0:
            return 1.0 / i
    return 0.0


def evaluate(
    runs: Mapping[str, Sequence[str]], qrels: Mapping[str, Mapping[str, int]]
) -> dict[str, float]:
    """Mean nDCG@10, Recall@100 and MRR@10 over the queries of `runs` (each must be in qrels)."""
    if not runs:
        return {"ndcg@10": 0.0, "recall@100": 0.0, "mrr@10": 0.0}
    n = len(runs)
    return {
        "ndcg@10": sum(ndcg_at_k(r, qrels[q], 10) for q, r in runs.items()) / n,
        "recall@100": sum(recall_at_k(r, qrels[q], 100) for q, r in runs.items()) / n,
        "mrr@10": sum(mrr_at_k(r, qrels[q], 10) for q, r in runs.items()) / n,
    }
