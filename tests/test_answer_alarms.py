"""Unit tests (fakes only) of seeking care: a question that reports an alarm symptom
is answered first by what the sources say to do about that symptom."""

from __future__ import annotations

from citeline.answerers import extractive, scoring
from citeline.question import analyse
from citeline.safety import alarm_advice, alarm_query, screen
from tests.test_answer_composition import EMB, _passages
from tests.test_answer_cues import compose

ASKS = "I'm losing weight without trying and there is blood in my poo. Is this just my IBS?"
GUIDE = (
    "guide", "Guideline", "IBS in primary care", [
        "Tests such as colonoscopy are not needed to confirm IBS in people who meet the criteria.",
        "IBS should be considered when a person has had abdominal pain for at least 6 months.",
    ],
)  # fmt: skip
LEAFLET = (
    "leaflet", "Patient information", "When to get help with bowel symptoms", [
        "Weight loss that you have not tried for.",
        "Unexplained loss of a lot of weight needs an urgent GP appointment or a call to NHS 111.",
        "Diarrhoea with blood in it needs an urgent GP appointment.",
    ],
)  # fmt: skip


def test_a_sentence_gives_advice_on_an_alarm_only_when_it_says_what_to_do() -> None:
    flags = screen(ASKS).red_flags
    assert flags == ["blood in the stool", "unintended weight loss"]
    assert alarm_advice(LEAFLET[3][1], flags) == 1  # names the weight loss, says "urgent"
    assert alarm_advice("Bleeding from the bottom or blood in poo: see a GP urgently.", flags) == 1
    assert alarm_advice(LEAFLET[3][0], flags) == 0  # names it, says nothing to do
    assert alarm_advice("Refer people with IBS to a dietitian.", flags) == 0  # no alarm named
    assert alarm_advice(LEAFLET[3][1], []) == 0
    assert "weight loss" in alarm_query(flags)


def _texts(question: str, alarms: list[str]) -> list[str]:
    passages, vecs = _passages([GUIDE, LEAFLET])
    intent = analyse(question)
    qvec = EMB.embed([question])[0]
    cands = scoring.candidates(question, intent, passages, vecs, qvec, "patient")
    comp = extractive.compose(
        question, intent, cands, floor=0.0, max_bullets=8, audience="patient", alarms=alarms
    )
    assert comp.verdict is not None
    return [comp.verdict.text, *(b.text for b in comp.bullets)]


def test_alarm_symptoms_are_answered_by_what_to_do_about_them() -> None:
    texts = _texts(ASKS, screen(ASKS).red_flags)
    assert "urgent" in texts[0]
    assert any("blood" in t for t in texts[1:3]) or "blood" in texts[0]
    # without alarms the same pool is answered as before: about confirming IBS
    assert "urgent" not in _texts("Is it IBS?", [])[0]


def test_when_to_see_a_doctor_is_answered_by_when_to_see_one() -> None:
    guide = ("guide", "Guideline", "IBS in primary care", [
        "IBS should be considered when a person has had a change in bowel habit for 6 months.",
    ])  # fmt: skip
    leaflet = ("leaflet", "Patient information", "Bowel symptoms", [
        "A change in bowel habit that has lasted 3 weeks or longer needs a GP appointment.",
    ])  # fmt: skip
    question = "When should I see a doctor about changes in my bowel habits?"
    for audience in ("patient", "clinician"):
        passages, vecs = _passages([guide, leaflet])
        intent = analyse(question)
        qvec = EMB.embed([question])[0]
        cands = scoring.candidates(question, intent, passages, vecs, qvec, audience)
        comp = extractive.compose(question, intent, cands, floor=0.0, max_bullets=8)
        assert comp.verdict is not None and "3 weeks" in comp.verdict.text, audience


def test_only_symptoms_someone_has_lead_the_answer() -> None:
    assert screen("What causes anemia?").alarms == []  # flagged, but asked about in general
    assert screen("What causes anemia?").red_flags == ["anaemia"]
    assert screen("My patient has anaemia and weight loss without trying.").alarms


def test_weight_someone_is_losing_is_an_alarm_but_weight_lost_on_a_diet_is_not() -> None:
    assert screen("My daughter is losing weight and has diarrhoea.").alarms
    assert screen("He has lost a lot of weight. Should he see someone?").alarms
    assert not screen("I have been losing weight on the low FODMAP diet. Is that normal?").alarms
    assert not screen("I am trying to lose weight. Is a keto diet OK with IBS?").alarms


def test_for_a_patient_the_leaflet_leads_when_it_names_as_many_alarms() -> None:
    docs = [
        ("nice", "Guideline", "IBS in primary care", [
            "Clinicians should refer people with unexplained weight loss to secondary care.",
        ]),
        ("nhs", "Patient information", "Living with IBS", [
            "Unexplained loss of a lot of weight needs an urgent GP appointment.",
        ]),
    ]  # fmt: skip
    question = "My daughter is losing weight. What should we do?"
    alarms = screen(question).alarms
    comp = compose(question, docs, "patient", alarms)
    assert comp.verdict is not None and comp.verdict.text.startswith("Unexplained loss")
    comp = compose(question, docs, "clinician", alarms)
    assert comp.verdict is not None
