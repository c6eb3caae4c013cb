"""Citeline chat (Streamlit). Thin: it parses input, calls citeline.pipeline.answer and renders.

Untrusted text (questions, guideline passages, document metadata) is never rendered as HTML:
Streamlit escapes raw HTML in st.markdown, and `esc()` also neutralises Markdown so a passage
cannot inject links or images. The only links are the ones citeline.render builds: citations
to their reference entries (#ref-...) and reference lines to their checked http(s) URL or DOI."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import streamlit as st

from citeline import facets, gate
from citeline.answerers import llm
from citeline.config import Settings
from citeline.conversation import Turn
from citeline.environment import set_offline_defaults
from citeline.errors import CitelineError
from citeline.pipeline import Engine, answer, get_engine
from citeline.render import conversation_markdown, esc
from citeline.store import Filters
from citeline.types import DOC_TYPES, Answer
from citeline.ui import landing, show_answer
from ingest.sync import Report, add_upload

set_offline_defaults()
st.set_page_config(page_title="Citeline", page_icon="📑", layout="centered")
AUDIENCES = {"clinician": "Healthcare professional", "patient": "Patient or carer"}


def settings() -> Settings:
    return Settings.from_env()


def password_gate(cfg: Settings) -> bool:
    """When CITELINE_APP_PASSWORD (or the secret app_password) is set, ask for it first. Wrong
    passwords are throttled per browser session (citeline.gate); the field is emptied after
    each try, so a password stays in no widget state."""
    expected = cfg.app_password
    if not expected:
        try:
            expected = str(st.secrets.get("app_password", ""))
        except Exception:  # no secrets file
            expected = ""
    if not expected or st.session_state.get("authenticated"):
        return True
    attempts = st.session_state.setdefault("password_attempts", gate.Attempts())

    def check() -> None:  # runs once per entered password, before the page
        given = st.session_state.get("password", "")
        st.session_state.password = ""
        if given:
            outcome = attempts.attempt(given, expected, gate.clock())
            st.session_state.authenticated = outcome.ok
            st.session_state.password_outcome = outcome

    st.text_input("Password", type="password", key="password", on_change=check)
    outcome = st.session_state.pop("password_outcome", None)
    if outcome is not None:
        st.error(gate.describe(outcome))
    elif (left := attempts.wait_left(gate.clock())) > 0:
        st.warning(gate.waiting(left))
    return False


def _still_current(engine: Engine) -> bool:
    """A cached engine is used only while the pipeline still holds it (tests reset engines)."""
    return get_engine(engine.settings) is engine


@st.cache_resource(
    show_spinner="Loading the guideline index and the embedding model (first page after a start)…",
    validate=_still_current,
)
def load_engine(home: str, chroma_url: str, collection: str, model: str, _cfg: Settings) -> Engine:
    """One engine per index and model, shared by every session of this server."""
    return get_engine(_cfg)


def engine_for(cfg: Settings) -> Engine:
    return load_engine(str(cfg.home_path), cfg.chroma_url, cfg.collection, cfg.embed_model, cfg)


def sidebar(cfg: Settings, engine: Engine | None) -> Filters:
    with st.sidebar:
        st.header("Citeline")
        st.radio(
            "Which best describes you?",
            list(AUDIENCES),
            key="audience",
            format_func=AUDIENCES.__getitem__,
            horizontal=True,
        )
        if st.button("New conversation", key="new_conversation"):
            st.session_state.turns = []
            st.rerun()
        if engine is None:
            return Filters()
        stats = engine.index.stats()
        facet = engine.index.facets()
        last = (
            datetime.fromtimestamp(stats["last_ingest"]).strftime("%Y-%m-%d %H:%M")
            if stats["last_ingest"]
            else "never"
        )
        st.caption(
            f"Index: {stats['documents']} documents, {stats['chunks']} passages; "
            f"last ingest {last}."
        )
        st.caption(answerer_status(cfg))
        orgs = facets.publisher_options(facet["publishers"])
        with st.expander("Filters"):
            types = st.multiselect("Document type", facet["types"], key="f_types")
            pubs = st.multiselect("Publisher", list(orgs), key="f_pubs")
            lo, hi = facet["year_min"], facet["year_max"]
            st.session_state.year_bounds = (lo, hi)
            years = (lo, hi)
            if lo and hi and lo < hi:
                years = st.slider("Year", lo, hi, (lo, hi), key="f_years")
        upload(cfg)
        # Filled at the end of the run, so the answer just given is in the export too.
        st.session_state.export_slot = st.empty()
    return Filters(
        types=tuple(types),
        publishers=tuple(raw for label in pubs for raw in orgs.get(label, [])),
        year_min=years[0] if years[0] != lo else None,
        year_max=years[1] if years[1] != hi else None,
    )


def filters_text() -> str:
    """The filters chosen in the sidebar, in words ('none' when there are none)."""
    ss = st.session_state
    parts = []
    if ss.get("f_types"):
        parts.append("type: " + ", ".join(ss.f_types))
    if ss.get("f_pubs"):
        parts.append("publisher: " + ", ".join(ss.f_pubs))
    span, bounds = ss.get("f_years"), ss.get("year_bounds")
    if span and bounds and tuple(span) != tuple(bounds):
        parts.append(f"years {span[0]}-{span[1]}")
    return "; ".join(parts) or "none"


def answerer_status(cfg: Settings) -> str:
    """Extractive, or the LLM and whether its server answers (a cheap check, cached briefly)."""
    if cfg.llm == "none":
        return "Answerer: Extractive (no LLM): sentences quoted from the guidelines."
    p = llm.probe(cfg)
    name = cfg.llm_model or (p.models[0] if p.models else "first listed model")
    state = (
        "reachable"
        if p.reachable
        else f"not reachable ({p.error}); answers fall back to the extractive answerer"
    )
    return esc(f"Answerer: {cfg.llm}:{name} at {llm.base_url(cfg)}, {state}.")


def upload(cfg: Settings) -> None:
    """Sidebar: add a guideline file (PDF, Markdown, HTML, text) with optional metadata."""
    with st.expander("Add a guideline", expanded="upload_result" in st.session_state):
        f = st.file_uploader(
            "File",
            type=["pdf", "md", "txt", "html", "htm"],
            key="upload_file",
            max_upload_size=cfg.max_upload_mb,  # the browser refuses more; add_upload too
            help=f"Up to {cfg.max_upload_mb} MB (CITELINE_MAX_UPLOAD_MB).",
        )
        title = st.text_input("Title (optional)", key="upload_title")
        publisher = st.text_input("Publisher (optional)", key="upload_publisher")
        year = st.number_input("Year (0 = unknown)", 0, 2100, 0, key="upload_year")
        doc_type = st.selectbox("Type", DOC_TYPES, key="upload_type")
        if f is not None and st.button("Add to index", key="upload_go"):
            bar = st.progress(0.0, text="Embedding…")

            def progress(done: int, total: int) -> None:
                bar.progress(min(1.0, done / max(total, 1)), text="Embedding…")

            meta = {
                "title": title,
                "publisher": publisher,
                "year": int(year) or None,
                "type": doc_type,
            }
            try:
                report = add_upload(f.name, f.getvalue(), cfg, meta, progress)
            except CitelineError as exc:
                st.error(esc(str(exc)))
                return
            bar.empty()
            st.session_state.upload_result = upload_result(f.name, report, cfg)
            st.rerun()  # the sidebar's counts and filters include the new document at once
        show_upload_result()


def upload_result(name: str, report: Report, cfg: Settings) -> dict[str, Any]:
    """What the upload did, in the words shown after the rerun."""
    warnings = [w["warning"] for w in report.warnings]
    if report.failed:
        return {"error": f"{name}: {report.failed[0]['error']}", "warnings": warnings}
    ids = report.added or report.updated or report.unchanged
    rec = engine_for(cfg).index.documents().get(ids[0]) if ids else None
    if rec is None:
        return {"error": f"{name}: nothing was indexed", "warnings": warnings}
    m = rec.meta
    verb = "Added" if report.added else "Updated" if report.updated else "Already indexed:"
    details = " · ".join(
        [m.type, m.publisher or "publisher unknown", str(m.year) if m.year else "year unknown"]
    )
    passages = f"{rec.n_chunks} passage{'s' if rec.n_chunks != 1 else ''}"
    return {"success": f"{verb} “{m.title}” ({details}): {passages}.", "warnings": warnings}


def show_upload_result() -> None:
    res = st.session_state.get("upload_result")
    if not res:
        return
    if "success" in res:
        st.success(esc(res["success"]))
    else:
        st.error(esc(res["error"]))
    for w in res["warnings"]:
        st.warning(esc(w))


def export(turns: list[dict[str, Any]], cfg: Settings) -> str:
    """The conversation as a Markdown file that stands alone: when, for whom, with what filters,
    from which index version and by which answerer."""
    try:
        stats = engine_for(cfg).index.stats()
        index = f"{stats['documents']} documents, {stats['chunks']} passages, version {stats['version']}"
    except CitelineError as exc:
        index = f"unavailable ({exc})"
    backends = ", ".join(sorted({t["answer_obj"].backend for t in turns}))
    header = {
        "Exported": now(),
        "Audience": AUDIENCES.get(st.session_state.get("audience", ""), "unknown"),
        "Filters": filters_text(),
        "Index": f"{index} ({cfg.chroma_url or cfg.home_path})",
        "Answerer": backends + ("" if cfg.llm == "none" else f" (CITELINE_LLM={cfg.llm})"),
    }
    rows = [
        (
            t["question"],
            {
                "asked": t.get("asked_at", ""),
                "audience": AUDIENCES.get(t["answer_obj"].audience, ""),
                "filters": t.get("filters", "none"),
                "answerer": t["answer_obj"].backend,
            },
            t["answer_obj"],
        )
        for t in turns
    ]
    return conversation_markdown(header, rows)


def now() -> str:
    return datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")


def ask(question: str, cfg: Settings, filters: Filters) -> None:
    """Answer `question` below the conversation, streaming an LLM draft while it is written."""
    history: list[Turn] = []
    for t in st.session_state.turns:
        ans_t: Answer = t["answer_obj"]
        history += [
            Turn(role="user", content=t["question"]),
            Turn(role="assistant", content=ans_t.verdict.text if ans_t.verdict else ""),
        ]
    with st.chat_message("user"):
        st.markdown(esc(question))
    with st.chat_message("assistant"):
        draft = st.empty()  # LLM tokens stream here; the enforced answer replaces them
        tokens: list[str] = []

        def on_token(token: str) -> None:
            tokens.append(token)
            draft.markdown("_Draft, not yet checked against the sources:_ " + esc("".join(tokens)))

        busy = (
            "Searching the guidelines…"
            if cfg.llm == "none"
            else "Searching the guidelines, then drafting with the language model…"
        )
        try:
            with st.spinner(busy):
                ans = answer(
                    question,
                    history,
                    cfg,
                    audience=st.session_state.audience,
                    filters=filters,
                    on_token=on_token,
                )
        except CitelineError as exc:
            draft.empty()
            st.error(esc(str(exc)))
            return
        draft.empty()
        i = len(st.session_state.turns)
        st.session_state.turns.append(
            {
                "question": question,
                "answer_obj": ans,
                "asked_at": now(),
                "filters": filters_text(),
            }
        )
        show_answer(ans, i)


def main() -> None:
    st.session_state.pop("export_slot", None)
    cfg = settings()
    if not password_gate(cfg):
        return
    st.session_state.setdefault("turns", [])
    st.title("Citeline")
    st.caption("Answers from clinical guidelines; every sentence is cited.")
    # The chat input first: it shows while the first run opens the index and loads the model
    # (it is pinned to the page's foot wherever it is called).
    question = st.chat_input(
        "Ask about the guidelines, e.g. Is there a link between gut health and mental health?"
    ) or st.session_state.pop("pending", None)
    engine: Engine | None = None
    error = ""
    try:
        engine = engine_for(cfg)
    except CitelineError as exc:
        error = str(exc)
    filters = sidebar(cfg, engine)
    if engine is None:
        st.sidebar.error(esc(error))
    for i, t in enumerate(st.session_state.turns):
        with st.chat_message("user"):
            st.markdown(esc(t["question"]))
        with st.chat_message("assistant"):
            show_answer(t["answer_obj"], i)
    if not st.session_state.turns and not question and engine is not None:
        landing(engine)
    if question:
        ask(question, cfg, filters)


def export_button(cfg: Settings) -> None:
    slot = st.session_state.get("export_slot")
    if slot is not None and st.session_state.turns:
        slot.download_button(
            "Export conversation (Markdown)",
            export(st.session_state.turns, cfg),
            file_name="citeline-conversation.md",
            mime="text/markdown",
            key="export",
        )


main()
export_button(settings())
