"""The Streamlit pieces of an answer and of the landing panel (app.py lays out the page).

Every text from a document or a question goes through citeline.render (esc() and the link
builders); nothing here renders raw HTML."""

from __future__ import annotations

import json
import time
from typing import Literal

import streamlit as st

from citeline import facets
from citeline.config import Settings
from citeline.pipeline import Engine
from citeline.render import (
    anchor,
    claim_line,
    esc,
    filters_text,
    highlight,
    linked_cites,
    passage_heading,
    reference_line,
)
from citeline.types import Answer

KINDS = {
    "Guideline": "guidelines",
    "Research": "research papers",
    "Review": "reviews",
    "Patient information": "patient information pages",
}
SHOWN = 300  # documents listed under "Browse the library"


def landing(engine: Engine) -> None:
    """What the index holds and three questions to start with (before the first question)."""
    docs = engine.index.documents()
    lib = facets.library(docs)
    st.markdown("## What is indexed")
    types = ", ".join(f"{n} {KINDS.get(t, t.lower())}" for t, n in lib.types.items())
    years = f"{lib.year_min}–{lib.year_max}" if lib.year_min else "years unknown"
    orgs = lib.organisations
    st.markdown(
        esc(f"{lib.documents} documents ({types}), {lib.passages} passages, published {years}, ")
        + esc(f"from {len(orgs)} publishers: ")
        + esc(", ".join(orgs[:6]) + (" and others." if len(orgs) > 6 else "."))
    )
    with st.expander("Browse the library"):
        rows = sorted(docs.values(), key=lambda r: (r.meta.type, -(r.meta.year or 0)))
        st.markdown(
            "\n".join(
                f"- :blue-badge[{esc(r.meta.type)}] **{esc(r.meta.title)}**\\. "
                f"{esc(facets.organisation(r.meta.publisher))}"
                + (f", {r.meta.year}" if r.meta.year else "")
                for r in rows[:SHOWN]
            )
            + (f"\n\nand {len(rows) - SHOWN} more." if len(rows) > SHOWN else "")
        )
    examples = facets.example_questions(docs)
    if examples:
        st.markdown("## Try asking")
        for j, q in enumerate(examples):
            st.button(esc(q), key=f"ex-{j}", on_click=ask_later, args=(q,))


def ask_later(question: str) -> None:
    st.session_state.pending = question


def show_answer(ans: Answer, i: int) -> None:
    for notice in ans.notices:
        (st.error if "crisis" in ans.flags and notice == ans.notices[0] else st.warning)(
            esc(notice)
        )
    if ans.standalone_query != ans.question:
        st.caption(f"Searched for: {esc(ans.standalone_query)}")
    if ans.filters:
        st.caption(f"Filters: {esc(filters_text(ans.filters))}")
    if ans.refused:
        if ans.refusal_reason != "crisis":
            st.info(esc(ans.refusal_reason))
    else:
        refs = {r.n: r for r in ans.references}
        if ans.not_given:
            st.markdown(f"**{esc(ans.not_given)}**")
        if ans.verdict:
            v = ans.verdict
            lead = f"*{esc(v.lead_in)}* " if v.lead_in else ""
            st.markdown(f"{lead}**{esc(v.text)}** {linked_cites(v, refs, i)}")
        for section in ans.sections:
            st.markdown(f"## {esc(section.heading)}")
            st.markdown(
                "\n".join(
                    f"- {claim_line(c, escape=True)} {linked_cites(c, refs, i)}"
                    for c in section.claims
                )
            )
        if ans.glossary:
            with st.expander("Terms explained"):
                st.markdown(
                    "\n".join(f"- **{esc(g['term'])}**: {esc(g['meaning'])}" for g in ans.glossary)
                )
        show_references(ans, i)
        if ans.follow_ups:
            st.markdown("## Follow-up questions")
            for j, q in enumerate(ans.follow_ups):
                # labels render Markdown
                st.button(esc(q), key=f"fu-{i}-{j}", on_click=ask_later, args=(q,))
    st.markdown(
        "## " + ("Professional disclaimer" if ans.audience == "clinician" else "Disclaimer")
    )
    st.markdown(esc(ans.disclaimer))
    feedback(ans, i)


def show_references(ans: Answer, i: int) -> None:
    """One entry per document (the target of its citations), then every passage behind one
    Sources control with the cited sentences highlighted."""
    st.markdown("## References")
    for r in ans.references:
        st.subheader(reference_line(r), anchor=anchor(i, r.n))
    count = sum(len(r.passages) for r in ans.references)
    docs = len(ans.references)
    label = f"Sources: {count} passage{'s' * (count != 1)} from {docs} document{'s' * (docs != 1)}"
    with st.expander(label):
        for r in ans.references:
            for p in r.passages:
                st.markdown(passage_heading(r, p))
                st.markdown(highlight(p.text, p.cited, mark=":orange-background[{}]"))


def feedback(ans: Answer, i: int) -> None:
    """Helpful / not helpful, saved locally; the choice made stays visible."""
    chosen = st.session_state.setdefault("feedback", {}).get(i)
    cols = st.columns([2, 2, 6])
    for col, (label, icon, value) in zip(
        cols,
        (("Helpful", ":material/thumb_up:", 1), ("Not helpful", ":material/thumb_down:", -1)),
        strict=False,
    ):
        kind: Literal["primary", "secondary"] = "primary" if chosen == value else "secondary"
        # A callback runs before the page is drawn again, so the run after the click shows it.
        col.button(
            label,
            icon=icon,
            key=f"fb-{i}-{value}",
            type=kind,
            on_click=choose,
            args=(ans, i, value),
        )
    if chosen is not None:
        cols[2].caption(
            f"You marked this answer {'helpful' if chosen == 1 else 'not helpful'}. Thank you."
        )


def choose(ans: Answer, i: int, value: int) -> None:
    """Record a feedback click (once per change of mind)."""
    if st.session_state.setdefault("feedback", {}).get(i) != value:
        save_feedback(ans, value)
        st.session_state.feedback[i] = value


def save_feedback(ans: Answer, value: int) -> None:
    cfg = Settings.from_env()
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
