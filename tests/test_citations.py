import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from citeline.citations import DraftSentence, enforce, make_support_fn, parse_draft, support
from citeline.text import numbers, split_sentences
from tests.fakes import HashEmbedder

PASSAGES = {
    1: "Among people with IBS, 39% report anxiety symptoms and 29% report depressive symptoms.",
    2: "FMT is not recommended for depression outside research settings.",
    3: "Cognitive behavioural therapy and gut-directed hypnotherapy improve IBS symptoms.",
}


EMB = HashEmbedder()
SENT_VECS = {n: EMB.embed(split_sentences(t)) for n, t in PASSAGES.items()}


def fn(*claims: str):  # the real scorer over fake (bag-of-words) vectors
    return make_support_fn(
        PASSAGES, SENT_VECS, dict(zip(claims, EMB.embed(list(claims)), strict=True))
    )


@pytest.mark.parametrize(
    ("draft", "expected_text", "expected_cites"),
    [
        (
            "FMT is not recommended for depression outside research settings. [2]",
            "FMT is not recommended for depression outside research settings.",
            [2],
        ),
        (
            "FMT is not recommended for depression outside research settings [2].",
            "FMT is not recommended for depression outside research settings.",
            [2],
        ),
        (
            "Hypnotherapy and cognitive behavioural therapy improve IBS symptoms [1][3].",
            "Hypnotherapy and cognitive behavioural therapy improve IBS symptoms.",
            [1, 3],
        ),
        (
            "In IBS 39% report anxiety symptoms [1, 2].",
            "In IBS 39% report anxiety symptoms.",
            [1, 2],
        ),
    ],
)
def test_parse_draft_attaches_markers(
    draft: str, expected_text: str, expected_cites: list[int]
) -> None:
    (sent,) = parse_draft(draft)
    assert sent.text == expected_text
    assert sent.citations == expected_cites


@pytest.mark.parametrize(
    ("sentence", "cites", "kept_cites", "reason"),
    [
        # correct citation kept
        (
            "Among people with IBS, 39% report anxiety symptoms and 29% report depressive symptoms.",
            [1],
            [1],
            None,
        ),
        # wrong citation re-attributed to the passage that supports it
        ("FMT is not recommended for depression outside research settings.", [1], [2], None),
        # uncited but supported: attributed
        ("Gut-directed hypnotherapy improves IBS symptoms.", [], [3], None),
        # a number the passage does not state: dropped
        (
            "Among people with IBS, 45% report anxiety symptoms.",
            [1],
            None,
            "cited passage does not support it",
        ),
        # citation to a passage that was not retrieved, nothing supports it: dropped
        ("Probiotics cure depression.", [7], None, "cites a passage that was not retrieved"),
        ("The moon is made of cheese.", [], None, "no citation"),
    ],
)
def test_enforce_table(
    sentence: str, cites: list[int], kept_cites: list[int] | None, reason: str | None
) -> None:
    claims, removed = enforce(
        [DraftSentence(sentence, cites)], [1, 2, 3], fn(sentence), threshold=0.55
    )
    if kept_cites is None:
        assert claims == []
        assert [r.reason for r in removed] == [reason]
    else:
        assert [c.citations for c in claims] == [kept_cites]
        assert removed == []


def test_support_is_zero_when_a_number_is_missing() -> None:
    assert support("39% report anxiety and 50% depression", None, PASSAGES[1], None) == 0.0


def test_support_uses_the_best_sentence_vector() -> None:
    vecs = np.eye(3, dtype=np.float32)
    claim_vec = np.array([0, 1, 0], dtype=np.float32)
    s = support("unrelated words entirely", claim_vec, "Alpha. Beta. Gamma.", vecs)
    assert s == pytest.approx(0.5)


def test_enforce_drops_duplicates() -> None:
    s = DraftSentence(PASSAGES[2], [2])
    claims, _ = enforce([s, s], [1, 2, 3], fn(), 0.55)
    assert len(claims) == 1


words = st.sampled_from(
    [
        "IBS",
        "anxiety",
        "39%",
        "29%",
        "FMT",
        "depression",
        "research",
        "the",
        "hypnotherapy",
        "12%",
        "moon",
        "improve",
        "symptoms",
        "not",
        "recommended",
    ]
)
sentence = st.lists(words, min_size=1, max_size=12).map(lambda ws: " ".join(ws) + ".")
draft_sentence = st.builds(DraftSentence, sentence, st.lists(st.integers(0, 6), max_size=3))


@given(st.lists(draft_sentence, max_size=8))
def test_enforce_properties(draft: list[DraftSentence]) -> None:
    support_fn = fn(*{d.text for d in draft})
    claims, removed = enforce(draft, [1, 2, 3], support_fn, threshold=0.55)
    for c in claims:
        assert c.citations, "every claim has a citation"
        assert set(c.citations) <= {1, 2, 3}, "every citation names a retrieved passage"
        for n in c.citations:
            assert numbers(c.text) <= numbers(PASSAGES[n]), "numbers appear in the cited passage"
            assert support_fn(c.text, n) >= 0.55
    assert len(claims) + len(removed) <= len(draft)


def test_support_of_a_claim_without_content_words_is_zero() -> None:
    """A tiny LLM answered "No." — a substring of "not" in every passage, never a quotation."""
    vecs = SENT_VECS[2]
    assert support("No.", None, PASSAGES[2], vecs) == 0.0
    assert support("It is.", None, PASSAGES[2], vecs) == 0.0


def test_a_quotation_must_match_whole_words() -> None:
    vecs = SENT_VECS[2]
    assert support("Not recommended for depression.", None, PASSAGES[2], vecs) == 1.0
    # "ended for depression" sits inside "recommended for depression" but is not a quotation.
    assert support("Ended for depression.", None, PASSAGES[2], vecs) < 1.0
