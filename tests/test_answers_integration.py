"""Answers that answer, on the bundled corpus with the real model and a real Chroma: the verdict,
bullets sized by the question, properties the guidelines do not give, honest filters and
follow-ups that keep the subject."""

from __future__ import annotations

import re

import pytest

from citeline.config import Settings
from citeline.conversation import Turn
from citeline.pipeline import answer
from citeline.sections import ORDER
from citeline.store import Filters

pytestmark = [pytest.mark.integration, pytest.mark.slow]
SEED = "Is there a link between gut health and mental health?"


def _shown(ans) -> list[str]:  # type: ignore[no-untyped-def]
    return [c.text for c in ans.claims]


def test_seed_answer_has_a_yes_verdict_and_sections_in_the_clinical_order(
    corpus_settings: Settings,
) -> None:
    ans = answer(SEED, [], corpus_settings)
    assert ans.verdict is not None and ans.verdict.lead_in == "Yes."
    assert "gut" in ans.verdict.text.lower() and "link" in ans.verdict.text.lower()
    bullets = [c for s in ans.sections for c in s.claims]
    assert 2 <= len(bullets) <= corpus_settings.max_bullets
    heads = [s.heading for s in ans.sections]
    firsts = [next(h for h in ORDER if head.startswith(h) or head.startswith(h[4:].capitalize()))
              for head in heads]  # fmt: skip
    assert firsts == sorted(firsts, key=ORDER.index), heads
    for s in ans.sections[:-1]:
        assert len(s.claims) > 1 or s.heading == "Caveats and pitfalls", heads
    assert ans.follow_ups and all(q.endswith("?") for q in ans.follow_ups)
    assert SEED not in ans.follow_ups


def test_a_narrow_question_gets_a_narrow_answer(corpus_settings: Settings) -> None:
    ans = answer("What is the PHQ-2 cut-off?", [], corpus_settings)
    assert ans.verdict is not None and "3" in ans.verdict.text
    assert "PHQ-2" in ans.verdict.text
    assert len(ans.claims) <= 3


def test_a_dose_the_guidelines_do_not_give_is_said_plainly(corpus_settings: Settings) -> None:
    ans = answer("What dose of sertraline is used for IBS?", [], corpus_settings)
    assert not ans.refused and "not_given" in ans.flags
    assert ans.not_given.startswith("The indexed guidelines give no dose for sertraline")
    # never another drug's dose
    assert not any(re.search(r"\d\s*mg\b", t) for t in _shown(ans)), _shown(ans)


def test_a_subject_no_document_mentions_is_refused_by_name(corpus_settings: Settings) -> None:
    ans = answer("What dose of zolpidem is used for IBS?", [], corpus_settings)
    assert ans.refused and "zolpidem" in ans.refusal_reason
    assert not ans.claims


def test_filters_that_match_nothing_say_so(corpus_settings: Settings) -> None:
    ans = answer(SEED, [], corpus_settings, filters=Filters(year_min=2100))
    assert ans.refused and "no_matching_documents" in ans.flags
    assert ans.refusal_reason.startswith("No indexed document matches the filters (year: 2100")
    assert ans.filters == {"year": "2100–…"}
    assert "do not address" not in ans.refusal_reason


def test_a_follow_up_without_a_subject_keeps_the_conversation_subject(
    corpus_settings: Settings,
) -> None:
    first = "What dose of amitriptyline is used for IBS?"
    a1 = answer(first, [], corpus_settings)
    assert a1.verdict is not None and "10 mg" in a1.verdict.text
    history = [
        Turn(role="user", content=first),
        Turn(role="assistant", content=a1.verdict.text),
    ]
    a2 = answer("Is it safe in pregnancy?", history, corpus_settings)
    assert a2.standalone_query.startswith("Is amitriptyline safe in pregnancy")
    assert a2.standalone_query.endswith("?")
    assert a2.verdict is not None and "amitriptyline" in a2.verdict.text.lower()
    a3 = answer("Is FMT recommended for depression?", [*history, Turn(role="user", content="Is it safe in pregnancy?"), Turn(role="assistant", content="...")], corpus_settings)  # fmt: skip
    assert a3.standalone_query == "Is FMT recommended for depression?"
    assert a3.verdict is not None and a3.verdict.lead_in == "No."


def test_the_searches_that_widen_the_pool_keep_the_filters(corpus_settings: Settings) -> None:
    # a property question and reported alarm symptoms each search a second time
    for question in (
        "How common is IBS?",
        "I'm losing weight without trying and there is blood in my poo. Is it just IBS?",
    ):
        ans = answer(question, [], corpus_settings, filters=Filters(types=["Guideline"]))
        assert ans.references, question
        assert {r.type for r in ans.references} == {"Guideline"}, question


def test_someones_alarm_symptoms_are_answered_whatever_else_is_unknown(
    corpus_settings: Settings,
) -> None:
    # "dad", "70" and "waking" are in no guideline; the alarm symptoms are
    question = (
        "My dad is 70 and keeps waking at night to open his bowels, and he has lost weight "
        "without trying. Should he see someone?"
    )
    ans = answer(question, [], corpus_settings, audience="patient")
    assert not ans.refused, ans.refusal_reason
    assert ans.verdict is not None and "weight" in ans.verdict.text.lower()
    assert "urgent" in ans.verdict.text.lower()
    daughter = answer(
        "My daughter has had tummy pain and diarrhoea for a month and is losing weight. "
        "What should we do?",
        [],
        corpus_settings,
        audience="patient",
    )
    assert not daughter.refused, daughter.refusal_reason  # "daughter" is not the subject
    assert daughter.verdict is not None and "weight" in daughter.verdict.text.lower()


def test_a_follow_up_is_answered_about_the_conversations_subject(
    corpus_settings: Settings,
) -> None:
    # lifestyle advice for depression names "lifestyle" but not heartburn (nor GERD)
    history = [
        Turn(role="user", content="How should classic heartburn without alarm symptoms be managed first?"),
        Turn(role="assistant", content="The ACG recommends an 8-week trial of a once-daily PPI [1]."),
    ]  # fmt: skip
    ans = answer("Which lifestyle changes should I suggest?", history, corpus_settings)
    assert ans.verdict is not None
    cited = {ans.references[n - 1].doc_id for n in ans.verdict.citations}
    assert cited == {"gerd-acg-guideline-2022"}, ans.verdict.text


def test_what_a_study_did_does_not_lead_even_with_its_name(corpus_settings: Settings) -> None:
    # "The study by Kroenke and colleagues ... tested brief screening tools" names the source
    # and scores high; the screener it found to work is the answer
    ans = answer("Which screening tool should be used for anxiety in primary care?", [],
                 corpus_settings)  # fmt: skip
    assert ans.verdict is not None and not ans.verdict.text.startswith("The study")
    assert "GAD" in ans.verdict.text
