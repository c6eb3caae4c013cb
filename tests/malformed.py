"""A zoo of malformed input files, each with the outcome ingest must give, and the seeds and
PDF builder the fuzz tests mutate. PDFs are written by pypdf (a real PDF writer) and then, for
the broken ones, damaged at the byte level the way real files get damaged."""

from __future__ import annotations

import io
import os
import re
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

FRONT = "---\nid: {id}\ntitle: Zoo {id}\npublisher: Zoo Society\nyear: 2024\n---\n"


def text_pdf(
    pages: list[list[str]], title: str | None = None, outline: list[tuple[str, int]] = ()
) -> bytes:  # type: ignore[assignment]
    """A PDF with real text (Helvetica, one line per string) written by pypdf."""
    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    w = PdfWriter()
    font = w._add_object(
        DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Font"),
                NameObject("/Subtype"): NameObject("/Type1"),
                NameObject("/BaseFont"): NameObject("/Helvetica"),
            }
        )
    )
    for lines in pages:
        page = w.add_blank_page(width=612, height=792)
        ops = ["BT /F1 11 Tf 14 TL 72 720 Td"]
        for ln in lines:
            esc = ln.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
            ops.append(f"({esc}) Tj T*")
        ops.append("ET")
        stream = DecodedStreamObject()
        stream.set_data("\n".join(ops).encode("latin-1"))
        page[NameObject("/Contents")] = w._add_object(stream)
        page[NameObject("/Resources")] = DictionaryObject(
            {NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})}
        )
    if title:
        w.add_metadata({"/Title": title})
    for name, page_number in outline:
        w.add_outline_item(title=name, page_number=page_number)
    return _dump(w)


def _dump(w) -> bytes:  # type: ignore[no-untyped-def]
    buf = io.BytesIO()
    w.write(buf)
    return buf.getvalue()


def _edit(data: bytes, change: Callable) -> bytes:  # type: ignore[type-arg]
    """Rewrite a PDF with pypdf after `change(writer)` (structural damage a writer allows)."""
    from pypdf import PdfReader, PdfWriter

    w = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    change(w)
    return _dump(w)


def good_pdf() -> bytes:
    return text_pdf(
        [
            ["Zoo recommendations for gut health.", "Eat fibre daily (25 g or more)."],
            ["Second page of zoo guidance text here."],
        ],
        title="Zoo PDF",
        outline=[("Recommendations", 0), ("More", 1)],
    )


def _xref_loop(good: bytes) -> bytes:
    """An incremental update whose /Prev points at itself: a naive reader loops forever."""
    root = re.search(rb"/Root (\d+ 0 R)", good)
    size = re.search(rb"/Size (\d+)", good)
    assert root and size
    x = len(good)
    return good + (
        b"xref\n0 0\ntrailer\n<< /Size %s /Root %s /Prev %d >>\nstartxref\n%d\n%%%%EOF\n"
        % (size.group(1), root.group(1), x, x)
    )


def _count_bomb(w) -> None:  # type: ignore[no-untyped-def]
    from pypdf.generic import NameObject, NumberObject

    w._root_object["/Pages"][NameObject("/Count")] = NumberObject(10**9)


def _page_tree_loop(w) -> None:  # type: ignore[no-untyped-def]
    pages = w._root_object["/Pages"]
    pages["/Kids"].append(pages.indirect_reference)


def _flate_stream(w, data: bytes) -> None:  # type: ignore[no-untyped-def]
    from pypdf.generic import NameObject, StreamObject

    s = StreamObject()
    s._data = data
    s[NameObject("/Filter")] = NameObject("/FlateDecode")
    w.pages[0][NameObject("/Contents")] = w._add_object(s)


def _outline_loop(w) -> None:  # type: ignore[no-untyped-def]
    from pypdf.generic import NameObject

    a = w.add_outline_item(title="A", page_number=0)
    b = w.add_outline_item(title="B", page_number=1)
    b.get_object()[NameObject("/Next")] = a
    a.get_object()[NameObject("/Prev")] = b


def _blank_pages(n: int) -> bytes:
    from pypdf import PdfWriter

    w = PdfWriter()
    for _ in range(n):
        w.add_blank_page(width=100, height=100)
    return _dump(w)


def _encrypted(good: bytes, user: str) -> bytes:
    from pypdf import PdfReader, PdfWriter

    w = PdfWriter(clone_from=PdfReader(io.BytesIO(good)))
    w.encrypt(user_password=user, owner_password="owner", algorithm="RC4-128")
    return _dump(w)


def _bogus_object_stream() -> bytes:
    """A PDF 1.5 with an xref stream whose font lives in an object stream with a bogus /N and
    /First (pypdf cannot write a broken object stream, so the bytes are laid out by hand)."""
    parts = [b"%PDF-1.5\n%\xe2\xe3\xcf\xd3\n"]
    offs: dict[int, int] = {}

    def obj(num: int, body: bytes) -> None:
        offs[num] = sum(len(p) for p in parts)
        parts.append(b"%d 0 obj\n" % num + body + b"\nendobj\n")

    def stream(extra: bytes, data: bytes) -> bytes:
        return b"<< " + extra + b" /Length %d >>\nstream\n" % len(data) + data + b"\nendstream"

    obj(1, b"<< /Type /Catalog /Pages 2 0 R >>")
    obj(2, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>")
    obj(
        3,
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
    )
    obj(4, stream(b"", b"BT /F1 12 Tf 72 720 Td (Object stream text here.) Tj ET"))
    inner = b"5 0 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"
    obj(6, stream(b"/Type /ObjStm /N 1000000 /First 99999999", inner))
    xref_at = sum(len(p) for p in parts)
    rows = [b"\x00" + struct.pack(">I", 0) + b"\xff\xff"]
    for i in range(1, 8):
        if i == 5:  # object 5 is entry 0 of object stream 6
            rows.append(b"\x02" + struct.pack(">I", 6) + struct.pack(">H", 0))
        else:
            rows.append(b"\x01" + struct.pack(">I", xref_at if i == 7 else offs[i]) + b"\x00\x00")
    xref = stream(b"/Type /XRef /Size 8 /W [1 4 2] /Root 1 0 R", b"".join(rows))
    parts.append(b"7 0 obj\n" + xref + b"\nendobj\n")
    parts.append(b"startxref\n%d\n%%%%EOF\n" % xref_at)
    return b"".join(parts)


@dataclass(frozen=True)
class Case:
    """One zoo file: `build(folder)` writes it; `error` is a substring of the one-line reason it
    must fail with, or None when ingest must accept it (and `doc_id` is the document it gives)."""

    name: str
    build: Callable[[Path], None]
    error: str | None = None
    doc_id: str | None = None
    what: str = ""


def _bytes(name: str, data: bytes | Callable[[], bytes]) -> Callable[[Path], None]:
    def build(folder: Path) -> None:
        (folder / name).write_bytes(data() if callable(data) else data)

    return build


def _text(name: str, text: str, encoding: str = "utf-8") -> Callable[[Path], None]:
    return _bytes(name, text.encode(encoding))


def _symlink(name: str, target: str) -> Callable[[Path], None]:
    def build(folder: Path) -> None:
        os.symlink(target, folder / name)

    return build


def _dir_named_md(folder: Path) -> None:
    (folder / "folder.md").mkdir()
    (folder / "folder.md" / "inside.md").write_text(
        FRONT.format(id="zoo-inside") + "# Inside\n\nA file inside a folder named folder.md.\n"
    )


def _dir_loop(folder: Path) -> None:
    (folder / "sub").mkdir()
    os.symlink("..", folder / "sub" / "up")


def _bad_sidecar(folder: Path) -> None:
    (folder / "sidecar.md").write_text("# Sidecar\n\nThe body is fine; its sidecar is not.\n")
    (folder / "sidecar.meta.yaml").write_text("a: &a [x, x]\nb: &b [*a, *a]\ntitle: *b\n")


def _billion_laughs() -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(8):
        prev, cur = chr(97 + i), chr(98 + i)
        lines.append(f"{cur}: &{cur} [{', '.join([f'*{prev}'] * 9)}]")
    return "---\n" + "\n".join(lines) + "\ntitle: *i\n---\n# Laughs\n\nBody text.\n"


def zoo() -> list[Case]:
    good = good_pdf()
    md = FRONT + "# Zoo {id}\n\n## Advice\n\n{body}\n"
    return [
        # --- PDF ---------------------------------------------------------------------------
        Case("truncated.pdf", _bytes("truncated.pdf", good[: len(good) // 2]), "PDF"),
        Case("xref-loop.pdf", _bytes("xref-loop.pdf", _xref_loop(good)), None, "xref-loop"),
        Case(
            "bad-startxref.pdf",
            _bytes("bad-startxref.pdf", re.sub(rb"startxref\s+\d+", b"startxref\n99999999", good)),
            None,
            "bad-startxref",
            "xref rebuilt by scanning",
        ),
        Case("no-xref.pdf", _bytes("no-xref.pdf", good[: good.rfind(b"xref")]), "corrupt PDF"),
        Case("header-only.pdf", _bytes("header-only.pdf", b"%PDF-1.7\n%%EOF\n"), "corrupt PDF"),
        Case("html-named.pdf", _bytes("html-named.pdf", b"<html><p>No PDF.</p></html>"), "PDF"),
        Case(
            "object-stream.pdf",
            _bytes("object-stream.pdf", _bogus_object_stream),
            "no extractable text",
            what="the font sits in an object stream with a bogus /N and /First",
        ),
        Case(
            "count-bomb.pdf",
            _bytes("count-bomb.pdf", lambda: _edit(good, _count_bomb)),
            None,
            "count-bomb",
            "/Count says a billion pages",
        ),
        Case(
            "page-tree-loop.pdf",
            _bytes("page-tree-loop.pdf", lambda: _edit(good, _page_tree_loop)),
            "cyclic",
        ),
        Case(
            "flate-bomb.pdf",
            _bytes(
                "flate-bomb.pdf",
                lambda: _edit(
                    good,
                    lambda w: _flate_stream(w, zlib.compress(b"BT ET\n" + b" " * (300 * 2**20), 9)),
                ),
            ),
            "page 1",
            what="300 MB of content stream in 300 kB",
        ),
        Case(
            "bad-flate.pdf",
            _bytes(
                "bad-flate.pdf",
                lambda: _edit(good, lambda w: _flate_stream(w, b"x\x9c" + bytes(range(256)) * 4)),
            ),
            None,
            "bad-flate",
            "page 1 undecodable, page 2 kept",
        ),
        Case(
            "outline-loop.pdf",
            _bytes("outline-loop.pdf", lambda: _edit(good, _outline_loop)),
            None,
            "outline-loop",
        ),
        Case(
            "many-blank-pages.pdf",
            _bytes("many-blank-pages.pdf", lambda: _blank_pages(3000)),
            "no extractable text",
        ),
        Case("password.pdf", _bytes("password.pdf", lambda: _encrypted(good, "u")), "encrypted"),
        Case(
            "owner-password-only.pdf",
            _bytes("owner-password-only.pdf", lambda: _encrypted(good, "")),
            None,
            "owner-password-only",
        ),
        Case(
            "self-length.pdf",
            _bytes("self-length.pdf", re.sub(rb"/Length \d+", b"/Length 4 0 R", good, count=1)),
            "page 1",
            what="a stream /Length that refers to an object that is no number",
        ),
        # --- HTML --------------------------------------------------------------------------
        Case(
            "deep.html",
            _text(
                "deep.html",
                "<html><body>"
                + "<div>" * 20000
                + "<p>Deeply nested zoo text.</p>"
                + "</div>" * 20000
                + "</body></html>",
            ),
            None,
            "deep",
        ),
        Case(
            "deep-quotes.html",
            _text(
                "deep-quotes.html",
                "<html><body>" + "<blockquote>Nested quote zoo text. " * 3000 + "</body></html>",
            ),
            None,
            "deep-quotes",
        ),
        Case(
            "huge-attribute.html",
            _text(
                "huge-attribute.html",
                '<html><body><p title="'
                + "a" * 5_000_000
                + '">Attribute zoo text.</p></body></html>',
            ),
            None,
            "huge-attribute",
        ),
        Case(
            "no-body.html",
            _text("no-body.html", "<html><head><title>Only a title</title></head></html>"),
            "no extractable text",
        ),
        Case(
            "only-scripts.html",
            _text(
                "only-scripts.html",
                "<html><script>alert(1)</script><script>var p = '<p>x</p>';</script>"
                "<style>p{}</style></html>",
            ),
            "no extractable text",
        ),
        Case(
            "unclosed-comment.html",
            _text("unclosed-comment.html", "<html><body><p>Visible zoo text.</p><!-- <p>Hid"),
            None,
            "unclosed-comment",
        ),
        Case(
            "binary.html",
            _bytes("binary.html", b"<html>\x00\x01\x02" + bytes(range(256)) * 8),
            "binary",
        ),
        # --- Markdown and text -------------------------------------------------------------
        Case(
            "unterminated.md",
            _text("unterminated.md", "---\ntitle: Never closed\n# Heading\n\nBody.\n"),
            "not closed",
        ),
        Case(
            "front-matter-list.md",
            _text("front-matter-list.md", "---\n- a\n- b\n---\n# T\n\nBody.\n"),
            "not a mapping",
        ),
        Case(
            "front-matter-scalar.md",
            _text("front-matter-scalar.md", "---\njust words\n---\n# T\n\nBody.\n"),
            "not a mapping",
        ),
        Case(
            "front-matter-int-key.md",
            _text("front-matter-int-key.md", "---\n1: a\ntitle: b\n---\n# T\n\nBody.\n"),
            "not a name",
        ),
        Case("billion-laughs.md", _text("billion-laughs.md", _billion_laughs()), "aliases"),
        Case(
            "python-tag.md",
            _text(
                "python-tag.md",
                "---\ntitle: !!python/object/apply:os.system ['touch pwned']\n---\n# T\n\nBody.\n",
            ),
            "broken YAML",
        ),
        Case("bad-year.md", _text("bad-year.md", "---\nyear: [2020]\n---\n# T\n\nB.\n"), "year"),
        Case("sidecar.md", _bad_sidecar, "sidecar", what="its NAME.meta.yaml has YAML aliases"),
        Case("not-utf8.md", _bytes("not-utf8.md", bytes(range(128, 256)) * 40), "not text"),
        Case("nul-first.md", _bytes("nul-first.md", b"# T\n\x00\x00Body.\n"), "binary"),
        Case("whitespace.md", _text("whitespace.md", " \n\t\n   \r\n"), "no extractable text"),
        Case("headings-only.md", _text("headings-only.md", "# A\n## B\n"), "no extractable"),
        Case(
            "bom.md",
            _bytes(
                "bom.md",
                b"\xef\xbb\xbf"
                + md.format(id="zoo-bom", body="Text after a byte-order mark.").encode(),
            ),
            None,
            "zoo-bom",
        ),
        Case(
            "nul-late.md",
            _bytes(
                "nul-late.md",
                md.format(id="zoo-nul-late", body="Guidance sentence here. " * 400).encode()
                + b"\x00\x00 Tail sentence.\n",
            ),
            None,
            "zoo-nul-late",
            "NUL bytes after the first 8 kB",
        ),
        Case(
            "long-line.md",
            _text(
                "long-line.md",
                md.format(id="zoo-long-line", body=" ".join(["word"] * 6000)),
            ),
            None,
            "zoo-long-line",
            "one 30 kB line without a full stop",
        ),
        Case(
            "long-token.md",
            _text("long-token.md", md.format(id="zoo-long-token", body="Q" * 30000)),
            None,
            "zoo-long-token",
        ),
        Case(
            "control-chars.md",
            _text(
                "control-chars.md",
                md.format(id="zoo-control", body="Text\x1b[31m with \x07escape\x0b codes."),
            ),
            None,
            "zoo-control",
            "terminal escapes are dropped",
        ),
        Case(
            "bidi.md",
            _text(
                "bidi.md",
                md.format(id="zoo-bidi", body="\u202eReversed zoo text.\u202c Zero\u200bwidth."),
            ),
            None,
            "zoo-bidi",
            "bidirectional overrides and zero-width characters are dropped",
        ),
        Case(
            "utf16.txt",
            _text("utf16.txt", "Guidance in UTF-16. Rest helps.\n", "utf-16"),
            None,
            "utf16",
        ),
        Case(
            "utf16be.md",
            _text("utf16be.md", "\ufeff# UTF16BE\n\nBig-endian zoo text.\n", "utf-16-be"),
            None,
            "utf16be",
        ),
        Case("utf32.txt", _text("utf32.txt", "Guidance in UTF-32.\n", "utf-32"), None, "utf32"),
        Case(
            "cp1252.md",
            _text(
                "cp1252.md", "# Caf\xe9\n\n\u201cSmart quotes\u201d and na\xefve text.\n", "cp1252"
            ),
            None,
            "cp1252",
        ),
        Case(
            "crlf.md",
            _text(
                "crlf.md", md.format(id="zoo-crlf", body="Windows zoo text.").replace("\n", "\r\n")
            ),
            None,
            "zoo-crlf",
        ),
        Case("unsupported.docx", _bytes("unsupported.docx", b"PK\x03\x04zoo"), "unsupported"),
        # --- the file system ----------------------------------------------------------------
        Case("loop.md", _symlink("loop.md", "loop.md"), "broken link", what="a link to itself"),
        Case("dangling.md", _symlink("dangling.md", "missing.md"), "broken link"),
        Case(
            "folder.md",
            _dir_named_md,
            None,
            "zoo-inside",
            "a folder named folder.md: its file is ingested, the folder is not a file",
        ),
        Case("sub/up", _dir_loop, None, None, "a link back to the parent folder: no endless walk"),
    ]


def seeds() -> dict[str, bytes]:
    """Valid files, one per loader, for the mutation fuzzer."""
    return {
        ".pdf": good_pdf(),
        ".md": (
            FRONT.format(id="seed")
            + "# Seed\n\n## Advice\n\nEat fibre. Sleep well (7 h).\n\n## Caveats\n\n- One.\n"
        ).encode(),
        ".html": (
            b"<html><head><title>Seed</title><script>x()</script></head><body><nav>n</nav>"
            b"<main><h1>Seed</h1><p>Para one. Two.</p><h2>Sec</h2><ul><li>Item a</li></ul>"
            b"<table><tr><td>cell</td></tr></table></main></body></html>"
        ),
        ".txt": b"Plain guidance text.\n\nA second paragraph of advice.\n",
    }
