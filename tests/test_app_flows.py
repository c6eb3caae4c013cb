"""The remaining chat flows of the app, driven by AppTest against the real index and model:
citation passages, audience switch, follow-up buttons, feedback, export, crisis, new conversation."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from citeline.config import PROJECT_ROOT, Settings
from tests.test_app import SEED, texts

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


def test_citation_passages_are_expandable_with_the_supporting_sentence_in_bold(
    app: AppTest,
) -> None:
    ask(app, SEED)
    passages = [e for e in app.expander if e.label.startswith("Source passage [")]
    assert passages, [e.label for e in app.expander]
    bullets = [ln for m in app.markdown for ln in m.value.splitlines() if ln.startswith("- ")]
    cited = {n for ln in bullets for n in range(1, 20) if f"[{n}]" in ln}
    labels = {e.label for e in passages}
    assert {f"Source passage [{n}]" for n in cited} <= labels
    bold = [m.value for e in passages for m in e.markdown if "**" in m.value]
    assert bold, "every cited passage highlights the sentence it supports"


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


def test_feedback_is_stored_locally_with_the_question_and_cited_ids(
    app: AppTest, home: Path
) -> None:
    ask(app, SEED)
    app.button(key="fb-0-1").click().run()
    assert not app.exception
    lines = (home / "feedback.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1
    rec = json.loads(lines[0])
    assert rec["question"] == SEED and rec["rating"] == 1
    assert rec["cited"] and all(isinstance(d, str) for d in rec["cited"])


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
