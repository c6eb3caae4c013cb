from citeline.conversation import Turn, resolve
from citeline.question import stems_of

SEED = "Is there a link between gut health and mental health?"


def h(*qs: str) -> list[Turn]:
    out: list[Turn] = []
    for q in qs:
        out += [Turn(role="user", content=q), Turn(role="assistant", content="...")]
    return out


def test_resolve_without_history_is_the_question() -> None:
    assert resolve(SEED, []) == SEED


def test_resolve_carries_topic_into_short_follow_up() -> None:
    q = resolve("what about probiotics?", h(SEED))
    # the new subject leads, the conversation's subject is its frame, and it reads as a question
    assert q == "what about probiotics (gut health and mental health)?"


def test_resolve_chains_over_three_turns() -> None:
    q = resolve("what about treatment?", h(SEED, "and depression?"))
    assert q == "what about treatment (depression, gut health and mental health)?"


def test_a_turn_without_a_subject_inherits_the_main_entity() -> None:
    entities = stems_of("Amitriptyline for IBS; the low FODMAP diet")
    first = "What dose of amitriptyline is used for IBS?"
    assert resolve("Is it safe in pregnancy?", h(first), entities=entities) == (
        "Is amitriptyline safe in pregnancy (IBS)?"
    )
    q = resolve(
        "How long should the strict phase last?",
        h("What is the low FODMAP diet?"),
        entities=entities,
    )
    assert q == "How long should the strict phase last (low FODMAP diet)?"


def test_a_new_subject_drops_the_old_one() -> None:
    entities = stems_of("Amitriptyline for IBS; FMT in depression")
    chain = h("What dose of amitriptyline is used for IBS?", "Is it safe in pregnancy?")
    q = "Is FMT recommended for depression?"
    assert resolve(q, chain, entities=entities) == q
    # and the next subjectless turn follows the new subject, not words from two turns back
    got = resolve("Is it safe?", [*chain, *h(q)], entities=entities)
    assert got == "Is FMT safe (depression)?"


def test_the_assistant_answer_gives_the_subject_when_the_user_named_none() -> None:
    hist: list[Turn] = [
        Turn(role="user", content="What helps?"),
        Turn(role="assistant", content="Peppermint oil is recommended for global IBS symptoms."),
    ]
    assert (
        resolve("Is it safe?", hist, entities=stems_of("Peppermint")) == "Is peppermint oil safe?"
    )


def test_resolve_leaves_a_full_new_question_alone() -> None:
    q = "What are the alarm symptoms that need urgent review in IBS?"
    assert resolve(q, h(SEED)) == q


def test_resolve_uses_the_condenser_when_given() -> None:
    assert (
        resolve("and that?", h(SEED), condense=lambda q, hist: "FMT for depression")
        == "FMT for depression"
    )


def test_a_pronoun_or_a_definite_reference_keeps_the_subject() -> None:
    hist = h("Does low-dose amitriptyline help IBS in primary care?")
    assert resolve("Did it improve their mood?", hist).startswith("Did low-dose amitriptyline")
    assert "amitriptyline" in resolve("What did the big primary care trial show?", hist)


def test_a_turn_naming_no_title_word_narrows_the_subject() -> None:
    hist = h("How should classic heartburn be managed first?")
    titles = stems_of("ACG 2022 guideline on gastroesophageal reflux disease and heartburn")
    q = "Which lifestyle changes should I suggest?"
    assert "heartburn" in resolve(q, hist, titles=titles)
    assert resolve("How common is anxiety in heartburn?", hist, titles=titles).endswith(
        "heartburn?"
    )


def test_the_instance_an_answer_names_is_what_it_stands_for() -> None:
    # "Which screener?" answered "The GAD-2, ...": "it" is the GAD-2, not "two-item screener"
    entities = stems_of("GAD-2 anxiety screener; HADS Hospital Anxiety and Depression Scale")
    turns = [
        Turn(role="user", content="Which two-item screener can I use for anxiety in clinic?"),
        Turn(role="assistant", content="The GAD-2, made up of the first two items of the GAD-7."),
    ]
    q = resolve("How well does it perform?", turns, entities=entities)
    assert q.startswith("How well does GAD-2 perform")
    turns = [
        Turn(role="user", content="Which mood questionnaire avoids physical symptoms?"),
        Turn(role="assistant", content="The HADS deliberately leaves out physical symptoms."),
    ]
    q = resolve("How long does it take to fill in?", turns, entities=entities)
    assert q.startswith("How long does HADS take")  # the name, not the words after it
    # "Is there a drug that blocks it?" answered "Blocking CRF1 receptors ...": "it" is CRF1
    entities = stems_of("CRF, stress and gut function; CRF1 receptor antagonists")
    turns = [
        Turn(role="user", content="How does stress affect the gut?"),
        Turn(role="assistant", content="CRF signalling coordinates the stress response [1]."),
        Turn(role="user", content="Is there a drug that blocks it?"),
        Turn(role="assistant", content="Blocking CRF1 receptors dampened the stress response."),
    ]
    q = resolve("Is it used to treat IBS?", turns, entities=entities)
    assert q.startswith("Is CRF1 used to treat IBS"), q
    # a yes/no question's answer does not replace the subject
    turns = [
        Turn(role="user", content="Is the GAD-2 useful for anxiety?"),
        Turn(role="assistant", content="The HADS is another option."),
    ]
    assert "HADS" not in resolve("How well does it perform?", turns, entities=entities)


def test_a_pronoun_turn_keeps_its_referent_first() -> None:
    # "Does it depend on disease activity?": "it" is still anxiety in IBD; the next "it" too
    entities = stems_of("Anxiety and depression in inflammatory bowel disease; disease activity")
    turns = [
        Turn(role="user", content="How common is anxiety in inflammatory bowel disease?"),
        Turn(role="assistant", content="About 32% of adults with IBD have anxiety symptoms."),
        Turn(role="user", content="Does it depend on disease activity?"),
        Turn(role="assistant", content="Symptoms are more common when IBD is active."),
    ]
    q = resolve("Does it differ between women and men?", turns, entities=entities)
    assert q.startswith("Does anxiety differ between women and men")


def test_a_property_answer_does_not_replace_the_subject() -> None:
    # "What dose of amitriptyline ...?" answered "10 mg once daily ...": "it" stays amitriptyline
    entities = stems_of("Amitriptyline for IBS")
    turns = [
        Turn(role="user", content="What dose of amitriptyline is used for IBS?"),
        Turn(role="assistant", content="Low-dose amitriptyline starts at 10 mg once daily."),
    ]
    q = resolve("Is it safe in pregnancy?", turns, entities=entities)
    assert q.startswith("Is amitriptyline safe in pregnancy")


def test_what_a_subject_does_is_not_a_new_subject() -> None:
    # "respond" in "And if the symptoms respond?" is what the symptoms do, not what the
    # conversation turns to: the next turn still asks about heartburn
    entities = stems_of("Heartburn and GERD; lifestyle management")
    chain = h("How should heartburn be managed first?", "And if the symptoms respond?")
    titles = stems_of("Heartburn and GERD guideline")  # "lifestyle" names no title: it narrows
    q = resolve("Which lifestyle changes should I suggest?", chain, None, entities, titles)
    assert q == "Which lifestyle changes should I suggest (heartburn)?"
    # "what about X?" still names X, whatever the library calls it
    q = resolve(
        "What about acupuncture?", h("How should heartburn be managed first?"), entities=entities
    )
    assert q.startswith("What about acupuncture (")
