"""Unit tests of the answer steps' logic: question analysis, sentence scoring, the verdict,
bullet sizing, lead-ins, not-given properties and the section order (fakes only; the real
model and index are in test_pipeline_integration.py and the eval suites)."""

from __future__ import annotations

import numpy as np

from citeline.answerers import answering, extractive, scoring
from citeline.question import analyse, stems_of
from citeline.sections import CAVEATS, EVIDENCE, MECHANISMS, TREATMENT, arrange, section_for
from citeline.text import stem
from citeline.types import Chunk, DocMeta, Passage
from tests.fakes import HashEmbedder

EMB = HashEmbedder()


def _passages(docs: list[tuple[str, str, str, list[str]]]) -> tuple[list[Passage], dict]:
    """(doc_id, type, title, sentences) -> numbered passages and their sentence vectors."""
    out, vecs = [], {}
    for n, (doc_id, kind, title, sentences) in enumerate(docs, start=1):
        meta = DocMeta(doc_id=doc_id, title=title, type=kind, year=2020)
        chunk = Chunk(
            id=f"c{n}", doc=meta, text=" ".join(sentences), section="Key points",
            sentences=tuple(sentences),
        )  # fmt: skip
        out.append(Passage(n=n, chunk=chunk, score=1.0 / n, dense=0.6))
        vecs[chunk.id] = EMB.embed(sentences)
    return out, vecs


def _compose(question: str, docs: list, audience: str = "clinician") -> extractive.Composition:
    passages, vecs = _passages(docs)
    intent = analyse(question)
    qvec = EMB.embed([question])[0]
    cands = scoring.candidates(question, intent, passages, vecs, qvec, audience)
    return extractive.compose(question, intent, cands, floor=0.0, max_bullets=8)


def test_question_kinds_and_subjects() -> None:
    assert analyse("What dose of amitriptyline is used for IBS?").kind == "dose"
    assert analyse("How often should hand hygiene be performed?").kind == "frequency"
    assert analyse("How long should the strict phase last?").kind == "duration"
    assert analyse("What is the PHQ-2 cut-off?").kind == "cutoff"
    assert analyse("Is FMT recommended for depression?").kind == "yesno"
    assert analyse("What is irritable bowel syndrome?").kind == "definition"
    # "the risks of X" asks what can go wrong with X; "the risk of Y" in a yes/no is an outcome
    risks = analyse("What are the main risks of faecal microbiota transplantation?")
    assert risks.kind == "safety" and risks.main == stem("faecal")
    assert analyse("Does smoking increase the risk of Crohn's disease?").kind == "yesno"
    # "low-dose amitriptyline" names a drug; "which GAD-7 score" asks for a cut-off
    assert analyse("Did low-dose amitriptyline improve their mood?").kind == "yesno"
    assert analyse("Which GAD-7 score should prompt further assessment?").kind == "cutoff"
    # how many took part is a count, how many have it a prevalence
    assert analyse("How many people with IBS were studied in the trial?").kind == "quantity"
    assert analyse("How many people have IBS?").kind == "prevalence"
    assert "found" not in analyse("What differences have been found in IBS?").subject
    assert analyse("How long does it take?").answers_property("It takes a few minutes.")
    # "at least one individual" is a number of people, "at least annually" a frequency
    often = analyse("How often should staff be trained?")
    assert not often.answers_property("At least one individual with training is employed.")
    assert often.answers_property("Policies are re-assessed at least annually.")
    # "how fast" asks a pace: "10% per month or slower" gives one, "agree a plan" does not
    fast = analyse("And how fast should the taper be?")
    assert fast.kind == "rate" and fast.main == stem("taper")
    assert fast.answers_property("Tapers of about 10% per month or slower are better tolerated.")
    assert not fast.answers_property("Clinicians should agree a tapering plan with the patient.")
    intent = analyse("What dose of amitriptyline is used for IBS in pregnancy?")
    assert intent.main == stem("amitriptyline") and "ibs" in intent.subject
    assert intent.population == ("pregnancy",)  # a scope word, never the subject
    assert analyse("Is there a link between gut health and mental health?").phrases == (
        "gut health",
        "mental health",
    )


def test_a_risk_question_is_answered_by_what_can_go_wrong() -> None:
    passages, vecs = _passages([
        ("a", "Guideline", "Faecal microbiota transplant", [
            "Faecal microbiota transplant (FMT) moves screened donor stool into a patient's gut.",
            "A stool transplant can pass on infections from the donor to the recipient.",
        ]),
    ])  # fmt: skip
    q = "What are the risks of faecal microbiota transplant?"
    intent = analyse(q)
    comp = extractive.compose(
        q, intent, scoring.candidates(q, intent, passages, vecs, EMB.embed([q])[0], "clinician"),
        floor=0.0, max_bullets=8,
    )  # fmt: skip
    assert comp.verdict is not None and "pass on infections" in comp.verdict.text
    assert not comp.not_given


def test_a_dose_of_another_drug_is_never_the_answer() -> None:
    comp = _compose(
        "What dose of sertraline is used for IBS?",
        [
            ("g", "Guideline", "IBS guideline", [
                "Amitriptyline should start at 10 mg once daily for IBS symptoms.",
                "SSRIs such as sertraline are more useful when anxiety is prominent in IBS.",
            ]),
        ],
    )  # fmt: skip
    assert comp.not_given
    shown = [comp.verdict.text] if comp.verdict else []
    shown += [b.text for b in comp.bullets]
    assert shown and all("10 mg" not in s for s in shown)
    assert any("sertraline" in s for s in shown)


def test_the_dose_asked_for_is_the_verdict() -> None:
    comp = _compose(
        "What dose of amitriptyline is used for IBS?",
        [
            ("r", "Research", "Amitriptyline trial", [
                "Amitriptyline improved global IBS symptoms compared with placebo in the trial.",
                "Amitriptyline was started at 10 mg once daily and titrated to 30 mg for IBS.",
            ]),
        ],
    )  # fmt: skip
    assert not comp.not_given and comp.verdict is not None
    assert "10 mg" in comp.verdict.text
    assert len(comp.bullets) <= extractive.NARROW_BULLETS


def test_the_strongest_source_gives_the_verdict_and_claims_shared_cite_both() -> None:
    same = "Probiotics are not recommended for the treatment of depression in adults."
    comp = _compose(
        "Are probiotics recommended for depression?",
        [
            ("p", "Patient information", "Probiotics leaflet", [same]),
            ("g", "Guideline", "Depression guideline", [same]),
        ],
    )
    assert comp.verdict is not None
    assert comp.verdict.citations == [2, 1]  # the guideline first, the leaflet as a second source
    assert comp.verdict.lead_in == "No."  # the quoted sentence states it, apart from the quote


def test_sentences_that_lean_on_unseen_context_get_a_lead_in_or_are_dropped() -> None:
    comp = _compose(
        "How common is anxiety in irritable bowel syndrome?",
        [
            ("m", "Review", "Anxiety in irritable bowel syndrome: a meta-analysis", [
                "Anxiety symptoms are common in irritable bowel syndrome, affecting 39% of people.",
                "The meta-analysis found that anxiety in irritable bowel syndrome was 3 times as common.",
                "This was higher than in healthy people with irritable bowel syndrome symptoms.",
            ]),
        ],
    )  # fmt: skip
    shown = [comp.verdict, *comp.bullets]
    texts = [s.text for s in shown if s]
    assert not any(t.startswith("This ") for t in texts)
    dependent = [s for s in shown if s and s.text.startswith("The meta-analysis")]
    for s in dependent:
        assert s.lead_in.startswith("Anxiety in irritable bowel syndrome")
        assert s.lead_in.endswith("(2020):")
    assert comp.verdict is not None and comp.verdict.lead_in == ""


def test_a_bullet_must_be_about_the_subject() -> None:
    comp = _compose(
        "Does CBT help IBS?",
        [
            ("a", "Guideline", "Therapies", [
                "CBT is recommended for global IBS symptoms.",
                "The weather in spring is often changeable and mild.",
            ]),
        ],
    )  # fmt: skip
    assert comp.verdict is not None and "CBT" in comp.verdict.text
    assert all("weather" not in b.text for b in comp.bullets)


def test_sections_follow_the_sentence_not_its_source_heading() -> None:
    assert section_for("Gut-brain axis", "CBT is an effective therapy for IBS.") == TREATMENT
    assert section_for("", "FMT is not recommended for depression.") == CAVEATS
    assert section_for("", "The vagus nerve carries signals both ways.") == MECHANISMS
    assert section_for("", "Anxiety affected 39% of people with IBS.") == EVIDENCE


def test_one_bullet_sections_merge_unless_caveats() -> None:
    got = arrange({EVIDENCE: ["a", "b"], MECHANISMS: ["c"], CAVEATS: ["d"]})
    assert got == [("The evidence and mechanisms", ["a", "b", "c"]), (CAVEATS, ["d"])]
    assert arrange({TREATMENT: ["x"]}) == [(TREATMENT, ["x"])]


def test_stems_of_matches_plural_and_case() -> None:
    assert "probiotic" in stems_of("Probiotics")
    assert np.isfinite(EMB.embed(["x"])).all()


def test_acronyms_and_their_expansions_name_the_same_subject() -> None:
    from citeline.question import acronym_stems

    ibd = analyse("How common is anxiety in inflammatory bowel disease?")
    assert stems_of("inflammatory bowel disease") <= acronym_stems(
        ibd, "About 32% of adults with IBD"
    )
    ibs = analyse("Does CBT help IBS?")
    assert "ibs" in acronym_stems(ibs, "CBT helps irritable bowel syndrome symptoms")
    assert not acronym_stems(ibs, "CBT helps inflammatory bowel disease")


def test_a_safety_question_for_a_special_population_needs_that_population() -> None:
    comp = _compose(
        "Is amitriptyline safe in pregnancy?",
        [
            ("g", "Guideline", "IBS guideline", [
                "Amitriptyline is generally well tolerated, and side effects such as a dry mouth are mild.",
                "Amitriptyline should start at 10 mg once daily for IBS symptoms.",
            ]),
        ],
    )  # fmt: skip
    assert comp.not_given  # adults' tolerability does not answer "in pregnancy"
    shown = [b.text for b in comp.bullets] + ([comp.verdict.text] if comp.verdict else [])
    assert all("well tolerated" not in s for s in shown), shown


def test_a_question_that_names_a_source_prefers_it() -> None:
    from citeline.sources import named_sources, source_tokens

    docs = {
        "nice": ("NICE CG61: managing IBS", "National Institute for Health and Care Excellence (NICE)"),
        "bsg": ("BSG 2021 guidelines on IBS", "British Society of Gastroenterology (Gut)"),
        "ibs1": ("IBS and sleep: a meta-analysis", "Saudi Journal of Gastroenterology"),
    }  # fmt: skip
    names: dict[str, set[str]] = {}
    for doc_id, (title, publisher) in docs.items():
        for tok in source_tokens(title, publisher):
            names.setdefault(tok, set()).add(doc_id)
    frozen = {k: frozenset(v) for k, v in names.items()}
    assert named_sources("How long should a probiotic be tried according to NICE?", frozen, 3) == {
        "nice"
    }
    assert named_sources("What does the BSG advise?", frozen, 3) == {"bsg"}
    # a subject in a title ("IBS ...: a meta-analysis") is not a source's name
    assert named_sources("Is poor sleep common in IBS?", frozen, 3) == frozenset()


def test_a_definition_prefers_the_sentence_that_opens_with_what_it_defines() -> None:
    q = "What are brain-gut behaviour therapies?"
    passages, vecs = _passages([
        ("r", "Review", "Gut-brain therapies", [
            "Imaging offers a rationale for treatments such as brain-gut behaviour therapies.",
            "Brain-gut behaviour therapies are psychological treatments for gut-brain disorders.",
        ]),
    ])  # fmt: skip
    intent = analyse(q)
    assert intent.kind == "definition"
    cands = scoring.candidates(q, intent, passages, vecs, EMB.embed([q])[0], "clinician")
    lift = {c.text.split()[0]: c.score - c.similarity for c in cands}
    # same subject words, same source: the one that defines it is lifted above the other
    assert lift["Brain-gut"] - lift["Imaging"] >= scoring.SUBJECT_FIRST_BONUS - 1e-9


def test_what_a_source_did_is_not_the_verdict_when_its_finding_answers() -> None:
    comp = _compose(
        "Did the ATLANTIS trial show that amitriptyline helps IBS?",
        [
            ("t", "Research", "Amitriptyline for IBS: the ATLANTIS trial", [
                "ATLANTIS tested low-dose amitriptyline as a second-line treatment for IBS.",
                "Low-dose amitriptyline was superior to placebo for global IBS symptoms at 6 months.",
            ]),
        ],
    )  # fmt: skip
    assert comp.verdict and "superior to placebo" in comp.verdict.text


def test_an_overview_gets_bullets_from_several_sections() -> None:
    intent = analyse("Is there a link between gut health and mental health?")
    assert intent.broad and not analyse("How should the meter be cleaned?").broad


def test_the_property_belongs_to_the_drug_named_with_it() -> None:
    assert analyse("What is the prucalopride dose for chronic constipation?").main == stem(
        "prucalopride"
    )
    vitamin = analyse("What daily dose of vitamin D improves depression?")
    assert vitamin.main == "vitamin" and vitamin.main_explicit
    assert analyse("What is the MME conversion factor for oxycodone?").main == stem("oxycodone")
    comp = _compose(
        "What daily dose of vitamin D improves depression?",
        [
            ("g", "Guideline", "Depression guideline", [
                "Amitriptyline for depression should start at 10 mg once daily.",
                "Vitamin D levels were lower in some people with depression.",
            ]),
        ],
    )  # fmt: skip
    assert comp.not_given  # the amitriptyline dose is never the vitamin D answer
    shown = [b.text for b in comp.bullets] + ([comp.verdict.text] if comp.verdict else [])
    assert all("10 mg" not in t for t in shown), shown


def test_a_regimen_named_by_its_variant_is_not_answered_by_the_standard_one() -> None:
    comp = _compose(
        "How long does the extended-pulsed fidaxomicin regimen last?",
        [
            ("g", "Guideline", "C. difficile guideline", [
                "The standard regimen is oral fidaxomicin 200 mg twice daily for 10 days.",
                "An extended-pulsed fidaxomicin regimen is an option for recurrences.",
            ]),
        ],
    )  # fmt: skip
    assert comp.not_given
    shown = [b.text for b in comp.bullets] + ([comp.verdict.text] if comp.verdict else [])
    assert all("10 days" not in t for t in shown), shown


def test_pointers_and_title_lines_are_not_claims() -> None:
    passages, vecs = _passages([
        ("c", "Guideline", "Leukemia", [
            "See the following PDQ summaries for more information about leukemia: Adult Treatment.",
            "Management of Multidrug-Resistant Organisms In Healthcare Settings, 2006",
            "Leukemia Treatment of Adults, http://example.org/pdq/ leuk1.htm Guideline for Blood "
            "Cancers in Adults 1998 http://example.org/pdf/leuk98.pdf",
            "Adult acute myeloid leukemia is a cancer of the blood and bone marrow.",
            "Adult acute myeloid leukemia is treated in two phases (https://example.org/aml).",
            "Leukemia drills ease fatigue in adults, see www.example.org/b or example.org/c.",
        ]),
    ])  # fmt: skip
    q = "What is adult acute myeloid leukemia?"
    cands = scoring.candidates(q, analyse(q), passages, vecs, EMB.embed([q])[0], "clinician")
    # a run of reference entries with links and no verb is not a claim; a claim with a link is
    assert [c.text.split()[-1] for c in cands] == [
        "marrow.",
        "(https://example.org/aml).",
        "example.org/c.",  # prose carrying links, with no verb of the short list, says something
    ]


def test_the_verdict_is_about_the_subject_asked_when_a_passage_is() -> None:
    comp = _compose(
        "Is adenosine deaminase deficiency inherited?",
        [
            ("aat", "Patient information", "Alpha-1 antitrypsin deficiency", [
                "AAT deficiency is an inherited condition.",
            ]),
            ("ada", "Patient information", "Adenosine deaminase deficiency", [
                "This condition is passed on in an autosomal recessive pattern of inheritance.",
                "Adenosine deaminase deficiency is passed down in an autosomal recessive pattern.",
            ]),
        ],
    )  # fmt: skip
    assert comp.verdict and comp.verdict.text.startswith("Adenosine deaminase deficiency")


def test_the_last_question_of_a_story_says_what_is_asked() -> None:
    from citeline.question import asked_sentence

    q = "My tummy has been bloated for a month. When should I see my GP?"
    assert asked_sentence(q) == "When should I see my GP?"
    intent = analyse(q)
    assert intent.kind == "timing" and intent.main != stem("month")  # a time, not the owner
    assert "tummy" in intent.subject  # the story still says what about
    # "C. difficile" does not end a sentence
    assert analyse("What oral vancomycin dose is used for C. difficile infection?").kind == "dose"


def test_a_question_asking_what_to_do_is_answered_by_advice_about_it() -> None:
    comp = _compose(
        "Should I try a low FODMAP diet for my IBS?",
        [
            ("fodmap", "Guideline", "Low FODMAP diet in IBS", [
                "A meta-analysis reported that the low FODMAP diet was better than other diets for IBS.",
                "The low FODMAP diet is a second-line dietary treatment for IBS, with a dietitian.",
            ]),
        ],
    )  # fmt: skip
    assert comp.verdict is not None and "second-line" in comp.verdict.text


def test_the_passage_naming_the_whole_subject_survives_the_passage_cut() -> None:
    passages, vecs = _passages([
        ("p1", "Patient information", "Probiotics", ["Try a probiotic for a month for IBS."]),
        ("p2", "Patient information", "Probiotics", ["Keep a note while trying a probiotic."]),
        ("m", "Research", "Depression", [
            "No probiotic has been shown to treat depression, and antidepressants remain the option.",
        ]),
    ])  # fmt: skip
    q = "Should I stop my antidepressant and take probiotics instead?"
    intent = analyse(q)
    cands = scoring.candidates(q, intent, passages, vecs, EMB.embed([q])[0], "patient")
    chosen = [p for p in passages[:2]]  # what the cut kept: two passages naming probiotics only
    kept = answering.keep_best_named(chosen, passages, cands)
    assert [p.chunk.id for p in kept] == ["c1", "c3"] and kept[-1].n == 2
    assert answering.keep_best_named(passages, passages, cands) == passages  # already there
    # naming part of the subject is not enough: "not related to a genetic condition" is not
    # about "the genetic changes related to alkaptonuria"
    passages, vecs = _passages([
        ("a", "Patient information", "Alkaptonuria", ["Alkaptonuria darkens cartilage and skin."]),
        ("s", "Patient information", "Tumours", ["Most are not related to a genetic condition."]),
    ])  # fmt: skip
    q = "What are the genetic changes related to alkaptonuria?"
    cands = scoring.candidates(q, analyse(q), passages, vecs, EMB.embed([q])[0], "patient")
    assert answering.keep_best_named(passages[:1], passages, cands) == passages[:1]


def test_a_list_item_under_a_heading_naming_the_question_is_read_with_it() -> None:
    passages, vecs = _passages([
        ("rome", "Guideline", "Rome IV", [
            "Recurrent abdominal pain on average at least 1 day per week in the last 3 months.",
            "Rome IV requires pain.",
        ]),
        ("other", "Review", "Bowel disorders", ["Rome IV names five bowel disorders."]),
    ])  # fmt: skip
    passages[0].chunk = Chunk(
        id="c1", doc=passages[0].chunk.doc, text=passages[0].chunk.text,
        section="IBS > Rome IV criteria for IBS", sentences=passages[0].chunk.sentences,
    )  # fmt: skip
    q = "What are the Rome IV diagnostic criteria for IBS?"
    headed = scoring.headed_sentences(q, passages)
    assert list(headed) == ["c1"]  # the other passage's heading names nothing asked
    assert headed["c1"][0].startswith("Rome IV criteria for IBS: Recurrent abdominal pain")
    intent, qvec = analyse(q), EMB.embed([q])[0]
    plain = scoring.candidates(q, intent, passages, vecs, qvec, "clinician")
    hv = {cid: EMB.embed(texts) for cid, texts in headed.items()}
    read = scoring.candidates(q, intent, passages, vecs, qvec, "clinician", headed_vectors=hv)
    sim = {c.text: c.similarity for c in plain}
    for c in read:
        assert c.similarity >= sim[c.text]  # the heading only ever adds what it names
    first = next(c for c in read if c.text.startswith("Recurrent"))
    assert first.similarity > sim[first.text]


def test_an_addition_to_an_unseen_sentence_is_not_the_verdict() -> None:
    comp = _compose(
        "Did the trial show that amitriptyline helps IBS?",
        [
            ("t", "Research", "Amitriptyline for IBS: a trial", [
                "Amitriptyline also met the key secondary outcome of relief of IBS symptoms.",
                "Amitriptyline was superior to placebo for IBS symptoms at 6 months.",
            ]),
        ],
    )  # fmt: skip
    assert comp.verdict is not None and "superior to placebo" in comp.verdict.text
    from citeline.answerers.cues import CONCLUDES

    assert not CONCLUDES.match(
        "Age-related macular degeneration, also known as AMD, is an eye disease."
    )
