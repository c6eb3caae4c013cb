from citeline.text import content_words, numbers, split_sentences


def test_split_sentences_keeps_abbreviations_and_decimals() -> None:
    text = (
        "FMT is indicated for recurrent C. difficile infection. Risk rose 1.5 times, e.g. in "
        "older adults (Smith et al. 2020). A third sentence!"
    )
    assert split_sentences(text) == [
        "FMT is indicated for recurrent C. difficile infection.",
        "Risk rose 1.5 times, e.g. in older adults (Smith et al. 2020).",
        "A third sentence!",
    ]


def test_split_sentences_treats_bullets_as_sentences() -> None:
    text = "- first point without stop\n- second point.\n\nParagraph one. Paragraph two."
    assert split_sentences(text) == [
        "first point without stop",
        "second point.",
        "Paragraph one.",
        "Paragraph two.",
    ]


def test_numbers_are_canonical() -> None:
    assert numbers("39% had anxiety, 250,000 people, 1.5 mg") == {"39%", "250000", "1.5"}
    assert numbers("39 % of") == {"39%"}


def test_content_words_drop_stopwords_and_stem() -> None:
    assert content_words("What about the probiotics?") == ["probiotic"]


def test_plain_drops_markup_scripts_and_search_operators_only() -> None:
    from citeline.scope import plain_text as _plain
    from citeline.store import query_terms

    assert _plain("<script>alert('x')</script> What is IBS?") == "What is IBS?"
    assert _plain('"IBS" OR * NEAR(') == "IBS"
    assert _plain("<img src=x onerror=alert(1)> Do probiotics help?") == "Do probiotics help?"
    # Lower-case words are words, not operators: "not" keeps its meaning.
    assert _plain("is it not near the gut?") == "is it not near the gut?"
    assert _plain("![x](http://198.51.100.7/t.png) Do probiotics help?") == "x Do probiotics help?"
    assert query_terms("Is FMT not recommended for depression?") == [
        "fmt",
        "recommended",
        "depression",
    ]


def test_coverage_rule_needs_a_large_share_or_a_large_loss() -> None:
    from citeline.scope import Coverage

    few = Coverage(["lost", "weight", "bowel", "habits", "i've"], ["i've"], 0.80)
    many = Coverage(["antibiotic", "community-acquired", "pneumonia"], ["pneumonia"], 0.80)
    assert not few.out_of_scope(0.85, 0.7)  # one filler word in five
    assert many.out_of_scope(0.85, 0.7)  # a third of the words carry the topic
    assert not many.out_of_scope(0.75, 0.7)
    assert few.out_of_scope(0.85, 0.81)  # the hard floor ignores the share
    assert not Coverage(["ibs"], [], 1.0).out_of_scope(0.85, 0.7)


def test_coverage_rule_refuses_an_unknown_word_with_weak_retrieval() -> None:
    from citeline.scope import Coverage

    # "insulin" asked of an opioid guideline library: one unknown word in four, best passage 0.36
    insulin = Coverage(["insulin", "dose", "type", "diabetes"], ["insulin"], 0.90)
    assert not insulin.out_of_scope(0.85, 0.7)  # neither the share nor the loss is large
    assert insulin.out_of_scope(0.85, 0.7, relevance=0.36, term_floor=0.45)
    assert not insulin.out_of_scope(0.85, 0.7, relevance=0.55, term_floor=0.45)
    known = Coverage(["opioid", "dose"], [], 1.0)  # no unknown word: the relevance floor decides
    assert not known.out_of_scope(0.85, 0.7, relevance=0.36, term_floor=0.45)


def test_reflexive_pronouns_are_not_content_words() -> None:
    from citeline.store import query_terms

    assert query_terms("What can I do myself to feel better?") == ["feel", "better"]
