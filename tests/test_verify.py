"""The verifier (citeline/verify.py) with the real embedding model: each kind of corruption is
caught, faithful paraphrases and quotations stay supported, labels reach enforcement and JSON."""

from __future__ import annotations

import pytest

from citeline.citations import DraftSentence, enforce, make_support_fn
from citeline.text import split_sentences
from citeline.types import Answer, Claim, Section
from citeline.verify import CONTRADICTED, NOT_FOUND, SUPPORTED, Verdict, abbreviations, verify

GERD = "Weight loss is recommended for patients with GERD who are overweight or obese."
ODDS = (
    "People with IBS had roughly threefold higher odds of anxiety symptoms than healthy "
    "comparison groups."
)
TCA = "Tricyclic antidepressants are preferred over SSRIs for abdominal pain in IBS."
FMT = (
    "Faecal microbiota transplantation (FMT) is recommended for recurrent Clostridioides "
    "difficile infection in adults. FMT is not recommended for depression outside research "
    "settings."
)
PROBIOTIC = "Probiotics may improve global IBS symptoms in some patients."
DOSE = "Start amitriptyline at 10 mg once a day for people aged 18 to 65 years."
ROUTINE = "Routine colonoscopy is not recommended in people under 45 with IBS symptoms."


@pytest.fixture(scope="module")
def judge(embedder):  # type: ignore[no-untyped-def]
    def run(claim: str, passage: str) -> Verdict:
        sents = split_sentences(passage)
        vecs = embedder.embed(sents)
        (cvec,) = embedder.embed([claim])
        return verify(claim, cvec, passage, vecs, sents)

    return run


@pytest.mark.parametrize(
    ("passage", "claim", "label", "check"),
    [
        # the three measurements of the issue
        (GERD, GERD.replace("is recommended", "is not recommended"), CONTRADICTED, "negation"),
        (ODDS, ODDS.replace("threefold", "sixfold"), CONTRADICTED, "number"),
        (
            TCA,
            "SSRIs are preferred over tricyclic antidepressants for abdominal pain in IBS.",
            CONTRADICTED,
            "comparison",
        ),
        # negation removed, recommendation grade, direction
        (FMT, "FMT is recommended for depression outside research settings.", CONTRADICTED, None),
        (GERD, GERD.replace("recommended", "suggested"), CONTRADICTED, "recommendation"),
        (ODDS, ODDS.replace("higher", "lower"), CONTRADICTED, "direction"),
        # quantities in words and ranges
        (ODDS, ODDS.replace("threefold", "twofold"), CONTRADICTED, "number"),
        (DOSE, DOSE.replace("18 to 65", "18 to 75"), CONTRADICTED, "number"),
        (DOSE, DOSE.replace("10 mg", "20 mg"), CONTRADICTED, "number"),
        # scope, population, hedge, entity
        (PROBIOTIC, PROBIOTIC.replace("some", "all"), NOT_FOUND, "scope"),
        (ROUTINE, ROUTINE.replace("Routine colonoscopy", "Colonoscopy"), NOT_FOUND, "scope"),
        (FMT, FMT.split(". ")[0].replace("adults", "children") + ".", NOT_FOUND, "population"),
        (
            PROBIOTIC,
            "Probiotics will improve global IBS symptoms in some patients.",
            NOT_FOUND,
            None,
        ),
        (TCA, TCA.replace("SSRIs", "SNRIs"), NOT_FOUND, "entity"),
        (GERD, GERD.replace("GERD", "asthma"), NOT_FOUND, "entity"),
        (ODDS, ODDS.replace("anxiety", "dementia"), NOT_FOUND, "entity"),
    ],
)
def test_corruptions_are_not_supported(judge, passage, claim, label, check) -> None:  # type: ignore[no-untyped-def]
    v = judge(claim, passage)
    assert v.label == label, v
    if check:
        assert v.detail.startswith(check), v


@pytest.mark.parametrize(
    ("passage", "claim"),
    [
        (GERD, "Weight loss is advised for people with GERD who are overweight or obese."),
        (GERD, "For patients with GERD who are overweight or obese, weight loss is recommended."),
        (TCA, "Tricyclic antidepressants are preferred over SSRIs for abdominal pain."),
        (FMT, "FMT is recommended for recurrent Clostridioides difficile infection in adults."),
        (
            FMT,
            "Faecal microbiota transplantation is not recommended for depression outside "
            "research settings.",
        ),
        (ODDS, "People with IBS had about three times higher odds of anxiety symptoms."),
        (PROBIOTIC, "In some patients, probiotics may improve global IBS symptoms."),
    ],
)
def test_faithful_paraphrases_stay_supported(judge, passage, claim) -> None:  # type: ignore[no-untyped-def]
    v = judge(claim, passage)
    assert v.label == SUPPORTED and v.score >= 0.55, v


def test_a_quotation_is_supported_and_names_its_sentence(judge) -> None:  # type: ignore[no-untyped-def]
    v = judge("FMT is not recommended for depression outside research settings.", FMT)
    assert (v.label, v.score, v.sentence, v.detail) == (SUPPORTED, 1.0, 1, "quote")


def test_a_quotation_that_drops_its_negator_or_qualifier_is_not_a_quotation(judge) -> None:  # type: ignore[no-untyped-def]
    assert judge("Recommended for depression outside research settings.", FMT).label != SUPPORTED
    assert judge("colonoscopy is not recommended in people under 45.", ROUTINE).label != SUPPORTED


def test_the_supporting_sentence_index_is_the_aligned_one(judge) -> None:  # type: ignore[no-untyped-def]
    v = judge("FMT is advised for recurrent Clostridioides difficile infection in adults.", FMT)
    assert v.label == SUPPORTED and v.sentence == 0


def test_abbreviations_defined_in_the_passage_match_both_ways() -> None:
    ab = abbreviations(FMT)
    assert "fmt" in ab and "microbiota" in ab


def test_enforce_labels_claims_and_removed_claims(embedder) -> None:  # type: ignore[no-untyped-def]
    passages = {1: GERD, 2: TCA}
    sents = {n: split_sentences(t) for n, t in passages.items()}
    svecs = {n: embedder.embed(s) for n, s in sents.items()}
    draft = [
        DraftSentence("Weight loss is advised for people with GERD who are overweight.", [1]),
        DraftSentence(GERD.replace("is recommended", "is not recommended"), [1]),
        DraftSentence(TCA.replace("SSRIs", "SNRIs"), [2]),
    ]
    texts = [d.text for d in draft]
    fn = make_support_fn(
        passages, svecs, dict(zip(texts, embedder.embed(texts), strict=True)), sents
    )
    claims, removed = enforce(draft, [1, 2], fn, 0.55)
    assert [(c.text, c.support_label, c.sentence) for c in claims] == [(texts[0], SUPPORTED, 0)]
    assert [(r.label, r.reason) for r in removed] == [
        (CONTRADICTED, "cited passage does not support it"),
        (NOT_FOUND, "cited passage does not support it"),
    ]
    assert removed[0].detail == "negation" and removed[0].sentence == 0


def test_answer_json_carries_the_label_and_sentence() -> None:
    claim = Claim("x", [1], 0.9, support_label=SUPPORTED, sentences={1: 2})
    d = Answer("q", "q", verdict=claim, sections=[Section("h", [claim])]).to_dict()
    assert d["verdict_support_label"] == SUPPORTED and d["verdict_sentence"] == 2
    assert d["sections"][0]["claims"][0] == {
        "text": "x",
        "citations": [1],
        "support": 0.9,
        "support_label": SUPPORTED,
        "sentence": 2,
        "lead_in": "",
    }


EFFECTIVE = "Peppermint oil is effective and safe for global symptoms in adults with IBS."
TIMING = "Take mebeverine before meals, and offer soluble fibre as a first-line treatment."


@pytest.mark.parametrize(
    ("passage", "claim"),
    [
        (EFFECTIVE, EFFECTIVE.replace("effective and safe", "ineffective and safe")),
        (EFFECTIVE, EFFECTIVE.replace("effective and safe", "effective and unsafe")),
        (EFFECTIVE, EFFECTIVE.replace("effective and safe", "effective and harmful")),
        (EFFECTIVE, EFFECTIVE.replace("effective and safe", "useless")),
        (TIMING, TIMING.replace("before meals", "after meals")),
        (TIMING, TIMING.replace("first-line", "last-resort")),
        (TIMING, TIMING.replace("offer", "withhold")),
        (PROBIOTIC, PROBIOTIC.replace("improve", "aggravate")),
    ],
)
def test_a_word_replaced_by_its_opposite_is_contradicted(judge, passage, claim) -> None:  # type: ignore[no-untyped-def]
    v = judge(claim, passage)
    assert v.label == CONTRADICTED and v.detail == "opposite", v


TAPER = "Opioid doses should be tapered gradually, and patients reassessed within two weeks."


@pytest.mark.parametrize(
    "claim",
    [
        TAPER.replace("gradually", "abruptly"),
        TAPER.replace("two weeks", "two months"),
        TAPER.replace("reassessed", "discharged"),
    ],
)
def test_a_word_replaced_by_one_that_is_no_synonym_is_not_supported(judge, claim) -> None:  # type: ignore[no-untyped-def]
    v = judge(claim, TAPER)
    assert v.label == NOT_FOUND and v.detail.startswith("substituted word"), v


def test_a_word_replaced_by_a_synonym_stays_supported(judge) -> None:  # type: ignore[no-untyped-def]
    claim = "Doses of opioids should be tapered gradually, and people reassessed within two weeks."
    v = judge(claim, TAPER)
    assert v.label == SUPPORTED, v
