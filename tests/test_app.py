"""The Streamlit app driven by AppTest (same process; real index and model)."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from citeline.config import PROJECT_ROOT, Settings

pytestmark = [pytest.mark.integration]
SEED = "Is there a link between gut health and mental health?"


@pytest.fixture
def app(corpus_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("CITELINE_HOME", str(corpus_settings.home_path))
    monkeypatch.delenv("CITELINE_APP_PASSWORD", raising=False)
    at = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=180)
    at.run()
    assert not at.exception
    return at


def texts(at: AppTest) -> str:
    return "\n".join(
        [m.value for m in at.markdown]
        + [c.value for c in at.caption]
        + [i.value for i in at.info]
        + [w.value for w in at.warning]
        + [e.value for e in at.error]
    )


def test_app_seed_question_shows_cited_answer_references_and_disclaimer(app: AppTest) -> None:
    app.chat_input[0].set_value(SEED).run()
    assert not app.exception
    body = texts(app)
    bullets = [line for m in app.markdown for line in m.value.splitlines() if line.startswith("- ")]
    assert len(bullets) >= 3
    assert all(line.rstrip().endswith("]") for line in bullets), bullets
    assert "References" in body
    assert "verify every point" in body  # the disclaimer
    assert len(app.chat_message) == 2


def test_app_follow_up_shows_the_searched_query(app: AppTest) -> None:
    app.chat_input[0].set_value(SEED).run()
    app.chat_input[0].set_value("what about probiotics?").run()
    assert not app.exception
    assert "Searched for: probiotics" in texts(app).replace("\\", "")
    assert len(app.chat_message) == 4


def test_app_refusal_still_shows_the_disclaimer(app: AppTest) -> None:
    app.chat_input[0].set_value("Who won the 2018 FIFA World Cup?").run()
    body = texts(app).replace("\\", "")
    assert "do not address" in body
    assert "verify every point" in body


def test_app_password_gate(corpus_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CITELINE_HOME", str(corpus_settings.home_path))
    monkeypatch.setenv("CITELINE_APP_PASSWORD", "s3cret")
    at = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=60)
    at.run()
    assert len(at.chat_input) == 0, "nothing is usable before the password"
    at.text_input(key="password").input("wrong").run()
    assert at.error and "Wrong password" in at.error[0].value
    at.text_input(key="password").input("s3cret").run()
    assert len(at.chat_input) == 1


def test_app_dead_llm_shows_the_fallback_notice_and_the_extractive_answer(
    corpus_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    with socket.socket() as s:  # a loopback port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"
    monkeypatch.setenv("CITELINE_HOME", str(corpus_settings.home_path))
    monkeypatch.delenv("CITELINE_APP_PASSWORD", raising=False)
    monkeypatch.setenv("CITELINE_LLM", "openai")
    monkeypatch.setenv("CITELINE_LLM_BASE_URL", url)
    monkeypatch.setenv("CITELINE_LLM_MODEL", "smollm2")
    at = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=180)
    at.run()
    assert not at.exception
    status = " ".join(c.value for c in at.sidebar.caption).replace("\\", "")
    assert f"Answerer: openai:smollm2 at {url}, not reachable (connection refused)" in status
    at.chat_input[0].set_value(SEED).run()
    assert not at.exception
    warnings = [w.value.replace("\\", "") for w in at.warning]
    assert (
        f"The language model at {url} did not answer (connection refused); "
        "showing the extractive answer."
    ) in warnings
    bullets = [line for m in at.markdown for line in m.value.splitlines() if line.startswith("- ")]
    assert len(bullets) >= 3 and all(line.rstrip().endswith("]") for line in bullets), bullets
    assert "verify every point" in texts(at)


def test_app_sidebar_says_extractive_without_an_llm(app: AppTest) -> None:
    status = " ".join(c.value for c in app.sidebar.caption)
    assert "Answerer: Extractive (no LLM)" in status
