"""Eval reports: report.json (everything), report.md (tables), report.html (self-contained).

Answers echo user questions and corpus text, so every string that reaches HTML goes through
`html.escape` (`_e`), and Markdown cells are neutralised (`_md`); nothing is fetched from the
network by the HTML page (inline CSS and SVG only).
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from eval.answer_checks import bullet_stats
from eval.runner import RunResult, SuiteResult
from eval.scoring import METRIC_BY_NAME, METRICS, CaseResult, Delta

# Questions can be 5,000+ characters; reports show the start.
SHOWN_CHARS = 400
RATIO_METRICS = [m.name for m in METRICS if not m.name.startswith("latency")]


def write_reports(
    result: RunResult, out: Path, deltas: Sequence[Delta] | None = None
) -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    data = result.to_dict()
    if deltas is not None:
        data["baseline"] = {
            "regressed": any(d.regressed for d in deltas),
            "deltas": [
                {
                    "suite": d.suite,
                    "metric": d.metric,
                    "baseline": d.baseline,
                    "current": d.current,
                    "change": d.change,
                    "regressed": d.regressed,
                }
                for d in deltas
            ],
        }
    paths = {"json": out / "report.json", "md": out / "report.md", "html": out / "report.html"}
    paths["json"].write_text(
        json.dumps(data, indent=2, ensure_ascii=False, default=str), encoding="utf-8"
    )
    paths["md"].write_text(markdown(result, deltas), encoding="utf-8")
    paths["html"].write_text(html_page(result, deltas), encoding="utf-8")
    return paths


def fmt(value: float | None, metric: str = "") -> str:
    if value is None:
        return "n/a"
    if metric.startswith("latency"):
        return f"{value:.0f} ms"
    return f"{value:.3f}"


def _threshold_of(s: SuiteResult, metric: str) -> tuple[str, str]:
    for c in s.checks:
        if c.metric == metric:
            sign = "≥" if METRIC_BY_NAME[metric].higher_is_better else "≤"
            return f"{sign} {c.bound:g}", "pass" if c.passed else "FAIL"
    return "", ""


def _short(text: str, n: int = SHOWN_CHARS) -> str:
    return text if len(text) <= n else f"{text[:n]}… ({len(text)} characters)"


# -- Markdown ---------------------------------------------------------------------------------


def _md(text: object) -> str:
    """A table cell: no line breaks, pipes or raw HTML."""
    s = " ".join(str(text).split())
    return s.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def markdown(result: RunResult, deltas: Sequence[Delta] | None = None) -> str:
    info = result.info
    lines = [
        f"# Eval report: {'PASS' if result.passed else 'FAIL'}",
        "",
        f"- time: {_md(info['timestamp'])}; commit: `{_md(info['git_commit'] or 'unknown')}`",
        f"- embedding model: {_md(info['embed_model'])}; backend: {_md(info['backend'])}",
        f"- relevance_floor {_md(info['settings']['relevance_floor'])}, support_threshold "
        f"{_md(info['settings']['support_threshold'])}, top_k {_md(info['settings']['top_k'])}",
        f"- overall: {overall_line(result.overall())}",
        "",
    ]
    for s in result.suites:
        if s.skipped:
            lines += [f"## {_md(s.suite.name)}: SKIPPED", "", f"Not run: {_md(s.skipped)}.", ""]
            continue
        lines += [
            f"## {_md(s.suite.name)}: {'PASS' if s.passed else 'FAIL'}",
            "",
            f"{len(s.cases)} cases, {sum(c.passed for c in s.cases)} passed, {s.errors} errors.",
            "",
            "| metric | value | threshold | result |",
            "| --- | ---: | --- | --- |",
        ]
        for m in METRICS:
            bound, verdict = _threshold_of(s, m.name)
            lines.append(f"| {m.name} | {fmt(s.metrics[m.name], m.name)} | {bound} | {verdict} |")
        lines.append("")
        for w in s.warnings:
            lines.append(f"- warning: {_md(w)}")
        lines += _answers_md(s)
        failed = [c for c in s.cases if not c.passed]
        if failed:
            lines += ["", "| failing case | question | reasons |", "| --- | --- | --- |"]
            for c in failed:
                reasons = "; ".join(c.reasons)
                lines.append(
                    f"| {_md(c.case.id)} | {_md(_short(c.case.question, 160))} | {_md(reasons)} |"
                )
        lines.append("")
    if deltas:
        lines += ["## Against the baseline", "", "| suite | metric | baseline | now | change | |"]
        lines.append("| --- | --- | ---: | ---: | ---: | --- |")
        for d in deltas:
            ch = "n/a" if d.change is None else f"{d.change:+.3f}"
            flag = "REGRESSION" if d.regressed else ""
            lines.append(
                f"| {_md(d.suite)} | {d.metric} | {fmt(d.baseline, d.metric)} | "
                f"{fmt(d.current, d.metric)} | {ch} | {flag} |"
            )
    return "\n".join(lines) + "\n"


def overall_line(o: dict[str, Any]) -> str:
    rate = "n/a" if o["verdict_rate"] is None else f"{o['verdict_rate']:.3f}"
    return (
        f"{o['cases']} cases, {o['passed']} passed; verdict checks {o['verdict_passed']}/"
        f"{o['verdict_cases']} ({rate}); bullets per answer {bullets_line(o['bullets'])}"
    )


def bullets_line(b: dict[str, Any]) -> str:
    if not b["answers"]:
        return "n/a (no answer)"
    hist = ", ".join(f"{n}: {k}" for n, k in b["histogram"].items())
    return f"mean {b['mean']:.2f}, median {b['median']:g}, max {b['max']}; answers per count {hist}"


def _answers_md(s: SuiteResult) -> list[str]:
    """Bullet counts of every answer and the verdict misses (which do not fail a case)."""
    lines = [
        "",
        f"Bullets per answer: {bullets_line(bullet_stats(s.bullet_counts))}.",
        "",
        "| case | refused | bullets | max_bullets | verdict | passed |",
        "| --- | --- | ---: | ---: | --- | --- |",
    ]
    for c in s.cases:
        v = c.metrics.get("verdict")
        verdict = "" if v is None else ("ok" if v else "MISS")
        cap = "" if c.case.max_bullets is None else str(c.case.max_bullets)
        lines.append(
            f"| {_md(c.case.id)} | {'yes' if c.refused else ''} | {c.counts.get('bullets', '')} "
            f"| {cap} | {verdict} | {'yes' if c.passed else 'NO'} |"
        )
    missed = [c for c in s.cases if c.verdict_misses]
    if missed:
        lines += ["", "| verdict miss | question | why |", "| --- | --- | --- |"]
        for c in missed:
            why = "; ".join(c.verdict_misses)
            lines.append(f"| {_md(c.case.id)} | {_md(_short(c.case.question, 160))} | {_md(why)} |")
    return lines


# -- HTML -------------------------------------------------------------------------------------


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:1100px;color:#1d2430;padding:0 1rem}
h1,h2,h3{line-height:1.2} table{border-collapse:collapse;margin:.5rem 0 1rem}
td,th{border:1px solid #d5dae1;padding:.25rem .5rem;text-align:left;vertical-align:top}
.pass{color:#1a7f37;font-weight:600}.fail{color:#c62828;font-weight:600}
.skip{color:#8a6d00;font-weight:600}
.card{border:1px solid #d5dae1;border-radius:8px;padding:1rem;margin:1rem 0}
.charts{display:flex;flex-wrap:wrap;gap:1.5rem} svg text{font:11px system-ui,sans-serif}
details{margin:.4rem 0;border-left:3px solid #c62828;padding-left:.6rem} summary{cursor:pointer}
.answer{background:#f6f8fa;padding:.5rem;border-radius:6px;white-space:pre-wrap}
code{background:#f0f2f5;padding:0 .2rem;border-radius:3px}
"""


def bar_row(
    y: int, label_w: int, bar_w: int, name: str, value: float | None, colour: str
) -> list[str]:
    """SVG of one labelled 0..1 bar: its label, the track and the filled part."""
    parts = [
        f'<text x="0" y="{y + 13}">{esc(name)}</text>',
        f'<rect x="{label_w}" y="{y + 3}" width="{bar_w}" height="12" fill="#eef1f4"/>',
    ]
    if value is not None:
        w = max(0.0, min(1.0, value)) * bar_w
        parts.append(
            f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="12" fill="{colour}"/>'
        )
    return parts


def metric_chart(s: SuiteResult) -> str:
    """Horizontal bars of the 0..1 metrics, with the threshold as a tick; red when it fails."""
    row, label_w, bar_w = 20, 260, 300
    height = row * len(RATIO_METRICS) + 10
    parts = [
        f'<svg width="{label_w + bar_w + 70}" height="{height}" role="img" '
        f'aria-label="{esc(s.suite.name)} metrics">'
    ]
    for i, name in enumerate(RATIO_METRICS):
        y = 5 + i * row
        value = s.metrics.get(name)
        check = next((c for c in s.checks if c.metric == name), None)
        colour = "#9aa4b2" if check is None else ("#2e9d52" if check.passed else "#d64545")
        arrow = "" if METRIC_BY_NAME[name].higher_is_better else " (lower is better)"
        parts += bar_row(y, label_w, bar_w, name + arrow, value, colour)
        if check is not None:
            x = label_w + max(0.0, min(1.0, check.bound)) * bar_w
            parts.append(
                f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{y}" y2="{y + 18}" stroke="#1d2430" '
                f'stroke-width="2"><title>{esc(check.name)} {check.bound:g}</title></line>'
            )
        parts.append(f'<text x="{label_w + bar_w + 6}" y="{y + 13}">{esc(fmt(value))}</text>')
    parts.append("</svg>")
    return "".join(parts)


def latency_histogram(latencies: Sequence[float], bins: int = 12) -> str:
    if not latencies:
        return "<p>No latencies.</p>"
    hi = max(latencies) or 1.0
    width = hi / bins
    counts = [0] * bins
    for v in latencies:
        counts[min(int(v / width), bins - 1)] += 1
    top = max(counts)
    w, h, pad = 420, 140, 24
    bw = w / bins
    parts = [f'<svg width="{w + 10}" height="{h + pad + 10}" role="img" aria-label="latency">']
    for i, c in enumerate(counts):
        bh = (c / top) * h if top else 0
        parts.append(
            f'<rect x="{i * bw + 1:.1f}" y="{h - bh:.1f}" width="{bw - 2:.1f}" height="{bh:.1f}" '
            f'fill="#4b7bd1"><title>{i * width:.0f}-{(i + 1) * width:.0f} ms: {c}</title></rect>'
        )
    parts.append(f'<text x="0" y="{h + 16}">0 ms</text>')
    parts.append(f'<text x="{w - 60}" y="{h + 16}">{hi:.0f} ms</text>')
    parts.append(f'<text x="{w / 2 - 40:.0f}" y="{h + 30}">answer time (total)</text></svg>')
    return "".join(parts)


def _answer_html(c: CaseResult) -> str:
    a = c.answer
    if a is None:
        return f'<pre class="answer">{esc(c.error)}</pre>'
    lines = [f"refused: {a['refused']}  flags: {', '.join(a['flags']) or '-'}"]
    if a["refused"]:
        lines.append(f"refusal: {a['refusal_reason']}")
    if a["verdict"]:
        lines.append(f"{a['verdict']} {a['verdict_citations']}")
    for sec in a["sections"]:
        lines.append(f"## {sec['heading']}")
        lines += [f"- {cl['text']} {cl['citations']}" for cl in sec["claims"]]
    for r in a["references"]:
        lines.append(f"[{r['n']}] {r['doc_id']}: {r['title']} ({r['section']})")
    return f'<div class="answer">{esc(chr(10).join(lines))}</div>'


def _status(ok: bool) -> str:
    return '<span class="pass">PASS</span>' if ok else '<span class="fail">FAIL</span>'


def html_page(result: RunResult, deltas: Sequence[Delta] | None = None) -> str:
    info = result.info
    out = [
        '<!doctype html><html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Citeline eval {esc(info['timestamp'])}</title><style>{CSS}</style></head><body>",
        f"<h1>Citeline eval: {_status(result.passed)}</h1>",
        "<table>",
    ]
    rows = [
        ("time", info["timestamp"]),
        ("commit", info["git_commit"] or "unknown"),
        ("embedding model", info["embed_model"]),
        ("backend", info["backend"]),
        ("relevance_floor", info["settings"]["relevance_floor"]),
        ("support_threshold", info["settings"]["support_threshold"]),
        ("prompt hashes", ", ".join(f"{k}={v}" for k, v in info["prompt_hashes"].items())),
        ("overall", overall_line(result.overall())),
    ]
    out += [f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in rows]
    out.append("</table>")
    for s in result.suites:
        out.append(_suite_html(s))
    if deltas:
        out.append("<h2>Against the baseline</h2><table><tr><th>suite</th><th>metric</th>")
        out.append("<th>baseline</th><th>now</th><th>change</th><th></th></tr>")
        for d in deltas:
            ch = "n/a" if d.change is None else f"{d.change:+.3f}"
            flag = '<span class="fail">regression</span>' if d.regressed else ""
            out.append(
                f"<tr><td>{esc(d.suite)}</td><td>{esc(d.metric)}</td>"
                f"<td>{esc(fmt(d.baseline, d.metric))}</td><td>{esc(fmt(d.current, d.metric))}</td>"
                f"<td>{esc(ch)}</td><td>{flag}</td></tr>"
            )
        out.append("</table>")
    out.append("</body></html>")
    return "\n".join(out)


def _suite_html(s: SuiteResult) -> str:
    if s.skipped:
        return (
            f'<div class="card"><h2>{esc(s.suite.name)}: <span class="skip">SKIPPED</span></h2>'
            f"<p>{esc(s.suite.description)}</p><p>Not run: {esc(s.skipped)}.</p></div>"
        )
    passed = sum(c.passed for c in s.cases)
    out = [
        f'<div class="card"><h2>{esc(s.suite.name)}: {_status(s.passed)}</h2>',
        f"<p>{esc(s.suite.description)}</p>",
        f"<p>{len(s.cases)} cases, {passed} passed, {s.errors} errors. Bullets per answer: "
        f"{esc(bullets_line(bullet_stats(s.bullet_counts)))}.</p>",
        '<div class="charts"><div><h3>Metrics</h3>',
        metric_chart(s),
        "</div><div><h3>Latency</h3>",
        latency_histogram([c.latency_ms for c in s.cases if c.latency_ms is not None]),
        "</div></div>",
        "<table><tr><th>metric</th><th>value</th><th>threshold</th><th>result</th></tr>",
    ]
    for m in METRICS:
        bound, verdict = _threshold_of(s, m.name)
        cls = "fail" if verdict == "FAIL" else "pass"
        out.append(
            f"<tr><td>{esc(m.name)}</td><td>{esc(fmt(s.metrics[m.name], m.name))}</td>"
            f'<td>{esc(bound)}</td><td class="{cls}">{esc(verdict)}</td></tr>'
        )
    out.append("</table>")
    out += [f"<p>warning: {esc(w)}</p>" for w in s.warnings]
    failed = [c for c in s.cases if not c.passed]
    out.append(f"<h3>Failures ({len(failed)})</h3>")
    for c in failed:
        out.append(
            f"<details><summary><code>{esc(c.case.id)}</code> {esc(_short(c.case.question, 160))}"
            "</summary><ul>"
        )
        out += [f"<li>{esc(r)}</li>" for r in c.reasons]
        out.append(f"</ul><p>Question: {esc(_short(c.case.question))}</p>")
        out.append(_answer_html(c))
        out.append("</details>")
    out.append("</div>")
    return "\n".join(out)
