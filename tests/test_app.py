"""The Streamlit app driven by AppTest (same process; real index and model)."""

from __future__ import annotations

import re

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from citeline.config import PROJECT_ROOT, Settings

pytestmark = [pytest.mark.integration]
SEED = "Is there a link between gut health and mental health?"
# A citation as the app writes it: [\[n\]](#ref-TURN-n "the sentence it rests on")
LINK = r'\[\\\[(\d+)\\\]\]\(#ref-(\d+)-(\d+) "(?:[^"\\]|\\.)*"\)'
CITED = re.compile(rf"(?:{LINK})+$")


@pytest.fixture
def app(corpus_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("CITELINE_HOME", str(corpus_settings.home_path))
    monkeypatch.delenv("CITELINE_APP_PASSWORD", raising=False)
    st.cache_resource.clear()  # the engine cache outlives an AppTest run
    at = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=180)
    at.run()
    assert not at.exception
    return at


def bullets_of(at: AppTest) -> list[str]:
    return [ln for m in at.markdown for ln in m.value.splitlines() if ln.startswith("- ")]


def citations_of(line: str) -> list[tuple[int, int, int]]:
    """(shown number, turn, number in the anchor) of each linked citation of a line."""
    return [(int(a), int(b), int(c)) for a, b, c in re.findall(LINK, line)]


def texts(at: AppTest) -> str:
    return "\n".join(
        [m.value for m in at.markdown]
        + [h.value for h in at.subheader]
        + [c.value for c in at.caption]
        + [i.value for i in at.info]
        + [w.value for w in at.warning]
        + [e.value for e in at.error]
    )


def test_app_seed_question_shows_cited_answer_references_and_disclaimer(app: AppTest) -> None:
    app.chat_input[0].set_value(SEED).run()
    assert not app.exception
    body = texts(app)
    bullets = bullets_of(app)
    assert len(bullets) >= 3
    assert all(CITED.search(line.rstrip()) for line in bullets), bullets
    assert "References" in body
    assert "## Professional disclaimer" in body
    assert "verify every point" in body  # the disclaimer
    assert len(app.chat_message) == 2
    assert not [e for e in app.expander if e.label in ("Done", "Searching the guidelines…")]


def test_app_citations_link_to_one_reference_entry_per_document(app: AppTest) -> None:
    app.chat_input[0].set_value(SEED).run()
    refs = {h.proto.anchor: h.value for h in app.subheader}
    assert refs and all(a.startswith("ref-0-") for a in refs), refs
    cited = {c for line in bullets_of(app) for c in citations_of(line)}
    assert cited and all(turn == 0 and n == m for n, turn, m in cited), cited
    assert {f"ref-0-{n}" for n, _, _ in cited} <= set(refs), "every [n] has its entry"
    titles = [re.search(r"\*\*(.+?)\*\*", v).group(1) for v in refs.values()]  # type: ignore[union-attr]
    assert len(titles) == len(set(titles)), f"a document is listed twice: {titles}"
    sources = [e for e in app.expander if e.label.startswith("Sources: ")]
    assert len(sources) == 1, [e.label for e in app.expander]


def test_app_landing_panel_says_what_is_indexed_and_offers_examples(
    app: AppTest, corpus_settings: Settings
) -> None:
    from citeline.store import open_index

    idx = open_index(corpus_settings)
    docs = idx.stats()["documents"]
    idx.close()
    body = texts(app).replace("\\", "")
    assert "What is indexed" in body and f"{docs} documents" in body
    assert re.search(r"published \d{4}–\d{4}", body), body
    assert re.search(r"from \d+ publishers", body), body
    examples = [b for b in app.button if b.key and b.key.startswith("ex-")]
    assert len(examples) == 3, [b.label for b in app.button]
    question = examples[0].label.replace("\\", "")
    examples[0].click().run()
    assert not app.exception
    users = [m for m in app.chat_message if m.name == "user"]
    assert len(users) == 1 and question in users[0].markdown[0].value.replace("\\", "")
    assert "What is indexed" not in texts(app), "the landing panel gives way to the conversation"
    assert app.subheader, f"the example question is answered with references: {texts(app)}"


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
    st.cache_resource.clear()
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
    bullets = bullets_of(at)
    assert len(bullets) >= 3 and all(CITED.search(line.rstrip()) for line in bullets), bullets
    assert "verify every point" in texts(at)


def test_app_sidebar_says_extractive_without_an_llm(app: AppTest) -> None:
    status = " ".join(c.value for c in app.sidebar.caption)
    assert "Answerer: Extractive (no LLM)" in status
