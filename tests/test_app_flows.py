"""The remaining chat flows of the app, driven by AppTest against the real index and model:
citation passages, audience switch, follow-up buttons, feedback, export, crisis, new conversation."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from citeline.config import PROJECT_ROOT, Settings
from tests.test_app import SEED, citations_of, texts

pytestmark = [pytest.mark.integration]


@pytest.fixture
def home(corpus_settings: Settings, tmp_path: Path) -> Path:
    """A private copy of the bundled index, so feedback written here stays out of other tests."""
    import shutil

    dst = tmp_path / "home"
    shutil.copytree(corpus_settings.home_path, dst, ignore=shutil.ignore_patterns("*.lock"))
    return dst


@pytest.fixture
def app(home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[AppTest]:
    from citeline.pipeline import reset_engines

    reset_engines()
    st.cache_resource.clear()
    monkeypatch.setenv("CITELINE_HOME", str(home))
    monkeypatch.delenv("CITELINE_APP_PASSWORD", raising=False)
    monkeypatch.delenv("CITELINE_LLM", raising=False)
    at = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=180)
    at.run()
    assert not at.exception
    yield at
    reset_engines()


def ask(at: AppTest, question: str) -> AppTest:
    at.chat_input[0].set_value(question).run()
    assert not at.exception
    return at


def test_sources_hold_every_cited_passage_with_its_cited_sentences_highlighted(
    app: AppTest,
) -> None:
    ask(app, SEED)
    sources = [e for e in app.expander if e.label.startswith("Sources: ")]
    assert len(sources) == 1, [e.label for e in app.expander]
    shown = [m.value for m in sources[0].markdown]
    headings = [v for v in shown if v.startswith("**\\[")]
    passages = [v for v in shown if not v.startswith("**\\[")]
    bullets = [ln for m in app.markdown for ln in m.value.splitlines() if ln.startswith("- ")]
    cited = {n for ln in bullets for n, _, _ in citations_of(ln)}
    assert {f"**\\[{n}\\]" for n in cited} <= {h.split(" ", 1)[0] for h in headings}
    count = sources[0].label.split()[1]
    assert int(count) == len(headings) == len(passages), sources[0].label
    assert all(":orange-background[" in p for p in passages), "each passage marks what it gave"


def test_audience_switch_changes_the_next_answer(app: AppTest) -> None:
    ask(app, "Can my gut affect my mood?")
    assert "verify every point" in texts(app)  # clinician disclaimer
    app.radio(key="audience").set_value("patient").run()
    ask(app, "Are probiotics worth trying for my IBS?")
    body = texts(app)
    assert "Talk to your doctor, nurse or pharmacist" in body.replace("\\", "")


def test_follow_up_button_asks_the_suggested_question(app: AppTest) -> None:
    ask(app, SEED)
    buttons = [b for b in app.button if b.key and b.key.startswith("fu-0-")]
    assert buttons, "the answer suggests follow-up questions"
    question = buttons[0].label.replace("\\", "")  # labels are Markdown-escaped
    buttons[0].click().run()
    assert not app.exception
    users = [m for m in app.chat_message if m.name == "user"]
    assert len(users) == 2 and question in users[1].markdown[0].value.replace("\\", "")


def test_feedback_is_stored_locally_and_shows_the_choice(app: AppTest, home: Path) -> None:
    ask(app, SEED)
    app.button(key="fb-0-1").click().run()
    assert not app.exception
    lines = (home / "feedback.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1
    rec = json.loads(lines[0])
    assert rec["question"] == SEED and rec["rating"] == 1
    assert rec["cited"] and all(isinstance(d, str) for d in rec["cited"])
    assert app.button(key="fb-0-1").proto.type == "primary", "the choice made is shown"
    assert app.button(key="fb-0--1").proto.type == "secondary"
    assert "You marked this answer helpful" in texts(app)
    app.button(key="fb-0--1").click().run()  # a change of mind is recorded and shown
    assert len((home / "feedback.jsonl").read_text(encoding="utf-8").splitlines()) == 2
    assert app.button(key="fb-0--1").proto.type == "primary"
    assert "You marked this answer not helpful" in texts(app)


def test_export_button_appears_once_there_is_a_conversation(app: AppTest) -> None:
    assert not app.get("download_button")
    ask(app, SEED)
    assert len(app.get("download_button")) == 1


def test_crisis_message_comes_first_and_no_answer_is_given(app: AppTest) -> None:
    ask(app, "I feel so hopeless with my gut symptoms that I'd be better off dead.")
    assert app.error, "the crisis message is shown as an alert"
    assert "emergency" in app.error[0].value
    assert not any(ln.startswith("- ") for m in app.markdown for ln in m.value.splitlines())
    assert "References" not in texts(app)


def test_new_conversation_clears_the_history(app: AppTest) -> None:
    ask(app, SEED)
    assert len(app.chat_message) == 2
    app.button(key="new_conversation").click().run()
    assert not app.exception
    assert len(app.chat_message) == 0


def test_publisher_filter_lists_organisations_and_filters_by_them(app: AppTest) -> None:
    pubs = app.multiselect(key="f_pubs")
    assert "BMJ" in pubs.options and "Gut (BMJ)" not in pubs.options
    assert len(pubs.options) == len({o.casefold() for o in pubs.options}), "no duplicates"
    assert not [o for o in pubs.options if "(" in o], "no journal in brackets"
    pubs.set_value(["National Institute for Health and Care Excellence"]).run()
    ask(app, "How should depression be treated in adults?")
    titles = [h.value for h in app.subheader]
    assert titles and all("National Institute for Health and Care Excellence" in t for t in titles)
