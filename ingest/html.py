"""HTML loader: the main text only (no scripts, styles, navigation), sections from headings."""

from __future__ import annotations

from typing import Any

from citeline.text import normalize
from ingest.backmatter import is_reference_heading
from ingest.document import Block

_DROP = (
    "script",
    "style",
    "noscript",
    "nav",
    "header",
    "footer",
    "aside",
    "form",
    "svg",
    "iframe",
    "template",
    "button",
    "select",
    "input",
    "link",
    "meta",
)
_TEXT = ("p", "li", "td", "th", "pre", "blockquote", "dd", "dt", "caption", "figcaption")
_HEADINGS = ("h1", "h2", "h3", "h4")
# A plain set: find_parent() builds a matcher per call, which made large pages slow.
_TEXT_SET = frozenset(_TEXT)


def parse_html(text: str) -> tuple[dict[str, Any], list[Block]]:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(text, "html.parser")
    title_tag = soup.find("title")
    meta: dict[str, Any] = {}
    if title_tag and title_tag.get_text(strip=True):
        meta["title"] = normalize(title_tag.get_text(" ", strip=True))
    if title_tag:  # metadata, not body text (a page without <body> would be its title alone)
        title_tag.decompose()
    for tag in soup.find_all(_DROP):
        tag.decompose()
    root = soup.find("main") or soup.find("article") or soup.body or soup
    blocks: list[Block] = []
    top, sub = "", ""
    buf: list[str] = []

    def flush() -> None:
        body = "\n\n".join(buf).strip()
        buf.clear()
        if body:
            t = top or meta.get("title") or "Introduction"
            blocks.append(Block(top=t, path=f"{t} > {sub}" if sub and sub != t else t, text=body))

    for el in root.find_all((*_HEADINGS, *_TEXT)):
        if any(p.name in _TEXT_SET for p in el.parents):
            continue  # its text is taken with the enclosing element
        words = normalize(el.get_text(" ", strip=True))
        if not words:
            continue
        if (
            el.name not in _HEADINGS
            and is_reference_heading(top)
            and (el.name == "caption" or el.find_parent("table") is not None)
        ):
            # Reports put their tables after the reference list, under no heading of their own
            # (MMWR): a table is content, not part of the "References" section that is dropped.
            flush()
            top, sub = "Tables", ""
        if el.name in _HEADINGS:
            flush()
            if el.name in ("h1", "h2"):
                top, sub = words, ""
                if el.name == "h1" and "title" not in meta:
                    meta["title"] = words
            else:
                sub = words
        else:
            buf.append(words)
    flush()
    if not blocks:  # pages without block tags: take all visible text
        body = normalize(root.get_text("\n", strip=True))
        if body:
            blocks.append(Block(top="Text", path="Text", text=body))
    return meta, blocks
