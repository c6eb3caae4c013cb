from citeline.conversation import Turn, resolve

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
    assert q.startswith("probiotics")
    assert "gut" in q and "mental" in q


def test_resolve_chains_over_three_turns() -> None:
    q = resolve("what about treatment?", h(SEED, "and depression?"))
    assert q.split()[:2] == ["treatment", "depression"]
    assert "gut" in q


def test_resolve_leaves_a_full_new_question_alone() -> None:
    q = "What are the alarm symptoms that need urgent review in IBS?"
    assert resolve(q, h(SEED)) == q


def test_resolve_uses_the_condenser_when_given() -> None:
    assert (
        resolve("and that?", h(SEED), condense=lambda q, hist: "FMT for depression")
        == "FMT for depression"
    )
