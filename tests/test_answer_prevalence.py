"""Unit tests (fakes only) of how common something is: a share of people answers "How common
is X?", a figure counted in X's population answers for something else, and a property question
searches the property's own words too."""

from __future__ import annotations

from citeline.answerers import extractive, scoring
from citeline.properties import property_query
from citeline.question import analyse
from tests.test_answer_composition import EMB, _passages

REVIEW = (
    "review", "Review", "IBS and mental health", [
        "Irritable bowel syndrome (IBS) affects an estimated 5-10% of people worldwide.",
        "About 29% of people with IBS have depressive symptoms.",
    ],
)  # fmt: skip
OTHER = (
    "other", "Guideline", "IBS subtypes and sleep", [
        "Poor sleep is common in IBS, affecting more than a third of people with the condition.",
        "IBS with constipation: more than a quarter of bowel movements are hard.",
    ],
)  # fmt: skip


class _Cands(dict):
    def __getitem__(self, start: str) -> scoring.Candidate:
        return next(c for text, c in self.items() if text.startswith(start))


def _cands(question: str) -> _Cands:
    passages, vecs = _passages([OTHER, REVIEW])
    intent = analyse(question)
    qvec = EMB.embed([question])[0]
    cands = scoring.candidates(question, intent, passages, vecs, qvec, "clinician")
    return _Cands({c.text: c for c in cands})


def test_how_common_a_condition_is_is_a_share_of_people_with_it() -> None:
    cands = _cands("How common is IBS?")
    assert cands["Irritable bowel syn"].answers_property
    assert not cands["Poor sleep is common"].answers_property  # how common poor sleep is
    assert not cands["IBS with constipatio"].answers_property  # a share of bowel movements
    question = "How common is IBS?"
    intent = analyse(question)
    comp = extractive.compose(question, intent, list(cands.values()), floor=0.0, max_bullets=8)
    assert comp.verdict is not None and "5-10%" in comp.verdict.text


def test_a_figure_in_the_population_asked_about_answers() -> None:
    cands = _cands("How common are depressive symptoms in IBS?")
    assert cands["About 29% of people"].answers_property  # the question counts within IBS


def test_a_property_question_also_searches_the_property_words() -> None:
    query = property_query("prevalence", ("IBS",))
    assert query.startswith("IBS:") and "%" in query
    assert "mg" in property_query("dose", ("amitriptyline",))
