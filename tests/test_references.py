"""One reference per document (citeline.references), the link builders of citeline.render and
the library facets (citeline.facets), on hand-made passages: pure logic, no index."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest

from citeline import facets
from citeline.references import build_references, rests_on
from citeline.render import (
    esc,
    highlight,
    linked_cites,
    reference_line,
    safe_url,
    to_markdown,
)
from citeline.text import split_sentences
from citeline.types import Answer, Chunk, Claim, DocMeta, Passage, Section

COHORT = DocMeta(
    "cohort", "A 12-year cohort", "Gut (BMJ)", 2012, "Research", "https://doi.org/10.1136/x"
)
REVIEW = DocMeta("review", "A review", "Physiological Reviews (American Physiological Society)")


def passage(n: int, doc: DocMeta, text: str, section: str, page: int | None = None) -> Passage:
    chunk = Chunk(f"{doc.doc_id}-{n}", doc, text, section, page, n, tuple(split_sentences(text)))
    return Passage(n=n, chunk=chunk)


@pytest.fixture
def passages() -> list[Passage]:
    return [
        passage(1, REVIEW, "The gut and brain talk. Nerves carry signals both ways.", "Key points"),
        passage(
            2,
            COHORT,
            "Anxiety came first in some. Gut symptoms came first in others.",
            "Findings",
            3,
        ),
        passage(
            3,
            COHORT,
            "Screen for distress in people with gut symptoms.",
            "Clinical implications",
            5,
        ),
    ]


def test_build_references_gives_one_reference_per_document_in_order_of_citation(
    passages: list[Passage],
) -> None:
    claims = [
        Claim("Gut symptoms came first in others.", [2]),
        Claim("Nerves carry signals both ways.", [1]),
        Claim("Screen for distress in people with gut symptoms.", [3, 2]),
    ]
    refs = build_references(claims, passages)
    assert [(r.n, r.doc_id) for r in refs] == [(1, "cohort"), (2, "review")]
    assert [c.citations for c in claims] == [[1], [2], [1]], "renumbered to documents, deduplicated"
    cohort = refs[0]
    assert cohort.locations == ["Findings, p. 3", "Clinical implications, p. 5"]
    assert [p.chunk_id for p in cohort.passages] == ["cohort-2", "cohort-3"]
    assert cohort.passages[0].cited == ["Gut symptoms came first in others."]
    assert cohort.passages[1].cited == ["Screen for distress in people with gut symptoms."]
    # The one-passage fields summarise the passages, so readers of the old form keep working.
    assert cohort.section == "Findings; Clinical implications" and cohort.page == 3
    assert cohort.passage == passages[1].chunk.text + "\n\n" + passages[2].chunk.text
    assert claims[2].sources == {1: ["Screen for distress in people with gut symptoms."]}


def test_rests_on_finds_the_quoted_sentences_the_containing_one_or_the_closest(
    passages: list[Passage],
) -> None:
    p = passages[1]
    both = "Anxiety came first in some. Gut symptoms came first in others."
    assert rests_on(both, p) == [
        "Anxiety came first in some.",
        "Gut symptoms came first in others.",
    ]
    assert rests_on("Gut symptoms came first", p) == ["Gut symptoms came first in others."]
    assert rests_on("In others, the gut symptoms were first.", p) == [
        "Gut symptoms came first in others."
    ]
    assert rests_on("Unrelated words entirely.", p) == []


def test_linked_citations_point_at_their_reference_and_carry_the_sentence(
    passages: list[Passage],
) -> None:
    claim = Claim("Screen for distress in people with gut symptoms.", [3])
    refs = {r.n: r for r in build_references([claim], passages)}
    md = linked_cites(claim, refs, turn=4)
    m = re.fullmatch(r'\[\\\[1\\\]\]\(#ref-4-1 "(.*)"\)', md)
    assert m, md
    assert "Screen for distress" in m.group(1) and "Clinical implications, p\\. 5" in m.group(1)


def test_reference_line_links_the_doi_and_escapes_the_metadata(passages: list[Passage]) -> None:
    refs = build_references(
        [Claim("Screen for distress in people with gut symptoms.", [3])], passages
    )
    line = reference_line(refs[0])
    assert "[doi\\:10\\.1136/x](https://doi.org/10.1136/x)" in line
    assert esc("A 12-year cohort") in line and esc("Gut (BMJ)") in line


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://www.nice.org.uk/guidance/cg61", True),
        ("http://example.org/a?b=1;c=2", True),
        ("javascript:alert(1)", False),
        ("data:text/html,<script>", False),
        ("https://user:pw@evil.example/", False),
        ("//evil.example/x", False),
        ("https://ok.example/a b", False),
        ("", False),
    ],
)
def test_safe_url_accepts_only_plain_http_links(url: str, ok: bool) -> None:
    assert bool(safe_url(url)) == ok


def test_safe_url_encodes_what_would_end_a_markdown_link() -> None:
    out = safe_url('https://x.example/a)(b"<c>')
    assert not set(out) & set('()"<>'), out


def test_highlight_marks_sentences_across_line_breaks_and_escapes_the_rest() -> None:
    text = "First *one*.\nThe cited\nsentence [here]. Last."
    md = highlight(text, ["The cited sentence [here]."])
    assert "**The cited sentence \\[here\\]\\.**" in md
    assert "\\*one\\*" in md


def test_export_uses_reference_style_links_and_inert_text(passages: list[Passage]) -> None:
    claim = Claim("Screen <b>for</b> distress [x](https://evil.example).", [3])
    ans = Answer("q", "q", verdict=claim, disclaimer="Check it.", audience="clinician")
    ans.sections = [Section("Practice", [])]
    ans.references = build_references(ans.claims, passages)
    md = to_markdown(ans, link_prefix="q1-")
    assert "[[1]][q1-1]" in md
    assert '[q1-1]: https://doi.org/10.1136/x "A 12-year cohort"' in md
    assert "\\<b\\>" in md and "\\[x\\]" in md, "document text forms no tag or link"
    assert "https://evil" not in md, "nor an autolink"
    assert "### Professional disclaimer" in md
    plain = to_markdown(ans)
    assert "[1]" in plain and "[q1-1]" not in plain


@pytest.mark.parametrize(
    ("raw", "orgs"),
    [
        ("Gut (BMJ)", ["BMJ"]),
        ("British Society of Gastroenterology (Gut)", ["British Society of Gastroenterology"]),
        (
            "American Journal of Gastroenterology (American College of Gastroenterology)",
            ["American College of Gastroenterology"],
        ),
        (
            "National Institute for Health and Care Excellence (NICE)",
            ["National Institute for Health and Care Excellence"],
        ),
        (
            "Proceedings of the Nutrition Society (Cambridge University Press)",
            ["Cambridge University Press"],
        ),
        ("NHS (nhs.uk)", ["NHS"]),
        ("The Lancet", ["The Lancet"]),
        (
            "British Society of Gastroenterology and Healthcare Infection Society (Gut; J Hosp Infect)",
            ["British Society of Gastroenterology", "Healthcare Infection Society"],
        ),
    ],
)
def test_organisations_name_the_organisation_not_the_journal(raw: str, orgs: list[str]) -> None:
    assert facets.organisations(raw) == orgs


def test_publisher_options_merge_spellings_of_one_organisation() -> None:
    raws = [
        "American College of Gastroenterology (American Journal of Gastroenterology)",
        "American Journal of Gastroenterology (American College of Gastroenterology)",
        "american college of gastroenterology",
        "Gut (BMJ)",
    ]
    opts = facets.publisher_options(raws)
    assert list(opts) == ["American College of Gastroenterology", "BMJ"]
    assert len(opts["American College of Gastroenterology"]) == 3


def _record(doc_id: str, type_: str, year: int, publisher: str, sections: tuple[str, ...]):  # type: ignore[no-untyped-def]
    meta = DocMeta(doc_id, doc_id.title(), publisher, year, type_)
    return SimpleNamespace(meta=meta, n_chunks=3, sections=sections)


def test_library_summary_and_example_questions_come_from_the_records() -> None:
    recs = {
        "a": _record(
            "a", "Guideline", 2022, "NICE Agency (X)", ("Key points", "Second-line treatments")
        ),
        "b": _record("b", "Guideline", 2021, "NICE Agency", ("Caveats", "Psychological therapies")),
        "c": _record("c", "Research", 2001, "Some Society", ("Methods", "Sleep and mood")),
        "d": _record("d", "Review", 2010, "Other Society", ("Findings",)),
    }
    lib = facets.library(recs)
    assert (lib.documents, lib.passages, lib.year_min, lib.year_max) == (4, 12, 2001, 2022)
    assert lib.organisations[0] == "NICE Agency" and len(lib.organisations) == 3
    qs = facets.example_questions(recs)
    assert qs == [
        "What do the guidelines say about second-line treatments?",
        "What do the guidelines say about sleep and mood?",
    ], "one per organisation, vague headings skipped"
