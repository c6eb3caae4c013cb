"""`python -m eval all` (what `make eval` runs): every suite, then the external data sets.

1. `python -m eval run --all --out DIR`: every bundled suite, including those over their own
   corpus (skipped when it is absent); report.json, report.md, report.html.
2. BEIR NFCorpus and SciFact, test split, hybrid retrieval (`eval/beir.py`): beir-<name>.json.
3. MedQuAD (`eval/medquad.py`): medquad.json and medquad.md.

The external results have no thresholds (they measure, they do not gate); they are added as a
section to report.md and report.html. A data set that is absent is skipped with a message; one
that raises makes the exit code 1, as does a failing suite.
"""

from __future__ import annotations

import json
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from citeline.config import PROJECT_ROOT
from eval.report import bar_row, esc

DEFAULT_DATA = PROJECT_ROOT.parent / "shared" / "data"
BEIR_SETS = ("nfcorpus", "scifact")
BEIR_METRICS = ("ndcg@10", "recall@100", "mrr@10")
MEDQUAD_RATES = (
    "source_cited_rate",
    "source_supported_rate",
    "source_in_references_rate",
    "refusal_rate",
    "citation_recall",
    "citation_precision",
    "uncited_sentence_rate",
)
SECTION_MARK = "<!-- external data sets -->"


@dataclass
class External:
    """What the external runs produced: results by name, and skipped or failed ones."""

    beir: dict[str, dict[str, Any]] = field(default_factory=dict)
    medquad: dict[str, Any] | None = None
    skipped: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _log(msg: str) -> None:
    print(msg, file=sys.stderr)


def run_all(
    data: Path, out: Path, *, medquad_limit: int | None = None, log: Callable[[str], None] = _log
) -> int:
    from eval import run_cli

    log("== eval suites ==")
    rc = run_cli.main(["run", "--all", "--out", str(out)])
    ext = run_external(data, out, medquad_limit=medquad_limit, log=log)
    add_to_reports(out, ext)
    for s in ext.skipped:
        print(f"skipped: {s}")
    for e in ext.errors:
        print(f"error: {e}")
    return max(rc, 1 if ext.errors else 0)


def run_external(
    data: Path, out: Path, *, medquad_limit: int | None = None, log: Callable[[str], None] = _log
) -> External:
    from eval import beir, medquad

    ext = External()
    out.mkdir(parents=True, exist_ok=True)
    for name in BEIR_SETS:
        folder = data / name
        if not (folder / "corpus.jsonl").is_file():
            ext.skipped.append(f"BEIR {name}: {folder} not found (see ../shared/data/README.md)")
            continue
        log(f"== BEIR {name} (test, hybrid) ==")
        try:
            result = beir.run(folder, beir.Options(retriever="hybrid"))
        except Exception:
            ext.errors.append(f"BEIR {name}: {traceback.format_exc().splitlines()[-1]}")
            continue
        (out / f"beir-{name}.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
        print(beir.summary(result))
        ext.beir[name] = result
    folder = data / "medquad"
    if not folder.is_dir():
        ext.skipped.append(f"MedQuAD: {folder} not found (see ../shared/data/README.md)")
        return ext
    log("== MedQuAD ==")
    opts = (
        medquad.Options() if medquad_limit is None else medquad.Options(limit=medquad_limit or None)
    )
    try:
        ext.medquad = medquad.run(folder, opts)
    except Exception:
        ext.errors.append(f"MedQuAD: {traceback.format_exc().splitlines()[-1]}")
        return ext
    medquad.write(ext.medquad, out)
    print(medquad.summary_line(ext.medquad))
    return ext


# -- the section added to report.md and report.html -------------------------------------------


def _v(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.0f}" if abs(value) >= 10 else f"{value:.4f}"  # ms, else rates
    return str(value)


def markdown_section(ext: External) -> str:
    lines = [SECTION_MARK, "## External data sets", ""]
    if ext.beir:
        lines += [
            "| BEIR (test, hybrid) | queries | documents | nDCG@10 | Recall@100 | MRR@10 | s |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for name, r in ext.beir.items():
            lines.append(
                f"| {name} | {r['queries']} | {r['params']['documents']} | "
                + " | ".join(_v(r[m]) for m in BEIR_METRICS)
                + f" | {r['seconds']} |"
            )
        lines.append("")
    if ext.medquad is not None:
        from eval.medquad import SUMMARY_LABELS

        s = ext.medquad["summary"]
        lines += [
            f"MedQuAD: {s['questions']} questions over {ext.medquad['documents']} indexed answers "
            f"({ext.medquad['seconds']} s; details in medquad.md).",
            "",
            "| MedQuAD | value |",
            "| --- | ---: |",
        ]
        lines += [f"| {label} | {_v(s[key])} |" for key, label in SUMMARY_LABELS]
        lines.append("")
    lines += [f"- skipped: {s}" for s in ext.skipped]
    lines += [f"- error: {e}" for e in ext.errors]
    return "\n".join(lines) + "\n"


def bar_chart(items: Sequence[tuple[str, float | None]], label: str) -> str:
    """Horizontal 0..1 bars, inline SVG (no script, no external resource)."""
    row, label_w, bar_w = 20, 230, 300
    parts = [
        f'<svg width="{label_w + bar_w + 70}" height="{row * len(items) + 10}" role="img" '
        f'aria-label="{esc(label)}">'
    ]
    for i, (name, value) in enumerate(items):
        y = 5 + i * row
        parts += bar_row(y, label_w, bar_w, name, value, "#4b7bd1")
        parts.append(f'<text x="{label_w + bar_w + 6}" y="{y + 13}">{esc(_v(value))}</text>')
    parts.append("</svg>")
    return "".join(parts)


def html_section(ext: External) -> str:
    out = [SECTION_MARK, '<div class="card"><h2>External data sets</h2>']
    if ext.beir:
        out.append('<h3>BEIR (test split, hybrid retrieval)</h3><div class="charts">')
        for name, r in ext.beir.items():
            items = [(m, r[m]) for m in BEIR_METRICS]
            out.append(f"<div><h4>{esc(name)}</h4>{bar_chart(items, 'BEIR ' + name)}")
            out.append(
                f"<p>{esc(r['queries'])} queries, {esc(r['params']['documents'])} documents, "
                f"{esc(r['seconds'])} s</p></div>"
            )
        out.append("</div>")
    if ext.medquad is not None:
        from eval.medquad import SUMMARY_LABELS

        s = ext.medquad["summary"]
        labels = dict(SUMMARY_LABELS)
        out.append("<h3>MedQuAD</h3>")
        out.append(
            f"<p>{esc(s['questions'])} questions over {esc(ext.medquad['documents'])} indexed "
            f"answers, {esc(ext.medquad['seconds'])} s (details in medquad.md).</p>"
        )
        out.append(bar_chart([(labels[k], s[k]) for k in MEDQUAD_RATES], "MedQuAD"))
        out.append("<table><tr><th>metric</th><th>value</th></tr>")
        out += [
            f"<tr><td>{esc(label)}</td><td>{esc(_v(s[key]))}</td></tr>"
            for key, label in SUMMARY_LABELS
        ]
        out.append("</table><table><tr><th>source</th><th>questions</th><th>cited</th>")
        out.append("<th>supported</th><th>refused</th></tr>")
        for name, g in ext.medquad["by_source"].items():
            cells = (name, g["questions"], g["source_cited_rate"], g["source_supported_rate"])
            out.append(
                "<tr>"
                + "".join(f"<td>{esc(_v(c))}</td>" for c in (*cells, g["refusal_rate"]))
                + "</tr>"
            )
        out.append("</table>")
    out += [f"<p>skipped: {esc(s)}</p>" for s in ext.skipped]
    out += [f'<p class="fail">error: {esc(e)}</p>' for e in ext.errors]
    out.append("</div>")
    return "\n".join(out)


def add_to_reports(out: Path, ext: External) -> None:
    """Append the external section to report.md and report.html (before </body>), replacing
    one added by an earlier run; a missing report (the suites failed to run) is left alone."""
    md, page = out / "report.md", out / "report.html"
    if md.is_file():
        text = md.read_text(encoding="utf-8").split(SECTION_MARK)[0].rstrip("\n")
        md.write_text(text + "\n\n" + markdown_section(ext), encoding="utf-8")
    if page.is_file():
        text = page.read_text(encoding="utf-8")
        head, sep, tail = text.rpartition("</body>")
        if sep:
            head = head.split(SECTION_MARK)[0]
            page.write_text(head + html_section(ext) + "\n" + sep + tail, encoding="utf-8")
