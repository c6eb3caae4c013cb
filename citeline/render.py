"""Answer -> Markdown: the CLI's output, the app's pieces (linked citations, reference lines,
highlighted passages) and the conversation export. Pure functions, no framework.

Every text that comes from a document or a question goes through `esc()` (app) or `inert()`
(export) first; the only links built are the `#ref-...` anchors of citations and the reference
URLs that `safe_url()` accepts."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from urllib.parse import quote, urlsplit

from citeline.types import Answer, CitedPassage, Claim, Reference

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!<>|~$:])")
_INERT = re.compile(r"([\\<>\[\]])")
_DOI = re.compile(r"^(?:https?://(?:dx\.)?doi\.org/|doi:)(10\.\d{4,9}/\S+)$", re.IGNORECASE)
# Characters kept as they are in a link target; anything else (spaces, quotes, parentheses,
# angle brackets, backslashes, non-ASCII) is percent-encoded so it cannot end the target.
_URL_SAFE = "-._~:/?#@!$&+,;=%"
# GFM turns "https://...", "www.x" and "a@b.c" in plain text into links after parsing, so
# escaping cannot stop it: a word joiner (U+2060, invisible) after "scheme:", after "www" and
# after "@" breaks each pattern.
_AUTOLINK = re.compile(r"(?<=:)(?=//)|(?<=\bwww)(?=\\?\.)|(?<=@)", re.IGNORECASE)
WORD_JOINER = "\u2060"


def esc(text: str) -> str:
    """Untrusted text made inert for st.markdown: Markdown and HTML characters are escaped,
    and nothing in it can become a link (see _AUTOLINK)."""
    return _AUTOLINK.sub(WORD_JOINER, _MD_SPECIAL.sub(r"\\\1", text))


def esc_title(text: str) -> str:
    """Untrusted text for a Markdown link title ("..."): one line, quotes and entities literal."""
    return esc(re.sub(r"\s+", " ", text).strip()).replace('"', '\\"').replace("&", "\\&")


def inert(text: str) -> str:
    """Untrusted text for the exported Markdown file: no HTML tag, autolink or link syntax."""
    return _AUTOLINK.sub(WORD_JOINER, _INERT.sub(r"\\\1", text))


def safe_url(url: str) -> str:
    """`url` as a link target when it is a plain http(s) URL with a host, else ''."""
    url = (url or "").strip()
    if not url or any(ch.isspace() or ord(ch) < 32 for ch in url):
        return ""
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return ""
    if "@" in parts.netloc:  # user:password@host hides the real host from the reader
        return ""
    return quote(url, safe=_URL_SAFE)


def doi(url: str) -> str:
    """The DOI a doi.org URL (or "doi:...") names, else ''."""
    m = _DOI.match((url or "").strip())
    return m.group(1) if m else ""


def link_of(r: Reference) -> tuple[str, str]:
    """(target, label) of a reference's link: its DOI or its URL's host; ('', '') for none."""
    target = safe_url(r.url)
    if not target:
        return "", ""
    if d := doi(r.url):
        return target, f"doi:{d}"
    host = (urlsplit(target).hostname or "").removeprefix("www.")
    return target, host


def cites(ns: list[int]) -> str:
    return "".join(f"[{n}]" for n in ns)


def filters_text(filters: Mapping[str, object]) -> str:
    """The active filters as one line ("year: 2020–…; type: Guideline"), '' when none."""
    return "; ".join(f"{k}: {v}" for k, v in filters.items())


def claim_line(c: Claim, *, escape: bool = False) -> str:
    """A claim as shown: its lead-in in italics, apart from the quoted words, then the quote."""
    text = esc(c.text) if escape else c.text
    lead = esc(c.lead_in) if escape else c.lead_in
    return f"*{lead}* {text}" if c.lead_in else text


def anchor(turn: int, n: int) -> str:
    """The id of reference `n` of answer `turn` on the page."""
    return f"ref-{turn}-{n}"


def cite_title(claim: Claim, ref: Reference | None, n: int) -> str:
    """What hovering over citation [n] of a claim shows: the sentence it rests on, and where."""
    said = " … ".join(claim.sources.get(n, []))
    if ref is None:
        return f"“{said}”" if said else ""
    where = ref.title + (f", {'; '.join(ref.locations)}" if ref.locations else "")
    return f"“{said}” ({where})" if said else where


def linked_cites(claim: Claim, refs: Mapping[int, Reference], turn: int) -> str:
    """The claim's citations as links to its references' entries, each titled with the
    sentence it rests on."""
    out = []
    for n in claim.citations:
        title = esc_title(cite_title(claim, refs.get(n), n))
        out.append(f'[\\[{n}\\]](#{anchor(turn, n)} "{title}")')
    return "".join(out)


def year_of(r: Reference) -> str:
    return f", {r.year}" if r.year else ""


def reference_line(r: Reference) -> str:
    """App Markdown of one reference entry: type, title, publisher, year, where it was cited
    from, and its DOI or URL as a link."""
    where = "; ".join(r.locations)
    target, label = link_of(r)
    link = f" [{esc(label)}]({target})" if target else ""
    cited = f" Cited from {esc(where)}." if where else ""
    return (
        f"{r.n}\\. :blue-badge[{esc(r.type)}] **{esc(r.title)}**\\. "
        f"{esc(r.publisher)}{esc(year_of(r))}\\.{cited}{link}"
    )


def highlight(text: str, sentences: Sequence[str], mark: str = "**{}**") -> str:
    """`text` escaped for st.markdown with each of `sentences` in it marked (white space may
    differ: sentences are stored with runs of white space collapsed)."""
    spans: list[tuple[int, int]] = []
    for s in sentences:
        tokens = s.split()
        if not tokens:
            continue
        m = re.search(r"\s+".join(map(re.escape, tokens)), text)
        if m:
            spans.append(m.span())
    out, pos = [], 0
    for start, end in sorted(spans):
        if start < pos:  # overlaps the previous mark: extend it
            start = pos
        if end <= start:
            continue
        out.append(esc(text[pos:start]))
        out.append(mark.format(esc(re.sub(r"\s+", " ", text[start:end]))))
        pos = end
    out.append(esc(text[pos:]))
    return "".join(out)


def passage_heading(r: Reference, p: CitedPassage) -> str:
    return f"**\\[{r.n}\\] {esc(r.title)}**" + (f" · {esc(p.location)}" if p.location else "")


# -- plain Markdown: CLI output and the conversation export ----------------------------------


def _claim_md(
    c: Claim, labels: Mapping[int, str], clean: Callable[[str], str], *, bold: bool = False
) -> str:
    """A claim with its lead-in (italics, apart from the quoted words) and its citations."""
    marks = "".join(f"[[{n}]][{labels[n]}]" if n in labels else f"[{n}]" for n in c.citations)
    text = f"**{clean(c.text)}**" if bold else clean(c.text)
    lead = f"*{clean(c.lead_in)}* " if c.lead_in else ""
    return f"{lead}{text} {marks}"


def to_markdown(ans: Answer, *, heading_level: int = 3, link_prefix: str | None = None) -> str:
    """The answer as Markdown. With `link_prefix` (the export), citations are reference-style
    links (`[[1]][PREFIX1]`, defined after the references) to the reference's DOI or URL, and
    document text cannot form tags or links; without it (the CLI), citations are plain [n]."""
    h = "#" * heading_level
    clean: Callable[[str], str] = inert if link_prefix is not None else str
    labels = {
        r.n: f"{link_prefix}{r.n}"
        for r in ans.references
        if link_prefix is not None and link_of(r)[0]
    }
    out: list[str] = []
    for notice in ans.notices:
        out.append(f"> **Notice:** {notice}\n")
    if ans.standalone_query and ans.standalone_query != ans.question:
        out.append(f"_Searched for: {clean(ans.standalone_query)}_\n")
    if ans.filters:
        out.append(f"_Filters: {clean(filters_text(ans.filters))}_\n")
    if ans.refused:
        if ans.refusal_reason and ans.refusal_reason != "crisis":
            out.append(clean(ans.refusal_reason) + "\n")
    else:
        if ans.not_given:
            out.append(f"**{ans.not_given}**\n")
        if ans.verdict:
            out.append(f"{_claim_md(ans.verdict, labels, clean, bold=True)}\n")
        for section in ans.sections:
            out.append(f"{h} {section.heading}\n")
            out.extend(f"- {_claim_md(c, labels, clean)}" for c in section.claims)
            out.append("")
        if ans.glossary:
            out.append(f"{h} Terms explained\n")
            out.extend(f"- **{clean(g['term'])}**: {clean(g['meaning'])}" for g in ans.glossary)
            out.append("")
        if ans.references:
            out.extend(_references_md(ans.references, h, labels, clean))
        if ans.follow_ups:
            out.append(f"{h} Follow-up questions\n")
            out.extend(f"- {clean(q)}" for q in ans.follow_ups)
            out.append("")
    heading = "Professional disclaimer" if ans.audience == "clinician" else "Disclaimer"
    out.append(f"{h} {heading}\n\n{ans.disclaimer}")
    return "\n".join(out)


def _references_md(
    refs: Sequence[Reference], h: str, labels: Mapping[int, str], clean: Callable[[str], str]
) -> list[str]:
    out = [f"{h} References\n"]
    for r in refs:
        where = "; ".join(r.locations)
        target, label = link_of(r)
        link = f" {label} <{target}>" if target and label.startswith("doi:") else ""
        link = link or (f" <{target}>" if target else "")
        out.append(
            f"{r.n}. [{clean(r.type)}] {clean(r.title)}. {clean(r.publisher)}{year_of(r)}."
            + (f" Cited from {clean(where)}." if where else "")
            + link
        )
    out.append("")
    for r in refs:
        if r.n in labels:
            title = re.sub(r"\s+", " ", r.title).replace("\\", "\\\\").replace('"', '\\"')
            out.append(f'[{labels[r.n]}]: {link_of(r)[0]} "{title}"')
    if labels:
        out.append("")
    return out


def conversation_markdown(
    header: Mapping[str, str], turns: Sequence[tuple[str, Mapping[str, str], Answer]]
) -> str:
    """The exported conversation: a header (when, audience, filters, index, answerer), then
    each question with what it was asked under and its answer, citations as reference-style
    links (labels q1-1, q1-2, ... per question, so numbers never clash across answers)."""
    out = ["# Citeline conversation\n"]
    out += [f"- {k}: {inert(v)}" for k, v in header.items()]
    out.append("")
    for k, (question, meta, ans) in enumerate(turns, start=1):
        out.append(f"## Question {k}\n\n{inert(question)}\n")
        out.append("_" + " · ".join(f"{key}: {inert(v)}" for key, v in meta.items()) + "_\n")
        out.append(to_markdown(ans, heading_level=3, link_prefix=f"q{k}-") + "\n")
    return "\n".join(out)
