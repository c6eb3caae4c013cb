"""Untrusted text in the app is shown, never interpreted: an error message that carries a path
or file name with Markdown in it (here: a remote image, which the browser would fetch) is
rendered as literal text."""

from __future__ import annotations

import re
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
    for page in ("app.py", "citeline/ui.py", "citeline/render.py"):
        source = (PROJECT_ROOT / page).read_text(encoding="utf-8")
        for outlet in ("unsafe_allow_html", "st.html(", "components.html", "components.v1"):
            assert outlet not in source, (page, outlet)


HOSTILE_DOC = """---
title: "Quorvex [guide](https://evil.example/t) <img src=x onerror=alert(3)> www.evil.example"
publisher: "**Bold** Society <script>alert(4)</script> (see https://evil.example/p)"
year: 2025
type: Guideline
url: "javascript:alert(5)"
---

# Quorvex drills

Quorvex breathing drills ease stress-related bowel symptoms in adults, see [this page](https://evil.example/a), www.evil.example/b or mail help@evil.example <a href="https://evil.example/c">here</a> ![px](https://evil.example/p.png) :red[alarm] <https://evil.example/d>.

# Quorvex safety

Quorvex breathing drills are safe for most adults with irritable bowel syndrome.
"""
QUESTION = "Do quorvex breathing drills ease bowel symptoms? [see](https://evil.example/q) www.evil.example"
# What GFM turns into a link in plain text (autolink literals), checked in rendered text.
AUTOLINK_LITERAL = re.compile(r"https?://|\bwww\.|\w@\w", re.IGNORECASE)


def rendered(body: str) -> tuple[list[str], list[str], list[str]]:
    """(link targets, raw HTML, texts) of a Markdown body, as a CommonMark parser reads it."""
    from markdown_it import MarkdownIt

    links, html, texts = [], [], []
    for tok in MarkdownIt("commonmark").parse(body):
        if tok.type == "html_block":
            html.append(tok.content)
        for child in tok.children or []:
            if child.type == "link_open":
                links.append(str(child.attrs.get("href", "")))
            elif child.type == "image":
                links.append(str(child.attrs.get("src", "")))
            elif child.type == "html_inline":
                html.append(child.content)
            elif child.type == "text":
                texts.append(child.content)
    return links, html, texts


def test_document_and_question_text_form_no_link_html_or_image_in_the_app(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, embedder
) -> None:  # type: ignore[no-untyped-def]
    """A document whose every field is hostile, and a question with links: the app's Markdown
    holds no HTML, no image and no link but the citation anchors (#ref-...); its text has no
    autolink literal left (GFM would link it after parsing)."""
    import streamlit as st

    from citeline.config import Settings
    from citeline.pipeline import reset_engines
    from ingest.sync import sync

    src = tmp_path / "lib"
    src.mkdir()
    (src / "quorvex.md").write_text(HOSTILE_DOC, encoding="utf-8")
    home = tmp_path / "home"
    assert not sync([src], Settings.from_env(home=home), embedder=embedder).failed
    monkeypatch.setenv("CITELINE_HOME", str(home))
    monkeypatch.delenv("CITELINE_APP_PASSWORD", raising=False)
    reset_engines()
    st.cache_resource.clear()
    at = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=180)
    at.run()
    landing = bodies(at)
    at.chat_input[0].set_value(QUESTION).run()
    assert not at.exception
    assert at.subheader, "the hostile document is cited"
    for body in landing + bodies(at):
        links, html, texts = rendered(body)
        assert all(h.startswith("#ref-") for h in links), (links, body)
        assert not html, (html, body)
        assert not [t for t in texts if AUTOLINK_LITERAL.search(t)], body
    reset_engines()


def bodies(at: AppTest) -> list[str]:
    """Every Markdown string the app handed to Streamlit in this run."""
    out = [m.value for m in at.markdown] + [h.value for h in at.subheader]
    out += [c.value for c in at.caption] + [b.label for b in at.button]
    out += [e.label for e in at.expander]
    out += [x.value for x in (*at.info, *at.warning, *at.error, *at.success)]
    return out
