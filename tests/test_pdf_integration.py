"""A real 100-page CDC guideline PDF, ingested and answered with page-numbered citations."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from citeline.config import Settings
from citeline.pipeline import answer
from ingest.sync import sync
from tests.conftest import shared_data

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_cdc_opioid_pdf_answers_with_page_citations(
    tmp_path: Path, settings: Settings, embedder
) -> None:  # type: ignore[no-untyped-def]
    pdf = shared_data("guidelines", "cdc_2022_opioid_prescribing_guideline_rr7103a1-H.pdf")
    src = tmp_path / "lib"
    src.mkdir()
    shutil.copy(pdf, src / "cdc-opioids-2022.pdf")
    (src / "cdc-opioids-2022.meta.yaml").write_text(
        "id: cdc-opioids-2022\npublisher: Centers for Disease Control and Prevention\nyear: 2022\n"
        "type: Guideline\nurl: https://www.cdc.gov/mmwr/volumes/71/rr/rr7103a1.htm\n"
    )
    report = sync([src], settings, embedder=embedder)
    assert report.added == ["cdc-opioids-2022"] and not report.failed

    ans = answer("Which therapies are preferred for subacute and chronic pain?", [], settings)
    assert not ans.refused, ans.refusal_reason
    refs = [r for r in ans.references if r.doc_id == "cdc-opioids-2022"]
    assert refs and all(r.page and 1 <= r.page <= 100 for r in refs)
    assert refs[0].publisher == "Centers for Disease Control and Prevention"
    text = " ".join(c.text.lower() for c in ans.claims)
    assert "nonopioid" in text or "nonpharmacologic" in text, text
