"""Unit tests of two answer rules (fakes only): a sentence that names the subject in other words
("gut microbiota" for "gut microbiome", "rats" for "animals") is about it, and a study's finding
shown to a clinician comes with the study's size."""

from __future__ import annotations

from dataclasses import replace

from citeline.answerers import cues, extractive, scoring
from citeline.question import analyse, mentions, stems_of
from citeline.subject_terms import canon, forms
from tests.test_answer_composition import EMB, _passages


def _compose(question: str, docs: list, audience: str = "clinician") -> extractive.Composition:
    passages, vecs = _passages(docs)
    intent = analyse(question)
    qvec = EMB.embed([question])[0]
    cands = scoring.candidates(question, intent, passages, vecs, qvec, audience)
    return extractive.compose(question, intent, cands, floor=0.0, max_bullets=8, audience=audience)


def test_other_words_for_the_subject_name_it() -> None:
    intent = analyse("Is the gut microbiome different in people with depression?")
    same = "Depression was associated with lower gut microbiota richness than in controls."
    assert mentions(intent, stems_of(same)) == 1.0
    # derivations of one root: "depressed", "depressive" for "depression"
    assert canon("depression") == canon("depress") == canon("depressiv")
    assert canon("infection") == canon("infectiou") == canon("infect")
    # a narrower word names the broader one, never the reverse
    assert canon("animal") in forms(stems_of("The rats developed depression-like behaviour."))
    assert canon("rats") not in forms(stems_of("Animals developed depression-like behaviour."))
    assert canon("rats") not in forms(stems_of("Mice developed depression-like behaviour."))
    # different subjects stay apart
    assert canon("anxiety") != canon("depression")
    assert canon("gene") != canon("general")


TRIAL = (
    "trial", "Research", "Physical activity in IBS: a randomised trial", [
        "Increasing physical activity improved IBS symptoms more than usual care in the trial.",
        "The trial randomised 102 people with IBS to a physical activity group or a control group.",
        "Eligible people were recruited from at least 100 adults screened in clinics.",
    ],
)  # fmt: skip
GUIDE = (
    "guide", "Guideline", "IBS guideline", [
        "All patients with IBS should be advised to take regular exercise.",
    ],
)  # fmt: skip


def _texts(comp: extractive.Composition) -> list[str]:
    return [comp.verdict.text if comp.verdict else "", *(b.text for b in comp.bullets)]


def test_a_clinician_sees_how_many_people_a_finding_rests_on() -> None:
    texts = _texts(_compose("Does exercise improve IBS symptoms?", [GUIDE, TRIAL]))
    assert any("102 people" in t for t in texts)
    assert not any("at least 100" in t for t in texts)  # entry criteria are not a size


def test_no_study_size_for_a_patient_or_a_narrow_question() -> None:
    patient = _texts(_compose("Does exercise improve IBS symptoms?", [GUIDE, TRIAL], "patient"))
    assert not any("102 people" in t for t in patient)
    narrow = _texts(_compose("What dose of exercise improves IBS symptoms?", [GUIDE, TRIAL]))
    assert not any("102 people" in t for t in narrow)


def test_a_question_about_a_trial_is_answered_from_the_trial() -> None:
    guide = ("guide", "Guideline", "IBS in primary care", [
        "All people with IBS symptoms in primary care should have a full blood count.",
    ])  # fmt: skip
    trial = ("trial", "Research", "Amitriptyline for IBS in primary care: the ATLANTIS trial", [
        "Low-dose amitriptyline was superior to placebo for IBS symptoms in primary care.",
    ])  # fmt: skip
    comp = _compose("What did the big primary care trial show?", [guide, trial])
    assert comp.verdict is not None and "superior to placebo" in comp.verdict.text
    # without a kind of source asked about, the guideline is the stronger source
    comp = _compose("What happens in IBS in primary care?", [guide, trial])
    assert comp.verdict is not None and "blood count" in comp.verdict.text


def test_a_hyphenated_length_is_a_duration() -> None:
    intent = analyse("How long did the trial last?")
    assert intent.answers_property("SMILES was a 12-week randomised controlled trial.")
    assert intent.answers_property("The trial ran for 12 weeks.")


def test_a_patient_asking_whether_to_see_someone_is_answered_by_advice() -> None:
    asks = "I noticed blood in my poo this morning. Do I need to see someone urgently?"
    assert cues.ASKS_ADVICE.search(asks)
    assert cues.ASKS_ADVICE.search("When should I see a doctor about my bowel habits?")
    assert not cues.ASKS_ADVICE.search("How do I get it on the NHS?")  # a route, not advice
    assert cues.ADVISES.search("Black or dark red poo needs an urgent GP appointment.")
    assert cues.ADVISES.search("Book a GP appointment if any of these has lasted 3 weeks.")
    assert not cues.ADVISES.search("Blood in the poo, which can appear red or black.")
    # what the patient noticed and when are not the subject
    assert not {"notic", "morn", "see", "urgently"} & set(analyse(asks).subject)


def test_a_question_about_pitfalls_is_answered_by_caveats() -> None:
    review = ("review", "Review", "Anxiety in IBS", [
        "About 39% of people with IBS have anxiety symptoms.",
        "Treating anxiety and IBS separately should be avoided because it misses the link.",
        "Repeated tests in IBS should not delay treatment of anxiety.",
    ])  # fmt: skip
    comp = _compose("What are common pitfalls when managing IBS with anxiety?", [review])
    texts = _texts(comp)
    assert "39%" not in " ".join(texts) and len(texts) == 2
    assert "pitfall" not in analyse("What are common pitfalls in IBS?").subject


def test_a_conversion_factor_is_a_factor_not_any_number() -> None:
    intent = analyse("What is the MME conversion factor for buprenorphine?")
    assert intent.kind == "factor" and intent.main == "buprenorphin"
    assert analyse("How is transdermal fentanyl converted to MME?").kind == "factor"
    assert intent.answers_property("Opioid doses in MME: Tapentadol, conversion factor 0.4.")
    assert intent.answers_property("Multiply the dose by the conversion factor 1.5.")
    # a threshold near the drug's name is not its factor: the property is not given for it
    assert not intent.answers_property("Buprenorphine was offered at doses of >=90 MME/day.")


def test_a_comparison_is_answered_about_what_is_asked_not_what_it_is_compared_with() -> None:
    guide = ("guide", "Guideline", "IBS guideline", [
        "Tricyclic antidepressants are effective second-line drugs for abdominal pain in IBS.",
    ])  # fmt: skip
    review = ("review", "Review", "Gut-brain neuromodulators", [
        "SSRIs such as sertraline have less effect on gut pain in IBS than tricyclics.",
    ])  # fmt: skip
    comp = _compose("Does sertraline help IBS pain as much as a tricyclic?", [guide, review])
    assert comp.verdict is not None and "sertraline" in comp.verdict.text
    # "low-dose" says how much of the drug, the drug is the subject
    assert analyse("Did low-dose amitriptyline improve their mood?").main == "amitriptylin"


def test_everyday_phrases_name_what_the_sources_call_it() -> None:
    down = analyse("Is it normal to feel down because of my IBS?")
    assert down.main == "mood" and "down" not in down.subject
    life = analyse("Do I have to stay on the low FODMAP diet for the rest of my life?")
    assert "lifelong" in life.subject and not {"stay", "rest", "life"} & set(life.subject)


def test_what_to_eat_is_about_diet_and_its_bullets_stay_on_diet() -> None:
    assert analyse("What should I eat if I have IBS?").main == "diet"
    assert canon("dietary") == canon("diet")
    guide = ("guide", "Guideline", "IBS guideline", [
        "In IBS, a low FODMAP diet is a second-line diet.",
        "In IBS, dietary advice covers regular meals.",
        "In IBS, rifaximin is recommended for diarrhoea.",
    ])  # fmt: skip
    question = "What should I eat if I have IBS?"
    passages, vecs = _passages([guide])
    qvec = EMB.embed([question])[0]
    texts = {}
    for topic in (True, False):
        intent = replace(analyse(question), main_is_topic=topic)
        cands = scoring.candidates(question, intent, passages, vecs, qvec, "clinician")
        comp = extractive.compose(question, intent, cands, floor=0.0, max_bullets=8)
        texts[topic] = " ".join(_texts(comp))
    assert "rifaximin" not in texts[True] and "regular meals" in texts[True]
    assert "rifaximin" in texts[False]  # a main word that is no topic of the library: no filter


def test_how_a_review_searched_is_its_method_not_a_finding() -> None:
    assert cues.METHOD.search("The search screened 14,926 records, and 73 studies were included.")
    assert not cues.METHOD.search("Screening for anxiety is suggested in people with IBS.")


def test_a_follow_up_names_the_subject_as_a_term() -> None:
    from citeline.assemble import subject_text

    q = "Is cognitive behavioural therapy recommended for IBS?"
    assert subject_text(analyse(q), q) == "cognitive behavioural therapy and IBS"
    q = "Does stress make IBS worse?"
    assert subject_text(analyse(q), q) == "stress and IBS"
    q = "Should patients with IBS be screened for anxiety?"
    assert "screened" not in subject_text(analyse(q), q)


def test_yes_only_when_the_quoted_sentence_says_it_of_what_was_asked() -> None:
    intent = analyse("Will probiotics help my bloating?")
    general = "Probiotics help the gut's bacteria recover after antibiotics."
    assert extractive._stance("Will probiotics help my bloating?", intent, general) == ""
    named = "Probiotics help bloating in people with IBS."
    assert extractive._stance("Will probiotics help my bloating?", intent, named) == "Yes."
