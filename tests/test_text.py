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
