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
