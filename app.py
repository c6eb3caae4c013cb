"""Citeline chat (Streamlit). Thin: it parses input, calls citeline.pipeline.answer and renders.

Untrusted text (questions, guideline passages) is never rendered as HTML: Streamlit escapes raw
HTML in st.markdown, and `esc()` also neutralises Markdown so a passage cannot inject links or
images."""

from __future__ import annotations

import json
import time
from datetime import datetime
from typing import Any

import streamlit as st

from citeline import gate
from citeline.answerers import llm
from citeline.config import Settings
from citeline.conversation import Turn
from citeline.errors import CitelineError
from citeline.pipeline import answer, get_engine
from citeline.render import esc, to_markdown
from citeline.store import Filters
from citeline.types import DOC_TYPES, Answer
from ingest.sync import add_upload

st.set_page_config(page_title="Citeline", page_icon="📑", layout="centered")


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


def sidebar(cfg: Settings) -> Filters:
    with st.sidebar:
        st.header("Citeline")
        st.radio(
            "Which best describes you?",
            ["clinician", "patient"],
            key="audience",
            format_func=lambda a: (
                "Healthcare professional" if a == "clinician" else "Patient or carer"
            ),
            horizontal=True,
        )
        if st.button("New conversation", key="new_conversation"):
            st.session_state.turns = []
            st.rerun()
        try:
            engine = get_engine(cfg)
            stats = engine.index.stats()
            facets = engine.index.facets()
        except CitelineError as exc:
            st.error(esc(str(exc)))
            return Filters()
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
        with st.expander("Filters"):
            types = st.multiselect("Document type", facets["types"], key="f_types")
            pubs = st.multiselect("Publisher", facets["publishers"], key="f_pubs")
            lo, hi = facets["year_min"], facets["year_max"]
            years = (lo, hi)
            if lo and hi and lo < hi:
                years = st.slider("Year", lo, hi, (lo, hi), key="f_years")
        upload(cfg)
        # Filled at the end of the run, so the answer just given is in the export too.
        st.session_state.export_slot = st.empty()
    return Filters(
        types=tuple(types),
        publishers=tuple(pubs),
        year_min=years[0] if years[0] != lo else None,
        year_max=years[1] if years[1] != hi else None,
    )


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
    with st.expander("Add a guideline"):
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
            for w in report.warnings:
                st.warning(esc(f"{f.name}: {w['warning']}"))
            if report.failed:
                st.error(esc(f"{f.name}: {report.failed[0]['error']}"))
            else:
                done = report.added or report.updated or report.unchanged
                st.success(
                    esc(f"Indexed {', '.join(done)} ({report.chunks} passages in the index).")
                )


def export(turns: list[dict[str, Any]]) -> str:
    parts = ["# Citeline conversation\n"]
    for t in turns:
        parts.append(f"## Question\n\n{t['question']}\n")
        parts.append(to_markdown(t["answer_obj"], heading_level=3) + "\n")
    return "\n".join(parts)


def show_answer(ans: Answer, i: int) -> None:
    for notice in ans.notices:
        (st.error if "crisis" in ans.flags and notice == ans.notices[0] else st.warning)(
            esc(notice)
        )
    if ans.standalone_query != ans.question:
        st.caption(f"Searched for: {esc(ans.standalone_query)}")
    if ans.refused:
        if ans.refusal_reason != "crisis":
            st.info(esc(ans.refusal_reason))
    else:
        cites = lambda ns: "".join(f"[{n}]" for n in ns)  # noqa: E731
        if ans.verdict:
            st.markdown(f"**{esc(ans.verdict.text)}** {cites(ans.verdict.citations)}")
        for section in ans.sections:
            st.markdown(f"#### {esc(section.heading)}")
            st.markdown("\n".join(f"- {esc(c.text)} {cites(c.citations)}" for c in section.claims))
        if ans.glossary:
            with st.expander("Terms explained"):
                st.markdown(
                    "\n".join(f"- **{esc(g['term'])}**: {esc(g['meaning'])}" for g in ans.glossary)
                )
        st.markdown("#### References")
        for r in ans.references:
            year = f", {r.year}" if r.year else ""
            where = " · ".join(x for x in (r.section, f"p. {r.page}" if r.page else "") if x)
            st.markdown(
                f"{r.n}. :blue-badge[{esc(r.type)}] **{esc(r.title)}**. "
                f"{esc(r.publisher)}{year}. _{esc(where)}_"
            )
            with st.expander(f"Source passage [{r.n}]"):
                st.markdown(highlight(r.passage, r.highlights))
                if r.url:
                    st.caption(esc(r.url))
        if ans.follow_ups:
            st.markdown("#### Follow-up questions")
            for j, q in enumerate(ans.follow_ups):
                if st.button(esc(q), key=f"fu-{i}-{j}"):  # labels render Markdown
                    st.session_state.pending = q
    st.caption(esc(ans.disclaimer))
    cols = st.columns([2, 2, 6])
    for col, (label, icon, value) in zip(
        cols,
        (("Helpful", ":material/thumb_up:", 1), ("Not helpful", ":material/thumb_down:", -1)),
        strict=False,
    ):
        if col.button(label, icon=icon, key=f"fb-{i}-{value}"):
            save_feedback(ans, value)
            st.toast("Thank you for the feedback.")


def highlight(passage: str, sentences: list[str]) -> str:
    text = esc(passage)
    for s in sentences:
        e = esc(s)
        if e in text:
            text = text.replace(e, f"**{e}**")
    return text


def save_feedback(ans: Answer, value: int) -> None:
    cfg = settings()
    path = cfg.home_path / "feedback.jsonl"
    record = {
        "time": time.time(),
        "question": ans.question,
        "standalone_query": ans.standalone_query,
        "rating": value,
        "cited": [r.doc_id for r in ans.references],
    }
    with path.open("a", encoding="utf-8") as f:
        f.write(json.dumps(record) + "\n")


def main() -> None:
    st.session_state.pop("export_slot", None)
    cfg = settings()
    if not password_gate(cfg):
        return
    st.session_state.setdefault("turns", [])
    filters = sidebar(cfg)
    st.title("Citeline")
    st.caption("Answers from clinical guidelines; every sentence is cited.")
    for i, t in enumerate(st.session_state.turns):
        with st.chat_message("user"):
            st.markdown(esc(t["question"]))
        with st.chat_message("assistant"):
            show_answer(t["answer_obj"], i)
    question = st.chat_input(
        "Ask about the guidelines, e.g. Is there a link between gut health and mental health?"
    ) or st.session_state.pop("pending", None)
    if not question:
        return
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
        status = st.status(
            "Searching the guidelines…"
            if cfg.llm == "none"
            else "Searching the guidelines, then drafting with the language model…",
            expanded=False,
        )
        draft = st.empty()  # LLM tokens stream here; the enforced answer replaces them
        tokens: list[str] = []

        def on_token(token: str) -> None:
            tokens.append(token)
            draft.markdown("_Draft, not yet checked against the sources:_ " + esc("".join(tokens)))

        try:
            ans = answer(
                question,
                history,
                cfg,
                audience=st.session_state.audience,
                filters=filters,
                on_token=on_token,
            )
        except CitelineError as exc:
            status.update(label="Failed", state="error")
            st.error(esc(str(exc)))
            return
        status.update(label="Done", state="complete")
        draft.empty()
        i = len(st.session_state.turns)
        st.session_state.turns.append({"question": question, "answer_obj": ans})
        show_answer(ans, i)


def export_button() -> None:
    slot = st.session_state.get("export_slot")
    if slot is not None and st.session_state.turns:
        slot.download_button(
            "Export conversation (Markdown)",
            export(st.session_state.turns),
            file_name="citeline-conversation.md",
            mime="text/markdown",
            key="export",
        )


main()
export_button()
