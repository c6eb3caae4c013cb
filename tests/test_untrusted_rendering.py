"""Untrusted text in the app is shown, never interpreted: an error message that carries a path
or file name with Markdown in it (here: a remote image, which the browser would fetch) is
rendered as literal text."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from citeline.config import PROJECT_ROOT
from citeline.render import esc

pytestmark = [pytest.mark.integration]

HOSTILE = "![x](198.51.100.7 p.png) <img src=x onerror=alert(1)> **bold**"


def test_app_error_messages_are_escaped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / HOSTILE  # a folder name is as untrusted as an uploaded file name
    monkeypatch.setenv("CITELINE_HOME", str(home))
    monkeypatch.delenv("CITELINE_APP_PASSWORD", raising=False)
    at = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=120)
    at.run()
    assert not at.exception
    errors = [e.value for e in at.sidebar.error]
    assert errors and "No index at" in errors[0]
    assert esc(str(home)) in errors[0], "the path is escaped"
    assert HOSTILE not in errors[0], "no raw Markdown or HTML reaches st.error"


@pytest.mark.parametrize("name", ["..", "../../escape.md", "/etc/cron.d/x.md", "nul\x00.md", "."])
def test_upload_names_cannot_leave_the_uploads_folder(tmp_path: Path, name: str) -> None:
    from citeline.config import Settings
    from ingest.sync import add_upload

    home = tmp_path / "home"
    outside = {p for p in tmp_path.rglob("*")}
    report = add_upload(name, b"# T\n\nUploaded text here.\n", Settings.from_env(home=home))
    written = {p for p in tmp_path.rglob("*")} - outside
    assert all(p == home or home in p.parents for p in written), written
    uploads = home / "uploads"
    kept = [p.name for p in uploads.iterdir()] if uploads.exists() else []
    if report.failed:  # "..", "." and other names without a supported type
        assert kept == [] and "unsupported" in report.failed[0]["error"]
    else:
        assert len(kept) == 1 and "/" not in kept[0] and "\x00" not in kept[0]


def test_the_app_has_no_raw_html_outlet() -> None:
    """SECURITY.md promises that nothing is rendered as raw HTML: keep it that way."""
    source = (PROJECT_ROOT / "app.py").read_text(encoding="utf-8")
    for outlet in ("unsafe_allow_html", "st.html(", "components.html", "components.v1"):
        assert outlet not in source, outlet
