"""Hybrid retrieval: dense (Chroma) + BM25 (SQLite FTS5), fused by weighted reciprocal rank,
filtered, de-duplicated, capped per document, with a relevance floor."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np

from citeline.config import Settings
from citeline.embeddings import Embedder
from citeline.store import Filters, Store
from citeline.text import content_words
from citeline.types import Chunk, Passage

Mode = Literal["hybrid", "dense", "bm25", "sentence"]

# Patient mode prefers patient-information documents where they cover the point.
PATIENT_BOOST = 0.05
# Weight of the (max-normalised) fused rank score when the pool is reranked by the best
# sentence's cosine similarity.
FUSED_PRIOR = 0.1
NEAR_DUPLICATE_JACCARD = 0.8


@dataclass
class Retrieval:
    passages: list[Passage]
    query_vector: np.ndarray
    best_relevance: float
    sentence_vectors: dict[str, np.ndarray] = field(default_factory=dict)
    # Every fused candidate, uncapped, in rank order: the answerer re-selects from it after it
    # scored the sentences, so the best-answering passage is never dropped by the cap.
    pool: list[Passage] = field(default_factory=list)

    def below_floor(self, floor: float) -> bool:
        return not self.passages or self.best_relevance < floor


def rrf_fuse(lists: Sequence[tuple[Sequence[str], float]], k: int) -> list[tuple[str, float]]:
    """Weighted reciprocal-rank fusion: score(d) = sum_i w_i / (k + rank_i(d)), ranks from 1."""
    scores: dict[str, float] = {}
    for ids, weight in lists:
        for rank, cid in enumerate(ids, start=1):
            scores[cid] = scores.get(cid, 0.0) + weight / (k + rank)
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))


def rank(
    index: Store,
    query: str,
    query_vector: np.ndarray,
    settings: Settings,
    *,
    mode: Mode = "hybrid",
    depth: int | None = None,
    filters: Filters | None = None,
) -> tuple[list[tuple[str, float]], dict[str, float]]:
    """Ranked chunk ids with scores, and the best dense cosine seen for each chunk.

    hybrid fuses three rankings: chunks by dense similarity, BM25, and the candidates of both
    re-ranked by their best sentence's dense similarity (a short, precise sentence is not diluted
    by its neighbours).
    """
    depth = depth or settings.candidates
    # The sentence ranking re-scores the dense and lexical candidates by their best sentence, so
    # a sentence ranking needs both candidate lists.
    want_sent = mode == "sentence" or (mode == "hybrid" and settings.weight_sentence > 0)
    want_dense = mode in ("hybrid", "dense") or want_sent
    want_lex = mode in ("hybrid", "bm25") or want_sent
    dense = index.dense_search(query_vector, depth, filters) if want_dense else []
    lexical = index.lexical_search(query, depth, filters) if want_lex else []
    sents = (
        index.best_sentences([c for c, _ in (*dense, *lexical)], query_vector) if want_sent else []
    )
    sim: dict[str, float] = {}
    for cid, s in (*dense, *sents):
        sim[cid] = max(s, sim.get(cid, -1.0))
    if mode == "dense":
        return dense, sim
    if mode == "sentence":
        return sents, sim
    if mode == "bm25":
        return lexical, sim
    fused = rrf_fuse(
        [
            ([c for c, _ in dense], settings.weight_dense),
            ([c for c, _ in sents], settings.weight_sentence),
            ([c for c, _ in lexical], settings.weight_lexical),
        ],
        settings.rrf_k,
    )
    return fused, sim


def search(
    index: Store,
    embedder: Embedder,
    query: str,
    settings: Settings,
    *,
    filters: Filters | None = None,
    audience: str = "clinician",
    mode: Mode = "hybrid",
) -> Retrieval:
    """The passages for one standalone query, numbered [1..n] in order of relevance."""
    qvec = embedder.embed([query])[0]
    ranked, dense_sim = rank(index, query, qvec, settings, mode=mode, filters=filters)
    fused_pool = ranked[: settings.top_k * 4]
    loaded = index.get_chunks([cid for cid, _ in fused_pool])
    top_fused = max((f for _, f in fused_pool), default=1.0) or 1.0
    candidates: list[tuple[float, Chunk, float, np.ndarray]] = []
    for cid, fused in fused_pool:
        if cid not in loaded:
            continue
        chunk, svecs = loaded[cid]
        # Relevance: the best of the chunk's cosine and its best sentence's cosine. The sentence
        # view lets a lexical-only hit be judged on the same scale as a dense one.
        sent_best = float(np.max(svecs @ qvec)) if svecs.size else 0.0
        relevance = max(dense_sim.get(cid, 0.0), sent_best)
        # Rerank the fused pool: fusion gives recall, the best sentence's similarity precision.
        score = relevance + FUSED_PRIOR * fused / top_fused
        if audience == "patient" and chunk.doc.type == "Patient information":
            score += PATIENT_BOOST
        candidates.append((score, chunk, relevance, svecs))
    candidates.sort(key=lambda t: -t[0])

    pool = [
        Passage(n=i, chunk=c, score=s, dense=rel) for i, (s, c, rel, _) in enumerate(candidates, 1)
    ]
    vectors = {c.id: v for _, c, _, v in candidates}
    passages = select(pool, settings.top_k, settings.max_per_doc)
    best = max((p.dense for p in passages), default=0.0)
    return Retrieval(passages, qvec, best, vectors, pool)


def widen(ret: Retrieval, extra: Retrieval) -> Retrieval:
    """`ret` with the pool of a second search for the same question added after its own (each
    chunk once, renumbered): the answerer scores and re-selects from both."""
    seen = {p.chunk.id for p in ret.pool}
    added = [p for p in extra.pool if p.chunk.id not in seen]
    pool = [*ret.pool, *(replace(p, n=len(ret.pool) + i) for i, p in enumerate(added, 1))]
    vectors = {**extra.sentence_vectors, **ret.sentence_vectors}
    return replace(ret, pool=pool, sentence_vectors=vectors)


def select(ranked: Sequence[Passage], top_k: int, max_per_doc: int) -> list[Passage]:
    """The top_k passages of a ranked pool, renumbered [1..n]: near-duplicates dropped, at most
    `max_per_doc` per document while other documents can fill the places."""
    kept: list[Passage] = []
    per_doc: dict[str, int] = {}
    seen_words: list[set[str]] = []
    skipped: list[Passage] = []
    for p in ranked:
        cw = set(content_words(p.chunk.text))
        if any(_jaccard(cw, other) >= NEAR_DUPLICATE_JACCARD for other in seen_words):
            continue
        if per_doc.get(p.doc.doc_id, 0) >= max_per_doc:
            skipped.append(p)
            continue
        kept.append(p)
        seen_words.append(cw)
        per_doc[p.doc.doc_id] = per_doc.get(p.doc.doc_id, 0) + 1
        if len(kept) >= top_k:
            break
    if len(kept) < top_k:
        # The cap keeps one document from crowding out the others. When the pool has too few
        # other documents to fill top_k (a library of one long guideline, a narrow filter), it
        # would only throw relevant passages away (the CDC opioid guideline's Recommendation 6
        # was the third-best passage of its own question): capped passages fill the places left.
        order = {id(p): i for i, p in enumerate(ranked)}
        for p in skipped:
            cw = set(content_words(p.chunk.text))
            if any(_jaccard(cw, other) >= NEAR_DUPLICATE_JACCARD for other in seen_words):
                continue
            kept.append(p)
            seen_words.append(cw)
            if len(kept) >= top_k:
                break
        kept.sort(key=lambda p: order[id(p)])
    return [replace(p, n=i) for i, p in enumerate(kept, 1)]


def _jaccard(a: set[str], b: set[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def embed_groups(embedder: Embedder, groups: dict[str, list[str]]) -> dict[str, np.ndarray]:
    """One embedding call for every group's texts, split back by group."""
    if not groups:
        return {}
    vecs = embedder.embed([t for texts in groups.values() for t in texts])
    ends = np.cumsum([len(texts) for texts in groups.values()])[:-1]
    return dict(zip(groups, np.split(vecs, ends), strict=True))
