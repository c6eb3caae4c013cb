"""Unit tests (fakes only) of what kind of answer a question asks for: a yes/no question is
answered outright by a "Yes, ..." about its subject, and "What quantity should be prescribed?"
by what clinicians should do, not by a finding that shares its words."""

from __future__ import annotations

from collections.abc import Sequence

from citeline.answerers import extractive, scoring
from citeline.answerers.cues import ADVISES, ASKS_ADVICE, DIRECT
from citeline.question import analyse
from tests.test_answer_composition import EMB, _passages


def compose(
    question: str, docs: list, audience: str = "clinician", alarms: Sequence[str] = ()
) -> extractive.Composition:
    """The extractive answer to `question` from `docs` ((doc_id, type, title, sentences))."""
    passages, vecs = _passages(docs)
    intent = analyse(question)
    qvec = EMB.embed([question])[0]
    cands = scoring.candidates(question, intent, passages, vecs, qvec, audience)
    return extractive.compose(
        question, intent, cands, floor=0.0, max_bullets=8, audience=audience, alarms=alarms
    )


def _verdict(question: str, docs: list, audience: str = "clinician") -> str:
    comp = compose(question, docs, audience)
    assert comp.verdict is not None
    return comp.verdict.text


def _lead(pair: list[str], kind: str, question: str, audience: str = "clinician") -> float:
    """How far the second sentence of `pair` scores above the first as an answer."""
    passages, vecs = _passages([("doc", kind, "A source", pair)])
    intent = analyse(question)
    qvec = EMB.embed([question])[0]
    a, b = scoring.candidates(question, intent, passages, vecs, qvec, audience)
    return b.score - a.score


def test_a_yes_or_no_about_the_subject_answers_a_yes_no_question() -> None:
    docs = [
        ("leaflet", "Patient information", "Your gut and your mood", [
            "Emotions such as anxiety, sadness, fear and anger can affect the digestive system.",
            "Yes, your gut and your brain are closely connected, and it works both ways.",
        ]),
    ]  # fmt: skip
    assert _verdict("Can my gut affect my mood?", docs, "patient").startswith("Yes, your gut")
    assert DIRECT.match("No, probiotics are not a treatment for depression.")
    assert not DIRECT.match("Nobody knows how the gut talks to the brain.")


def test_a_yes_is_no_answer_to_a_question_that_is_not_yes_no() -> None:
    docs = [
        ("leaflet", "Patient information", "Your gut and your mood", [
            "Yes, your gut and your brain are closely connected, and it works both ways.",
            "The gut and the brain talk through the vagus nerve and through hormones.",
        ]),
    ]  # fmt: skip
    verdict = _verdict("How do the gut and the brain talk to each other?", docs, "patient")
    assert not verdict.startswith("Yes")


def test_what_is_to_be_done_is_answered_by_advice() -> None:
    for question in (
        "What quantity of opioids should be prescribed for acute pain?",
        "How should a blood glucose meter shared between patients be handled?",
        "Which devices must be sterilized before reuse?",
        "Can a syringe be reused for another patient if the needle is changed?",
    ):
        assert ASKS_ADVICE.search(question), question
    assert not ASKS_ADVICE.search("What quantity of opioids was prescribed in the trial?")
    assert ADVISES.search("Clinicians should prescribe no greater quantity than needed.")
    assert ADVISES.search("Critical items must be sterile prior to use.")
    assert ADVISES.search("Key recommendations for injections: Never reuse a syringe.")
    assert not ADVISES.search("Higher doses were associated with 4.73 times the risk.")
    docs = [
        ("guideline", "Guideline", "Opioids for acute pain", [
            "When opioids are prescribed for acute pain, similar associations have been found, "
            "with dosages of 50 to <100 MME/day associated with 4.73 times the risk.",
            "When opioids are needed for acute pain, clinicians should prescribe no greater "
            "quantity than needed.",
        ]),
    ]  # fmt: skip
    verdict = _verdict("What quantity of opioids should be prescribed for acute pain?", docs)
    assert "should prescribe" in verdict


def test_a_sentence_pointing_back_at_an_unseen_list_names_its_source() -> None:
    from citeline.answerers.cues import lead_in_for
    from citeline.types import DocMeta

    doc = DocMeta(
        doc_id="nhs", title="When to see a doctor about bowel symptoms", type="x", year=2024
    )
    lead, usable = lead_in_for(
        "Book a GP appointment if any of these symptoms has lasted 3 weeks or longer.", doc
    )
    assert usable and lead == "When to see a doctor about bowel symptoms (2024):"
    assert lead_in_for("Book a GP appointment if your symptoms last 3 weeks.", doc) == ("", True)


def test_relatives_and_ages_are_not_what_a_question_is_about() -> None:
    intent = analyse("My daughter is 7 and has had tummy pain for a month. What should we do?")
    assert "daughter" not in intent.subject and "7" not in intent.subject
    assert "tummy" in intent.subject


def test_how_long_answered_only_in_words_is_a_duration_not_given() -> None:
    from citeline.properties import gives_amount

    assert not gives_amount("duration", "The restriction stage is meant to be short.")
    assert gives_amount("duration", "SMILES was a 12-week randomised controlled trial.")
    assert gives_amount("duration", "Symptoms lasting a few weeks need review.")
    assert gives_amount("dose", "Start at 10 mg.")  # a kind without words for it
    docs = [
        ("review", "Review", "The low FODMAP diet in practice", [
            "The restriction stage of the low FODMAP diet is meant to be short.",
        ]),
    ]  # fmt: skip
    comp = compose("How long should the restriction stage of the low FODMAP diet last?", docs)
    assert comp.not_given  # said plainly, and what they do say is shown
    assert comp.verdict is not None and "short" in comp.verdict.text


def test_how_long_the_trial_lasted_is_not_another_studys_duration() -> None:
    docs = [
        ("smiles", "Research", "The SMILES trial: diet for depression", [
            "SMILES was a 12-week randomised controlled trial of diet in depression.",
        ]),
        ("preprint", "Research", "Diet, the gut microbiome and mood: a pilot study", [
            "A trial of diet in depression lasted at least 1 week.",
        ]),
    ]  # fmt: skip
    comp = compose("How long did the trial of diet in depression last?", docs)
    shown = " ".join(s.text for s in [comp.verdict, *comp.bullets] if s is not None)
    assert ("12-week" in shown) != ("1 week" in shown), shown  # one trial's duration, not two


def test_a_leaning_opening_before_a_colon_is_read_with_its_source_named() -> None:
    from citeline.answerers.cues import colon_claim, lead_in_for
    from citeline.types import DocMeta

    doc = DocMeta(doc_id="c", title="The brain-gut pathway: a 12-year population cohort", type="x")
    answer = (
        "The answer was both: the relationship between functional gut disorders and "
        "psychological distress is bidirectional."
    )
    assert colon_claim(answer)
    assert lead_in_for(answer, doc) == ("12-year population cohort:", True)
    assert lead_in_for("The answer was both.", doc) == ("", False)  # nothing of its own
    assert not colon_claim("This means: it works.")
    docs = [
        ("cohort", "Research", "The brain-gut pathway: a 12-year population cohort", [
            "Higher anxiety at baseline predicted a new gut disorder 12 years later.",
            answer,
        ]),
    ]  # fmt: skip
    question = "Is the relationship between functional gut disorders and distress bidirectional?"
    assert _verdict(question, docs) == answer  # it answers clearly better, its source named


def test_stress_and_stressed_share_a_stem() -> None:
    from citeline.text import stem

    assert stem("stress") == stem("stressed") == stem("stresses")
    assert stem("loss") == stem("losses") and stem("probiotics") == stem("probiotic")


def test_why_is_answered_by_a_cause() -> None:
    from citeline.answerers.cues import ASKS_WHY, EXPLAINS

    assert ASKS_WHY.search("Why does my tummy hurt when I'm stressed?")
    assert not ASKS_WHY.search("Does stress make IBS worse?")
    assert EXPLAINS.search("Stress can make the gut more sensitive, so gas feels painful.")
    pair = [
        "Tummy pain when stressed is a common example of the gut-brain link.",
        "Stress can make your tummy hurt because the brain signals the gut.",
    ]
    # the same words asked "why" favour the cause by the bonus ("how" shares every other word)
    why = _lead(pair, "Patient information", "Why does my tummy hurt when I'm stressed?", "patient")
    how = _lead(pair, "Patient information", "How does my tummy hurt when I'm stressed?", "patient")
    assert why - how >= scoring.WHY_BONUS - 1e-9


def test_what_a_trial_showed_is_answered_by_its_result() -> None:
    from citeline.answerers.cues import ASKS_FOUND

    assert ASKS_FOUND.search("Did the ATLANTIS trial show that amitriptyline helps IBS?")
    assert ASKS_FOUND.search("What brain imaging differences have been found in IBS?")
    assert not ASKS_FOUND.search("Does amitriptyline help IBS?")
    pair = [
        "Amitriptyline helps IBS through gut-brain neuromodulation in primary care.",
        "Amitriptyline was superior to placebo for IBS symptoms in primary care.",
    ]
    found = _lead(
        pair, "Research", "Did the trial show that amitriptyline helps IBS in primary care?"
    )
    plain = _lead(
        pair, "Research", "Did the trial say that amitriptyline helps IBS in primary care?"
    )
    assert found - plain >= 2 * scoring.RESULT_BONUS - 1e-9


def test_what_a_study_looked_at_and_what_imaging_cannot_do_are_not_findings() -> None:
    from citeline.answerers.cues import METHOD
    from citeline.sections import CAVEATS, section_for

    assert METHOD.search("The pilot study looked at how diet relates to the gut microbiome.")
    assert not METHOD.search("Diet change did not change gut microbiome diversity.")
    caveat = "Brain imaging findings are group-level averages and cannot diagnose IBS."
    assert section_for("", caveat) == CAVEATS


def test_a_schedule_belongs_to_the_word_before_it() -> None:
    intent = analyse("What hepatitis B vaccination schedule does the guide set for staff?")
    assert intent.kind == "regimen" and intent.main == "vaccin" and intent.main_explicit


def test_single_dose_names_a_kind_of_vial_but_low_dose_only_qualifies_a_drug() -> None:
    assert "single-dos" in analyse("Can single-dose vials be used for two patients?").subject
    assert analyse("Is low-dose amitriptyline safe?").main == "amitriptylin"


def test_what_is_done_to_the_subject_is_not_a_subject_of_its_own() -> None:
    assert analyse("Can opioids be combined with benzodiazepines?").subject == (
        "opioid",
        "benzodiazepin",
    )
    assert "steriliz" not in analyse("Which devices must be sterilized before reuse?").subject
    assert analyse("Can opioids be tapered?").subject == ("opioid",)


def test_a_list_item_that_answers_under_its_heading_shows_the_heading() -> None:
    from citeline.types import Chunk, DocMeta, Passage

    meta = DocMeta(doc_id="rome", title="Rome IV", type="Guideline", year=2016)
    items = (
        "Recurrent abdominal pain on average at least 1 day per week in the last 3 months.",
        "The pain is related to defecation or to a change in stool frequency or form.",
    )
    chunk = Chunk(id="c1", doc=meta, text=" ".join(items), section="Rome IV criteria for IBS",
                  sentences=items)  # fmt: skip
    passages = [Passage(n=1, chunk=chunk, score=1.0, dense=0.6)]
    question = "What are the Rome IV diagnostic criteria for IBS?"
    headed = scoring.headed_sentences(question, passages)
    assert headed["c1"][0].startswith("Rome IV criteria for IBS: Recurrent")
    vecs = {"c1": EMB.embed(list(items))}
    intent = analyse(question)
    cands = scoring.candidates(
        question, intent, passages, vecs, EMB.embed([question])[0], "clinician",
        headed_vectors={"c1": EMB.embed(headed["c1"])},
    )  # fmt: skip
    first = next(c for c in cands if c.text.startswith("Recurrent"))
    assert first.lead_in == "Rome IV criteria for IBS:" and first.self_contained
