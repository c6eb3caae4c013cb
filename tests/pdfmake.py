"""Small real PDFs for loader tests: text runs in the standard fonts at given sizes and places,
written as PDF objects by hand (no PDF library writes text), plus optional metadata and outline."""

from __future__ import annotations

import io

# (font, size, x, y, text): font is "R" (Times-Roman), "B" (Helvetica-Bold) or "H" (Helvetica)
Run = tuple[str, float, float, float, str]
FONTS = {"R": "Times-Roman", "B": "Helvetica-Bold", "H": "Helvetica"}


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def _stream(runs: list[Run]) -> bytes:
    ops = []
    for font, size, x, y, text in runs:
        ops.append(f"BT /{font} {size} Tf {x} {y} Td ({_escape(text)}) Tj ET")
    return "\n".join(ops).encode("latin-1")


def make_pdf(
    pages: list[list[Run]],
    info: dict[str, str] | None = None,
    outline: list[tuple[str, int]] | None = None,
) -> bytes:
    """A PDF of US-letter pages drawing `pages`' runs; `info` as its metadata (keys like
    "/Author"), `outline` as (title, page index) bookmarks."""
    objs: list[bytes] = []
    n = len(pages)
    # 1 catalog, 2 pages, 3..5 fonts, then a page and its content per page
    font_ids = {k: 3 + i for i, k in enumerate(FONTS)}
    kids = " ".join(f"{6 + 2 * i} 0 R" for i in range(n))
    objs.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objs.append(f"<< /Type /Pages /Kids [{kids}] /Count {n} >>".encode())
    for name in FONTS.values():
        objs.append(
            f"<< /Type /Font /Subtype /Type1 /BaseFont /{name} "
            f"/Encoding /WinAnsiEncoding >>".encode()
        )
    res = " ".join(f"/{k} {v} 0 R" for k, v in font_ids.items())
    for i, runs in enumerate(pages):
        objs.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            f"/Resources << /Font << {res} >> >> /Contents {7 + 2 * i} 0 R >>".encode()
        )
        data = _stream(runs)
        objs.append(f"<< /Length {len(data)} >>\nstream\n".encode() + data + b"\nendstream")
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for k, body in enumerate(objs, start=1):
        offsets.append(out.tell())
        out.write(f"{k} 0 obj\n".encode() + body + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode())
    for off in offsets:
        out.write(f"{off:010d} 00000 n \n".encode())
    out.write(
        f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    raw = out.getvalue()
    if not info and not outline:
        return raw
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(raw)))
    if info:
        writer.add_metadata(info)
    for title, page in outline or []:
        writer.add_outline_item(title, page)
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def column(
    lines: list[tuple[str, str]], x: float = 72, top: float = 720, size: float = 11
) -> list[Run]:
    """(font, text) lines set one under another; a heading font ("B") is set at 14 pt; an
    empty line leaves a paragraph gap."""
    runs: list[Run] = []
    y = top
    for font, text in lines:
        if not text:
            y -= size * 1.5
            continue
        s = 14.0 if font == "B" else size
        if font == "B":
            y -= 10
        runs.append((font, s, x, y, text))
        y -= s * 1.3
    return runs
