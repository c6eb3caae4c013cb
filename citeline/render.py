"""Answer -> Markdown text (CLI output and the app's conversation export)."""

from __future__ import annotations

import re

from citeline.types import Answer, Claim

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!<>|~$:])")


def esc(text: str) -> str:
    """Untrusted text made inert for st.markdown: Markdown and HTML characters are escaped."""
    return _MD_SPECIAL.sub(r"\\\1", text)


def cites(ns: list[int]) -> str:
    return "".join(f"[{n}]" for n in ns)


def claim_line(c: Claim, *, escape: bool = False) -> str:
    """A claim as shown: its lead-in in italics, apart from the quoted words, then the quote."""
    text = esc(c.text) if escape else c.text
    lead = esc(c.lead_in) if escape else c.lead_in
    return f"*{lead}* {text}" if c.lead_in else text


def to_markdown(ans: Answer, *, heading_level: int = 3) -> str:
    h = "#" * heading_level
    out: list[str] = []
    for notice in ans.notices:
        out.append(f"> **Notice:** {notice}\n")
    if ans.standalone_query and ans.standalone_query != ans.question:
        out.append(f"_Searched for: {ans.standalone_query}_\n")
    if ans.filters:
        shown = "; ".join(f"{k}: {v}" for k, v in ans.filters.items())
        out.append(f"_Filters: {shown}_\n")
    if ans.refused:
        if ans.refusal_reason and ans.refusal_reason != "crisis":
            out.append(ans.refusal_reason + "\n")
    else:
        if ans.not_given:
            out.append(f"**{ans.not_given}**\n")
        if ans.verdict:
            v = ans.verdict
            lead = f"*{v.lead_in}* " if v.lead_in else ""
            out.append(f"{lead}**{v.text}** {cites(v.citations)}\n")
        for section in ans.sections:
            out.append(f"{h} {section.heading}\n")
            out.extend(f"- {claim_line(c)} {cites(c.citations)}" for c in section.claims)
            out.append("")
        if ans.glossary:
            out.append(f"{h} Terms explained\n")
            out.extend(f"- **{g['term']}**: {g['meaning']}" for g in ans.glossary)
            out.append("")
        if ans.references:
            out.append(f"{h} References\n")
            for r in ans.references:
                where = ", ".join(x for x in (r.section, f"p. {r.page}" if r.page else "") if x)
                year = f", {r.year}" if r.year else ""
                url = f" <{r.url}>" if r.url else ""
                out.append(f"{r.n}. [{r.type}] {r.title}. {r.publisher}{year}. {where}.{url}")
            out.append("")
        if ans.follow_ups:
            out.append(f"{h} Follow-up questions\n")
            out.extend(f"- {q}" for q in ans.follow_ups)
            out.append("")
    out.append(f"{h} Disclaimer\n\n{ans.disclaimer}")
    return "\n".join(out)
