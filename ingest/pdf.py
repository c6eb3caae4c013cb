"""PDF loader: text per page (so citations can give a page), sections from the PDF outline."""

from __future__ import annotations

import io
import logging
import re
from collections import Counter
from typing import Any

from citeline.errors import LoaderError
from citeline.text import normalize
from ingest.loaders import Block

logging.getLogger("pypdf").setLevel(logging.ERROR)


def _outline_pages(reader: Any) -> dict[int, tuple[str, str]]:
    """Page index -> (top-level outline title, deepest outline title) where the outline starts."""
    starts: list[tuple[int, int, str]] = []

    def walk(items: list[Any], depth: int) -> None:
        for item in items:
            if isinstance(item, list):
                walk(item, depth + 1)
                continue
            try:
                page = reader.get_destination_page_number(item)
            except Exception:  # a broken outline entry is not worth failing the file for
                continue
            title = normalize(str(getattr(item, "title", "") or ""))
            if title and page is not None and page >= 0:
                starts.append((page, depth, title))

    try:
        walk(reader.outline, 0)
    except Exception:
        return {}
    starts.sort(key=lambda t: (t[0], t[1]))
    out: dict[int, tuple[str, str]] = {}
    top, deep = "", ""
    by_page: dict[int, list[tuple[int, str]]] = {}
    for page, depth, title in starts:
        by_page.setdefault(page, []).append((depth, title))
    for page in range(len(reader.pages)):
        for depth, title in by_page.get(page, []):
            if depth == 0:
                top, deep = title, title
            else:
                deep = title
        if top:
            out[page] = (top, deep)
    return out


def _line_key(line: str) -> str:
    return re.sub(r"\d+", "#", line.strip().lower())


def _running_lines(pages: list[str]) -> set[str]:
    """Running headers and footers: lines (numbers ignored) on at least 30% of the pages."""
    if len(pages) < 4:
        return set()
    counts: Counter[str] = Counter()
    for p in pages:
        counts.update({k for ln in p.splitlines() if (k := _line_key(ln))})
    return {k for k, n in counts.items() if n >= 0.3 * len(pages) and len(k) < 200}


def parse_pdf(raw: bytes) -> tuple[dict[str, Any], list[Block]]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(raw), strict=False)
        if reader.is_encrypted:
            try:
                if not reader.decrypt(""):
                    raise LoaderError("encrypted PDF (a password is needed)")
            except LoaderError:
                raise
            except Exception:
                raise LoaderError("encrypted PDF (a password is needed)") from None
        n_pages = len(reader.pages)
    except LoaderError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise LoaderError(f"corrupt PDF ({exc.__class__.__name__}: {str(exc)[:80]})") from None
    except Exception as exc:
        raise LoaderError(f"unreadable PDF ({exc.__class__.__name__})") from None
    if n_pages == 0:
        raise LoaderError("PDF has no pages")
    sections = _outline_pages(reader)
    texts: list[str] = []
    for i, page in enumerate(reader.pages):
        try:
            # U+FFFD stands for glyphs pypdf could not map (a broken font): not text to cite.
            raw_text = (page.extract_text() or "").replace("\r", "\n").replace("\ufffd", "")
            texts.append(normalize(raw_text))
        except Exception as exc:
            raise LoaderError(
                f"cannot extract text from page {i + 1} ({exc.__class__.__name__})"
            ) from None
    running = _running_lines(texts)
    blocks: list[Block] = []
    for i, raw_text in enumerate(texts):
        lines = [ln for ln in raw_text.splitlines() if _line_key(ln) not in running]
        text = "\n".join(lines).replace(" \n", "\n")
        if not text.strip():
            continue
        top, deep = sections.get(i, (f"Page {i + 1}", f"Page {i + 1}"))
        path = top if deep == top else f"{top} > {deep}"
        blocks.append(Block(top=top, path=path, text=text, page=i + 1))
    meta: dict[str, Any] = {}
    try:
        info = reader.metadata
        if info is not None and info.title and len(str(info.title).strip()) > 3:
            meta["title"] = normalize(str(info.title))
    except Exception:
        pass
    return meta, blocks
