"""The Streamlit app driven by AppTest (same process; real index and model)."""

from __future__ import annotations

import re

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from citeline import gate
from citeline.config import PROJECT_ROOT, Settings
from citeline.errors import UploadTooLargeError
from citeline.render import WORD_JOINER  # invisible: it keeps URLs in text from becoming links
from citeline.store import open_index
from ingest.sync import add_upload

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
    assert "Searched for: what about probiotics (gut health and mental health)?" in texts(
        app
    ).replace("\\", "")
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
    status = (
        " ".join(c.value for c in at.sidebar.caption).replace("\\", "").replace(WORD_JOINER, "")
    )
    assert f"Answerer: openai:smollm2 at {url}, not reachable (connection refused)" in status
    at.chat_input[0].set_value(SEED).run()
    assert not at.exception
    warnings = [w.value.replace("\\", "").replace(WORD_JOINER, "") for w in at.warning]
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


def test_app_password_gate_slows_guessing_after_five_wrong_passwords(
    corpus_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The gate's clock is held still so that "during the wait" does not depend on how fast
    this machine reruns the page; the page itself is the real app."""
    now = [1000.0]
    monkeypatch.setattr(gate, "clock", lambda: now[0])
    monkeypatch.setenv("CITELINE_HOME", str(corpus_settings.home_path))
    monkeypatch.setenv("CITELINE_APP_PASSWORD", "s3cret")
    at = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=60)
    at.run()

    def attempt(password: str) -> str:
        at.text_input(key="password").input(password).run()
        assert not at.exception
        gated = [t for t in at.text_input if t.key == "password"]
        assert not gated or gated[0].value == "", "the field is emptied after each try"
        return " ".join(e.value for e in [*at.error, *at.warning])

    for n in range(1, gate.FREE_TRIES):
        assert attempt(f"wrong-{n}") == "Wrong password."
    assert "next try is checked in 2 s" in attempt("wrong-5")
    at.run()  # the page says so without a try, too
    assert [w.value for w in at.warning] == [gate.waiting(2)]
    # The right password during the wait is not even compared.
    assert attempt("s3cret").startswith("Too many wrong passwords: wait 2 s")
    assert len(at.chat_input) == 0
    now[0] += 2.0
    assert "next try is checked in 4 s" in attempt("wrong-6"), "the wait grows"
    now[0] += 1.0
    assert attempt("s3cret").startswith("Too many wrong passwords: wait 3 s")
    now[0] += 3.0
    attempt("s3cret")
    assert len(at.chat_input) == 1 and not at.error
    kept = repr(at.session_state.to_dict())
    assert "s3cret" not in kept and "wrong-" not in kept, "no password stays in the session"


def test_app_refuses_an_upload_over_the_cap_with_one_line(
    corpus_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = corpus_settings.home_path
    monkeypatch.setenv("CITELINE_HOME", str(home))
    monkeypatch.delenv("CITELINE_APP_PASSWORD", raising=False)
    monkeypatch.setenv("CITELINE_MAX_UPLOAD_MB", "1")
    before = open_index(corpus_settings).stats()
    at = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=180)
    at.run()
    uploader = at.file_uploader(key="upload_file")
    assert uploader.proto.max_upload_size_mb == 1, "the browser is told the cap"
    big = (
        b"---\ntitle: Big guideline\n---\n# Big\n\n" + b"Probiotics may help some adults. " * 50_000
    )
    uploader.upload("big-guideline.md", big, "text/markdown").run()
    at.button(key="upload_go").click().run()
    assert not at.exception
    errors = [e.value.replace("\\", "").replace(WORD_JOINER, "") for e in at.sidebar.error]
    assert errors == [
        "big-guideline.md is 1.6 MB: uploads are limited to 1 MB (CITELINE_MAX_UPLOAD_MB); "
        "nothing was added"
    ]
    assert not (home / "uploads" / "big-guideline.md").exists()
    assert not (home / "uploads" / "big-guideline.meta.yaml").exists()
    assert open_index(corpus_settings).stats() == before


def test_add_upload_over_the_cap_keeps_nothing_and_loses_nothing(settings: Settings) -> None:
    """An upload over the cap is refused before any write: an earlier upload of the same name
    stays as it was (no index is opened either)."""
    folder = settings.home_path / "uploads"
    folder.mkdir(parents=True)
    (folder / "guide.md").write_bytes(b"earlier upload")
    small = settings.replace(max_upload_mb=1)
    with pytest.raises(UploadTooLargeError, match=r"guide\.md is 1\.0 MB: uploads are limited"):
        add_upload("../guide.md", b"x" * (1024 * 1024 + 1), small, {"title": "New"})
    assert (folder / "guide.md").read_bytes() == b"earlier upload"
    assert sorted(p.name for p in settings.home_path.rglob("*")) == ["guide.md", "uploads"]
