"""Retrieval on the bundled corpus: follow-ups and exact terms (real model, real Chroma)."""

from __future__ import annotations

import pytest

from citeline.config import Settings
from citeline.conversation import Turn, resolve
from citeline.pipeline import get_engine
from citeline.retrieve import search
from citeline.store import Filters

pytestmark = [pytest.mark.integration]
SEED = "Is there a link between gut health and mental health?"


def doc_ids(settings: Settings, query: str, **kw) -> list[str]:  # type: ignore[no-untyped-def]
    e = get_engine(settings)
    return [p.doc.doc_id for p in search(e.index, e.embedder, query, settings, **kw).passages]


def test_three_turn_conversation_retrieves_the_right_documents(corpus_settings: Settings) -> None:
    history: list[Turn] = []
    expectations = [
        (
            SEED,
            {
                "gut-brain-axis-overview",
                "ibs-psychological-comorbidity",
                "brain-gut-bidirectional-cohort",
                "ibs-anxiety-depression-prevalence",
            },
        ),
        (
            "and depression?",
            {
                "microbiome-depression-population-cohort",
                "ibs-anxiety-depression-prevalence",
                "depression-microbiota-transfer-mice",
                "depression-microbiota-transfer-rats",
                "stress-inflammation-microbiome-mood",
            },
        ),
        (
            "what about treatment?",
            {
                "nice-depression-ng222",
                "bsg-ibs-guideline-2021",
                "acg-ibs-guideline-2021",
                "brain-gut-behaviour-therapies-rome",
                "gut-brain-neuromodulators-rome",
            },
        ),
    ]
    for question, expected in expectations:
        query = resolve(question, history)
        got = doc_ids(corpus_settings, query)[:5]
        assert expected & set(got), (question, query, got)
        history += [Turn(role="user", content=question), Turn(role="assistant", content="...")]


@pytest.mark.parametrize(
    "term",
    [
        "rifaximin",
        "fidaxomicin",
        "linaclotide",
        "PHQ-9",
        "GAD-7",
        "HADS",
        "amitriptyline",
        "FODMAP",
    ],
)
def test_exact_terms_rank_a_passage_that_contains_them_first(
    corpus_settings: Settings, term: str
) -> None:
    e = get_engine(corpus_settings)
    first = search(e.index, e.embedder, term, corpus_settings).passages[0]
    assert term.lower() in first.chunk.text.lower(), (first.doc.doc_id, first.chunk.section)


def test_filters_restrict_every_passage(corpus_settings: Settings) -> None:
    f = Filters(types=("Patient information",))
    e = get_engine(corpus_settings)
    passages = search(
        e.index, e.embedder, "probiotics for gut symptoms", corpus_settings, filters=f
    ).passages
    assert passages and all(p.doc.type == "Patient information" for p in passages)
    f2 = Filters(year_min=2021)
    passages = search(e.index, e.embedder, "IBS treatment", corpus_settings, filters=f2).passages
    assert passages and all((p.doc.year or 0) >= 2021 for p in passages)


def test_no_document_crowds_out_the_rest(corpus_settings: Settings) -> None:
    ids = doc_ids(corpus_settings, "FMT guideline recommendations donor screening")
    assert max(ids.count(d) for d in ids) <= corpus_settings.max_per_doc


def test_best_sentences_ranks_candidates_by_their_best_sentence(corpus_settings: Settings) -> None:
    """The sentence ranking scores exactly the candidates given, by the maximum cosine over each
    chunk's stored sentence vectors (brute force over `get_chunks` agrees), best first."""
    import numpy as np

    e = get_engine(corpus_settings)
    q = e.embedder.embed(["Should fecal microbiota transplantation be used for depression?"])[0]
    candidates = [c for c, _ in e.index.dense_search(q, 30)]
    candidates += [c for c, _ in e.index.lexical_search("FMT depression", 30)]
    ranked = e.index.best_sentences([*candidates, "no-such-chunk"], q)
    chunks = e.index.get_chunks(candidates)
    assert [c for c, _ in ranked] == sorted(
        chunks, key=lambda c: (-float(np.max(chunks[c][1] @ q)), c)
    )
    for cid, sim in ranked:
        assert abs(sim - float(np.max(chunks[cid][1] @ q))) < 1e-5
    assert [s for _, s in ranked] == sorted((s for _, s in ranked), reverse=True)
    assert len(ranked) == len(set(candidates)) > 30
