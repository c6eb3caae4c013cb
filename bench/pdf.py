"""How the real guideline PDFs read: parse + chunk time and the sentence fragments left.

    python -m bench.pdf [--repeat 2] [--out bench/pdf_ingest.json]

For each PDF in ../shared/data/guidelines: seconds (wall and CPU, best of --repeat) to load and
chunk it, chunks, sentences, and the sentences that are fragments: ending in ":", a bare list
marker ("a.", "ii." alone or at the end), an inline reference number ("(7).", "( 123),"),
letters split off their word ("M ultiply"), and chunks whose section is a bookmark ("_GoBack",
"Page 9"). Run it with an older checkout first on PYTHONPATH to measure that version.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

GUIDELINES = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "guidelines"
BARE = re.compile(r"^\(?(?:\d{1,2}|[a-zA-Z]|[ivx]{1,4})[.)]$|\s\(?(?:[a-z]|[ivx]{1,4})[.)]$")
REF = re.compile(r"\(\s?\d{1,3}(?:\s?[,\u2013-]\s?\d{1,3})*\s?\)(?=[.,;:]|$)")
SPLIT = re.compile(r"\bM ultiply|\bT apentadol|\bT ramadol|\bNo vember|\bV ol\.")
BOOKMARK = re.compile(r"_GoBack|(^| > )Page \d+$")


def measure(path: Path, repeat: int) -> dict[str, Any]:
    from ingest.chunking import chunk_blocks
    from ingest.loaders import load

    walls, cpus = [], []
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        doc = load(path)
        chunks = chunk_blocks(doc.meta, doc.blocks)
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    sents = [s for ch in chunks for s in ch.sentences]
    return {
        "wall_s": round(min(walls), 2),
        "cpu_s": round(min(cpus), 2),
        "pages": max((ch.page or 0) for ch in chunks),
        "chunks": len(chunks),
        "sentences": len(sents),
        "ends_colon": sum(s.endswith(":") for s in sents),
        "bare_marker": sum(bool(BARE.search(s)) for s in sents),
        "reference_numbers": sum(bool(REF.search(s)) for s in sents),
        "split_words": sum(bool(SPLIT.search(s)) for s in sents),
        "bookmark_section_chunks": sum(bool(BOOKMARK.search(ch.section)) for ch in chunks),
        "sections": len({ch.section for ch in chunks}),
        "publisher": doc.meta.publisher,
        "year": doc.meta.year,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.pdf")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--label", default="this checkout")
    args = ap.parse_args(argv)
    if not GUIDELINES.is_dir():
        print(f"no PDFs at {GUIDELINES} (see ../shared/data/README.md)", file=sys.stderr)
        return 2
    out: dict[str, Any] = {"label": args.label, "load_before": os.getloadavg()[0]}
    for pdf in sorted(GUIDELINES.glob("*.pdf")):
        out[pdf.name] = measure(pdf, args.repeat)
        print(pdf.name, out[pdf.name], file=sys.stderr, flush=True)
    out["load_after"] = os.getloadavg()[0]
    text = json.dumps(out, indent=1, ensure_ascii=False)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
