"""Loaders: a file in, a ParsedDocument (metadata + section blocks) out, or a LoaderError saying why."""

from __future__ import annotations

import codecs
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from citeline.errors import LoaderError
from citeline.text import normalize
from citeline.types import DOC_TYPES, DocMeta
from ingest.document import Block, ParsedDocument
from ingest.html import parse_html
from ingest.pdf import PARSER_VERSION, parse_pdf

# Size limits: larger files are refused before they are read, so memory stays bounded. 10 MB of
# text is ~1.5 million words, about 30 times the longest guideline we have seen (the 100-page CDC
# opioid guideline is ~77,000 words); PDFs carry images, so they get more room.
MAX_TEXT_BYTES = 10 * 1024 * 1024
MAX_PDF_BYTES = 100 * 1024 * 1024
_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*(?:\n|\Z)", re.DOTALL)
_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")


def slug(text: str) -> str:
    s = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return s[:80] or "document"


def load(path: Path, overrides: dict[str, Any] | None = None) -> ParsedDocument:
    """Parse one file. Metadata precedence: overrides > sidecar NAME.meta.yaml > front matter >
    the file's own metadata > first heading and file name."""
    try:
        return _load(path, overrides)
    except LoaderError:
        raise
    except Exception as exc:  # a parser bug costs this file, never the whole ingest run
        detail = " ".join(str(exc).split())[:120]
        raise LoaderError(
            f"unexpected error while reading ({exc.__class__.__name__}: {detail})"
        ) from None


def _load(path: Path, overrides: dict[str, Any] | None) -> ParsedDocument:
    suffix = path.suffix.lower()
    fmt = format_for(suffix)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise LoaderError(f"cannot read: {exc.strerror}") from exc
    if size == 0:
        raise LoaderError("empty file (0 bytes)")
    if size > fmt.max_bytes:
        raise LoaderError(
            f"file too large ({size / 2**20:.0f} MB; the limit is {fmt.max_bytes // 2**20} MB)"
        )
    try:
        raw = path.read_bytes()
    except OSError as exc:  # a folder named x.md, a file gone since it was listed
        raise LoaderError(f"cannot read: {exc.strerror}") from None
    raw_hash = hashlib.sha256(raw).hexdigest()
    file_meta, front, blocks = fmt.read(raw)
    parser = fmt.version  # a parser version in the hash re-ingests files when their reading changes
    # Letters or digits, as chunking needs them: "#", "---" or "..." alone is not text.
    if not any(ch.isalnum() for b in blocks for ch in b.text):
        raise LoaderError("no extractable text (scanned or empty document?)")

    sidecar = _sidecar(path)
    merged: dict[str, Any] = {**file_meta, **front, **sidecar, **(overrides or {})}
    meta = make_meta(merged, path)
    # The hash covers metadata too, so a changed sidecar re-ingests the document.
    content_hash = hashlib.sha256(
        (raw_hash + parser + repr(sorted(merged.items()))).encode()
    ).hexdigest()
    return ParsedDocument(meta, blocks, content_hash, raw_hash)


# Byte-order marks of the UTF-16 and UTF-32 encodings (UTF-32 first: its LE mark starts with
# the UTF-16 LE one). Such files are full of NUL bytes, so they are decoded before the binary check.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Control characters (terminal escapes) become spaces; invisible format characters (soft
# hyphen, zero-width space and joiners, bidi overrides that can show text in another order than
# it is read) vanish. Newlines and tabs stay.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_FORMAT = re.compile("[\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")


def _visible(text: str) -> str:
    return _FORMAT.sub("", _CONTROL.sub(" ", text))


def _decode(raw: bytes) -> str:
    """Text of a text file (UTF-8, UTF-16/32 with a byte-order mark, else Windows-1252 or
    Latin-1), without control or invisible format characters."""
    for bom, codec in _BOMS:
        if raw.startswith(bom):
            try:
                return _visible(raw.decode(codec))
            except UnicodeDecodeError:
                raise LoaderError(f"not text: invalid {codec.upper()}") from None
    if b"\x00" in raw[:8192]:
        raise LoaderError("binary content in a text file")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = raw.decode("cp1252")  # Windows "smart quotes" and dashes
        except UnicodeDecodeError:
            text = raw.decode("latin-1")
        printable = sum(ch.isprintable() or ch in "\n\r\t" for ch in text[:8192])
        if printable < 0.95 * min(len(text), 8192):
            raise LoaderError("not text: undecodable bytes") from None
    return _visible(text)


class _MetaLoader(yaml.SafeLoader):
    """safe_load without aliases: `*name` references let a few hundred bytes expand into
    billions of values (the "billion laughs"), and metadata never needs them."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, "aliases (*name) are not allowed", event.start_mark
            )
        return super().compose_node(parent, index)


def _load_meta(text: str) -> Any:
    return yaml.load(text, Loader=_MetaLoader)  # a SafeLoader: plain data, no Python objects


def _check_mapping(data: Any, what: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise LoaderError(f"{what} is not a mapping of keys to values")
    if not all(isinstance(k, str) for k in data):
        raise LoaderError(f"{what} has a key that is not a name (e.g. a number)")
    return data


def split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    m = _FRONT_MATTER.match(text)
    if not m:
        if re.match(r"---[ \t]*\r?\n", text):
            raise LoaderError("front matter is not closed (no line --- after it)")
        return {}, text
    try:
        data = _load_meta(m.group(1)) or {}
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        where = f" (line {line + 2})" if line is not None else ""
        problem = getattr(exc, "problem", None)
        raise LoaderError(
            f"broken YAML front matter{where}" + (f": {problem}" if problem else "")
        ) from None
    return _check_mapping(data, "front matter"), text[m.end() :]


def _sidecar(path: Path) -> dict[str, Any]:
    side = path.with_name(path.stem + ".meta.yaml")
    if not side.exists():
        return {}
    try:
        data = _load_meta(side.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError, OSError) as exc:
        raise LoaderError(f"broken sidecar {side.name}: {exc.__class__.__name__}") from None
    return _check_mapping(data, f"sidecar {side.name}")


def make_meta(data: dict[str, Any], path: Path) -> DocMeta:
    title = str(data.get("title") or path.stem.replace("_", " ").replace("-", " "))
    doc_type = str(data.get("type") or "Guideline")
    if doc_type not in DOC_TYPES:
        raise LoaderError(f"type {doc_type!r} is not one of {', '.join(DOC_TYPES)}")
    year = data.get("year")
    try:
        year = int(str(year)[:4]) if year not in (None, "") else None
    except ValueError:
        raise LoaderError(f"year {year!r} is not a year") from None
    return DocMeta(
        doc_id=str(data.get("id") or slug(path.stem)),
        title=normalize(title)[:300],
        publisher=normalize(str(data.get("publisher") or "")),
        year=year,
        type=doc_type,
        url=str(data.get("url") or ""),
        audience=str(data.get("audience") or "all"),
        source_path=str(path),
    )


def _looks_like_markdown(text: str) -> bool:
    return any(_HEADING.match(line) for line in text.splitlines()[:200])


def parse_markdown(text: str) -> list[Block]:
    """Blocks by heading. The document title (a lone level-1 heading) is not a section; the
    top-level sections are the highest heading level below it."""
    lines = text.splitlines()
    headings = [(len(m.group(1)), m.group(2)) for ln in lines if (m := _HEADING.match(ln))]
    levels = sorted({lvl for lvl, _ in headings})
    title_level = 1 if sum(1 for lvl, _ in headings if lvl == 1) == 1 and len(levels) > 1 else None
    top_level = next((lvl for lvl in levels if lvl != title_level), 2)
    blocks: list[Block] = []
    stack: list[tuple[int, str]] = []
    buf: list[str] = []

    def flush() -> None:
        body = "\n".join(buf).strip()
        buf.clear()
        if body:
            path = " > ".join(h for lvl, h in stack if lvl != title_level)
            top = next((h for lvl, h in stack if lvl == top_level), path or "Introduction")
            blocks.append(Block(top=top or "Introduction", path=path or "Introduction", text=body))

    for ln in lines:
        m = _HEADING.match(ln)
        if m:
            flush()
            lvl, heading = len(m.group(1)), normalize(m.group(2))
            while stack and stack[-1][0] >= lvl:
                stack.pop()
            stack.append((lvl, heading))
        else:
            buf.append(ln)
    flush()
    return blocks


def parse_plain(text: str) -> list[Block]:
    """Plain text: one section; paragraphs kept."""
    body = text.strip()
    return [Block(top="Text", path="Text", text=body)] if body else []


# -- format parsers, registered by suffix -------------------------------------------------------
Reader = Callable[[bytes], tuple[dict[str, Any], dict[str, Any], list[Block]]]


@dataclass(frozen=True)
class Format:
    """How one kind of file is read: bytes in, (file metadata, front matter, blocks) out."""

    read: Reader
    max_bytes: int = MAX_TEXT_BYTES
    version: str = ""  # in the content hash: a new version re-ingests the files it reads


def _text_reader(markdown: bool) -> Reader:
    def read(raw: bytes) -> tuple[dict[str, Any], dict[str, Any], list[Block]]:
        front, body = split_front_matter(_decode(raw))
        first = next((m.group(2) for ln in body.splitlines() if (m := _HEADING.match(ln))), "")
        file_meta = {"title": normalize(first)} if first else {}
        as_markdown = markdown or _looks_like_markdown(body)
        return file_meta, front, parse_markdown(body) if as_markdown else parse_plain(body)

    return read


def _read_pdf(raw: bytes) -> tuple[dict[str, Any], dict[str, Any], list[Block]]:
    file_meta, blocks = parse_pdf(raw)
    return file_meta, {}, blocks


def _read_html(raw: bytes) -> tuple[dict[str, Any], dict[str, Any], list[Block]]:
    file_meta, blocks = parse_html(_decode(raw))
    return file_meta, {}, blocks


_MARKDOWN = Format(_text_reader(markdown=True))
_HTML = Format(_read_html)
FORMATS: dict[str, Format] = {
    ".md": _MARKDOWN,
    ".markdown": _MARKDOWN,
    ".txt": Format(_text_reader(markdown=False)),
    ".pdf": Format(_read_pdf, MAX_PDF_BYTES, PARSER_VERSION),
    ".html": _HTML,
    ".htm": _HTML,
}
SUPPORTED = tuple(FORMATS)


def format_for(suffix: str) -> Format:
    """The parser of a file suffix (LoaderError naming the supported ones for any other)."""
    fmt = FORMATS.get(suffix.lower())
    if fmt is None:
        raise LoaderError(
            f"unsupported file type {suffix or '(none)'}; use one of {', '.join(SUPPORTED)}"
        )
    return fmt
