"""Loaders and chunking (no model needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from citeline.errors import LoaderError
from ingest.chunking import chunk_blocks
from ingest.loaders import load, parse_markdown
from tests.conftest import shared_data

MD = """---
id: demo
title: Demo guideline
publisher: Demo Society
year: 2023
type: Review
url: https://example.org
audience: clinician
---
# Demo guideline

Intro sentence about the guideline.

## Evidence

First evidence sentence. Second evidence sentence.

### Subgroup

Subgroup detail.

## Recommendations

Do the recommended thing.
"""


def test_markdown_sections_keep_their_path(tmp_path: Path) -> None:
    p = tmp_path / "demo.md"
    p.write_text(MD)
    doc = load(p)
    assert doc.meta.doc_id == "demo" and doc.meta.year == 2023 and doc.meta.type == "Review"
    assert [b.path for b in doc.blocks] == [
        "Introduction",
        "Evidence",
        "Evidence > Subgroup",
        "Recommendations",
    ]
    chunks = chunk_blocks(doc.meta, doc.blocks)
    assert {c.section for c in chunks} == {
        "Introduction",
        "Evidence",
        "Evidence > Subgroup",
        "Recommendations",
    }
    assert all(c.text.endswith(".") for c in chunks), "sentences are never cut"


def test_chunks_never_cross_sections_and_ids_are_stable(tmp_path: Path) -> None:
    body = "\n\n".join(
        f"## Section {i}\n\n" + " ".join(f"Sentence {j} of section {i} is here." for j in range(60))
        for i in range(3)
    )
    p = tmp_path / "long.md"
    p.write_text(f"# Long\n\n{body}\n")
    doc = load(p)
    chunks = chunk_blocks(doc.meta, doc.blocks)
    assert len(chunks) > 3
    for c in chunks:
        section_no = c.section.split()[-1]
        assert all(f"of section {section_no} " in s for s in c.sentences)
        assert len(c.text) <= 900
    assert [c.id for c in chunk_blocks(doc.meta, load(p).blocks)] == [c.id for c in chunks]


def test_sidecar_overrides_file_metadata(tmp_path: Path) -> None:
    p = tmp_path / "plain.txt"
    p.write_text("Some plain guidance text. Another sentence.")
    (tmp_path / "plain.meta.yaml").write_text(
        "title: Sidecar title\npublisher: Sidecar Org\nyear: 2021\n"
    )
    doc = load(p)
    assert (doc.meta.title, doc.meta.publisher, doc.meta.year) == (
        "Sidecar title",
        "Sidecar Org",
        2021,
    )


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.md", b"", "empty"),
        ("bad.md", b"---\ntitle: [x\n---\ntext", "front matter"),
        ("bad-type.md", b"---\ntype: Blog\n---\n# T\n\ntext.", "type"),
        ("bin.txt", b"\x00\x01\x02" * 100, "binary"),
        ("x.docx", b"PK", "unsupported"),
        ("enc.pdf", b"%PDF-1.4 garbage", "PDF"),
    ],
)
def test_bad_files_raise_a_one_line_reason(
    tmp_path: Path, name: str, content: bytes, reason: str
) -> None:
    p = tmp_path / name
    p.write_bytes(content)
    with pytest.raises(LoaderError, match=reason) as exc:
        load(p)
    assert "\n" not in str(exc.value)


def test_title_heading_is_not_a_section() -> None:
    blocks = parse_markdown("# Title\n\n## A\n\ntext a\n\n## B\n\ntext b\n")
    assert [b.top for b in blocks] == ["A", "B"]


@pytest.mark.slow
def test_real_mmwr_html_has_no_script_or_style_text() -> None:
    path = shared_data("guidelines", "cdc_mmwr_56_reports_2019_2022_compiled.html")
    doc = load(path)
    chunks = chunk_blocks(doc.meta, doc.blocks)
    assert len(chunks) > 100
    raw = path.read_text(encoding="utf-8", errors="replace")
    assert "<script" in raw.lower() or "<style" in raw.lower(), (
        "the fixture has scripts or styles to drop"
    )
    for c in chunks:
        low = c.text.lower()
        assert (
            "function(" not in low
            and "{display" not in low.replace(" ", "")
            and "<script" not in low
        )


@pytest.mark.slow
def test_real_pdf_keeps_page_numbers() -> None:
    path = shared_data("guidelines", "cdc_2022_opioid_prescribing_guideline_rr7103a1-H.pdf")
    doc = load(path)
    pages = {b.page for b in doc.blocks}
    assert min(pages) >= 1 and max(pages) <= 100 and len(pages) > 90
    chunks = chunk_blocks(doc.meta, doc.blocks)
    assert all(c.page for c in chunks)


def test_loaders_every_supported_suffix_has_a_parser_and_others_fail_loudly() -> None:
    from citeline.errors import LoaderError
    from ingest.loaders import FORMATS, SUPPORTED, format_for

    assert SUPPORTED == (".md", ".markdown", ".txt", ".pdf", ".html", ".htm")
    assert all(format_for(s) is FORMATS[s] for s in SUPPORTED)
    assert format_for(".PDF") is FORMATS[".pdf"]
    with pytest.raises(LoaderError, match=r"unsupported file type \.docx; use one of \.md, "):
        format_for(".docx")
    with pytest.raises(LoaderError, match=r"unsupported file type \(none\)"):
        format_for("")
