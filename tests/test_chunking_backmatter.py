"""Reference lists and other back matter never become chunks; PDF pages are split where an
outline heading is printed and a sentence broken by a page break stays whole."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.backmatter import (
    in_reference_section,
    is_citation_entry,
    is_reference_heading,
    strip_citations,
)
from ingest.chunking import chunk_blocks
from ingest.loaders import Block, ParsedDocument, load
from ingest.pdf import _join_continuations, _segments
from tests.conftest import shared_data

PROSE = (
    "Clinicians should offer naloxone when prescribing opioids.\n"
    "Tapers of approximately 10% per month or slower are likely to be better\n"
    "tolerated than more rapid tapers (12)."
)
# Vancouver-style entries as pypdf extracts them from a two-column MMWR page: wrapped lines,
# digits and first letters split by stray spaces, books and web pages without a PMID.
VANCOUVER = """References
 1. Schapper t SM, Burt CW. Ambulatory care visits to physician offices,
hospital outpatient departments, and emergency departments: United
States, 2001-02. Vital Health Stat 13 2006;(159):1-66. PMID:16471269
 2 . I nstitute of Medicine. Relieving pain in America: a blueprint for
transforming prevention, care, education, and research. Washington,
DC: National Academies Press; 2011.
 3. T ighe P, Buckenmaier CC 3rd, Boezaart AP, et al. Acute pain medicine
in the United States: a status report. Pain Med 2015;16:1806-26.
PMID:26535424 https://doi.org/10.1111/pme.12760
 4. CDC. Opioid Workgroup roster. Atlanta, GA: US Department
of Health and Human Services, CDC; 2020. https://www.cdc.gov/injury/
155. Agnoli A, Xing G, Tancredi DJ, Magnan E, Jerant A, Fenton JJ.
Association of dose tapering with overdose or mental health crisis among
patients prescribed long-term opioids. JAMA 2021;326:411-9."""


def _meta(tmp_path: Path, name: str, body: str) -> ParsedDocument:
    f = tmp_path / name
    f.write_text(body, encoding="utf-8")
    return load(f)


@pytest.mark.parametrize(
    "title",
    ["References", "REFERENCES", "References:", "7. References", "Bibliography",
     "Works Cited", "Literature cited", "Selected references", "Reference list"],
)  # fmt: skip
def test_reference_headings(title: str) -> None:
    assert is_reference_heading(title)


@pytest.mark.parametrize(
    "title",
    ["Recommendations", "Reference ranges for adults", "Key points", "Sources of fibre",
     "Preferences of patients", "Introduction"],
)  # fmt: skip
def test_other_headings_are_not_reference_headings(title: str) -> None:
    assert not is_reference_heading(title)


def test_reference_section_anywhere_in_the_path() -> None:
    assert in_reference_section("Appendix > References")
    assert not in_reference_section("Recommendations > Recommendation 5")


def test_citation_list_after_prose_is_cut_with_its_heading() -> None:
    out = strip_citations(PROSE + "\n" + VANCOUVER)
    assert out == PROSE


def test_page_of_only_citations_is_empty() -> None:
    # a page that starts with the tail of the previous page's entry
    tail = "controlled trial. JAMA 2019;321:100-10. PMID:30601234\n"
    assert strip_citations(tail + VANCOUVER.split("\n", 1)[1]) == ""


def test_numbered_recommendations_are_not_citations() -> None:
    box = (
        "8. Before starting and periodically during continuation of\n"
        "opioid therapy, clinicians should evaluate risk for opioid-\n"
        "related harms (recommendation category: A;\nevidence type: 4).\n"
        "9. When prescribing initial opioid therapy, clinicians should\n"
        "review the patient's history using PDMP data (recommendation\n"
        "category: B; evidence type: 4).\n"
        "10. Clinicians should consider toxicology testing (recommendation category: B;\n"
        "evidence type: 4)."
    )
    assert strip_citations(box) == box


def test_one_citation_inside_prose_is_kept() -> None:
    text = (
        "A large cohort study (Agnoli A, Xing G, et al. JAMA 2021;326:411-9) found that\n"
        "tapering was associated with overdose.\nClinicians should taper slowly."
    )
    assert strip_citations(text) == text


def test_apa_bullet_list_is_cut() -> None:
    text = (
        "Probiotics may help some people with IBS.\n\n"
        "- Ford, A. C., & Moayyedi, P. (2018). Efficacy of probiotics in irritable bowel "
        "syndrome. Alimentary Pharmacology & Therapeutics, 48(10), 1044-1060. "
        "https://doi.org/10.1111/apt.15001\n"
        "- Lacy, B. E., Pimentel, M., & Brenner, D. M. (2021). ACG clinical guideline: "
        "management of irritable bowel syndrome. Am J Gastroenterol, 116(1), 17-44. "
        "https://doi.org/10.14309/ajg.0000000000001036"
    )
    assert strip_citations(text) == "Probiotics may help some people with IBS."


def test_citation_entry_detector() -> None:
    assert is_citation_entry("Chou R, Hartung D, Turner J, et al. Opioid treatments. 2020;12:1-9.")
    assert is_citation_entry("12. Smith J. A title. JAMA 2019;321:100-10. PMID:30601234")
    assert not is_citation_entry("Offer naloxone to patients at increased risk (see Box 4).")
    assert not is_citation_entry("In 2019, 50,000 people died of an overdose; 2020 was worse.")


def test_markdown_references_section_makes_no_chunk(tmp_path: Path) -> None:
    doc = _meta(
        tmp_path,
        "g.md",
        "---\nid: g\ntitle: G\n---\n# G\n\n## Key points\n\nCBT helps IBS symptoms.\n\n"
        "## References\n\n1. Smith J. Diabetic neuropathy. Diabetes Care 2019;42:1-9.\n\n"
        "## Bibliography\n\nBlack A. Insulin regimens. London: Press; 2001.\n",
    )
    chunks = chunk_blocks(doc.meta, doc.blocks)
    assert [c.section for c in chunks] == ["Key points"]
    assert not any("iabet" in c.text or "nsulin" in c.text for c in chunks)


def test_html_references_section_makes_no_chunk(tmp_path: Path) -> None:
    doc = _meta(
        tmp_path,
        "g.html",
        "<html><body><main><h1>G</h1><h2>Advice</h2><p>Walk every day.</p>"
        "<h2>References</h2><ol><li>Smith J. Insulin. Lancet 2019;393:1-9.</li>"
        "<li>Doe A. Diabetes. BMJ 2020;368:m1.</li></ol></main></body></html>",
    )
    chunks = chunk_blocks(doc.meta, doc.blocks)
    assert [c.text for c in chunks] == ["Walk every day."]


def test_pdf_page_is_split_at_its_outline_heading() -> None:
    lines = ["end of the conclusion.", "References", " 1. Smith J. A title. 2019;1:1."]
    pieces, state = _segments(lines, [(0, "References")], ("Conclusion", "Conclusion"))
    assert [(p[0][0], p[1]) for p in pieces] == [
        ("Conclusion", ["end of the conclusion."]),
        ("References", lines[1:]),
    ]
    assert state == ("References", "References")
    # a wrapped heading with stray spaces, and an entry not printed on the page
    lines = ["tail.", "Determining Whether or Not to", "Initiate Opi oids for Pain", "All"]
    pieces, state = _segments(
        lines,
        [(1, "Determining Whether or Not to Initiate Opioids for Pain"), (2, "Recommendation 1")],
        ("Recommendations", "Recommendations"),
    )
    assert [p[1] for p in pieces] == [["tail."], lines[1:]]
    assert pieces[1][0] == ("Recommendations", "Recommendation 1")


def test_sentence_broken_by_a_page_break_stays_on_its_first_page() -> None:
    blocks = [
        Block("R", "R", "Tapers of 10% per month or slower are likely to be better", 38),
        Block("R", "R", "tolerated than more rapid tapers (e.g., ≥1 year) (219).\nWhen done", 39),
        Block("R", "R", "BOX 1. A box starts this page.", 40),
    ]
    _join_continuations(blocks)
    assert blocks[0].text.endswith(
        "better\ntolerated than more rapid tapers (e.g., ≥1 year) (219)."
    )
    assert blocks[1].text == "When done"
    assert blocks[2].text == "BOX 1. A box starts this page."  # an upper-case start is not joined


@pytest.mark.slow
def test_real_cdc_pdf_has_no_reference_list_chunks() -> None:
    path = shared_data("guidelines", "cdc_2022_opioid_prescribing_guideline_rr7103a1-H.pdf")
    doc = load(path)
    chunks = chunk_blocks(doc.meta, doc.blocks)
    assert len(chunks) > 600
    assert not any(in_reference_section(c.section) for c in chunks)
    for c in chunks:
        assert "PMID" not in c.text and "doi.org" not in c.text, (c.page, c.text[:200])
    # the appendix text above the second "References" heading (p. 90) is kept, as the appendix
    assert any(c.page == 90 and c.section.startswith("Appendix") for c in chunks)
    # the taper sentence broken over pp. 38-39 is one sentence, cited to p. 38, without its
    # inline reference number "(219)"
    assert any(
        c.page == 38
        and s.startswith("Tapers of approximately 10% per month or slower")
        and s.endswith("better tolerated than more rapid tapers when patients have been taking "
                       "opioids for longer durations (e.g., ≥1 year).")
        for c in chunks
        for s in c.sentences
    )  # fmt: skip
