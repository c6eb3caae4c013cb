"""`python -m eval run [SUITE ...] [--out DIR] [--baseline REPORT.json] [--tolerance 0.02]`

Exit codes: 0 every threshold met and no regression beyond the tolerance; 1 a threshold failed,
a case raised, or a metric regressed against the baseline; 2 a usage error (bad arguments, an
unknown or malformed suite, an unreadable baseline).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from citeline.environment import set_offline_defaults
from citeline.errors import CitelineError
from eval.scoring import METRICS, THRESHOLD_NAMES, Delta, compare
from eval.suites import Suite, SuiteError, bundled_suites, load_suite, resolve_suite

DEFAULT_OUT = Path("reports/eval")
DEFAULT_TOLERANCE = 0.02
SHOWN_FAILURES = 40


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the `run` subcommand (its handler is `run`)."""
    p = subparsers.add_parser(
        "run",
        help="answer-quality suites (eval/suites/*.yaml) as a gate",
        description="Answer every case of the suites through citeline.pipeline.answer on the "
        "bundled corpus (indexed into a temporary CITELINE_HOME unless --home is given), score "
        "the answers, write report.json, report.md and report.html, and exit 1 when a suite "
        "threshold fails or a metric regressed against --baseline.",
    )
    p.add_argument(
        "suites",
        nargs="*",
        metavar="SUITE",
        help="suite file or bundled suite name (default: every suite in eval/suites)",
    )
    p.add_argument("--all", action="store_true", help="every bundled suite (the default)")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="report folder (reports/eval)")
    p.add_argument("--baseline", type=Path, help="an earlier report.json to compare with")
    p.add_argument(
        "--tolerance",
        type=_non_negative,
        default=DEFAULT_TOLERANCE,
        help="largest accepted worsening of a metric against the baseline (0.02)",
    )
    p.add_argument(
        "--home",
        type=Path,
        help="use this CITELINE_HOME (its index is built from corpus/ when missing)",
    )
    p.add_argument("--limit", type=_positive, help="only the first N cases of each suite")
    p.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bar on stderr (default: when stderr is a terminal)",
    )


def _non_negative(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must not be negative")
    return value


def int_at_least(minimum: int) -> Callable[[str], int]:
    """An argparse type: an integer no smaller than `minimum`."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(
                "must not be negative" if minimum == 0 else f"must be at least {minimum}"
            )
        return value

    return parse


_positive = int_at_least(1)


def load_suites(specs: list[str], limit: int | None = None) -> list[Suite]:
    paths = [resolve_suite(s) for s in specs] if specs else bundled_suites()
    if not paths:
        raise SuiteError("no suites given and none bundled in eval/suites")
    suites = [load_suite(p, THRESHOLD_NAMES) for p in paths]
    if limit:
        suites = [dataclasses.replace(s, cases=s.cases[:limit]) for s in suites]
    return suites


def load_baseline(path: Path) -> dict[str, dict[str, float | None]]:
    """Suite name -> metrics of an earlier report.json."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SuiteError(f"--baseline {path}: cannot read it ({exc.strerror})") from None
    except json.JSONDecodeError as exc:
        raise SuiteError(f"--baseline {path}: not JSON ({exc})") from None
    suites = data.get("suites") if isinstance(data, dict) else None
    if not isinstance(suites, dict) or not all(
        isinstance(s, dict) and isinstance(s.get("metrics"), dict) for s in suites.values()
    ):
        raise SuiteError(f"--baseline {path}: not an eval report.json (no suites.*.metrics)")
    # A suite skipped in the baseline measured nothing: there is nothing to compare with.
    return {name: s["metrics"] for name, s in suites.items() if not s.get("skipped")}


def run(args: argparse.Namespace) -> int:
    from eval.report import fmt, write_reports
    from eval.runner import run_suites

    try:
        if args.all and args.suites:
            raise SuiteError("give SUITE names or --all, not both")
        suites = load_suites(args.suites, args.limit)
        baseline = load_baseline(args.baseline) if args.baseline else None
        result = run_suites(suites, home=args.home, progress=args.progress)
    except CitelineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    current = {s.suite.name: s.metrics for s in result.suites if not s.skipped}
    deltas = compare(current, baseline, args.tolerance) if baseline is not None else None
    try:
        paths = write_reports(result, args.out, deltas)
    except OSError as exc:
        print(f"error: cannot write the reports to {args.out}: {exc.strerror}", file=sys.stderr)
        return 2

    for s in result.suites:
        if s.skipped:
            print(f"{s.suite.name}: SKIPPED ({s.skipped})")
            continue
        passed = sum(c.passed for c in s.cases)
        print(
            f"{s.suite.name}: {'PASS' if s.passed else 'FAIL'} ({len(s.cases)} cases, "
            f"{passed} passed, {s.errors} errors)"
        )
        checks = {c.metric: c for c in s.checks}
        for m in METRICS:
            c = checks.get(m.name)
            mark = "" if c is None else ("  ok" if c.passed else f"  FAIL: {c.reason}")
            print(f"  {m.name:<24}{fmt(s.metrics[m.name], m.name):>10}{mark}")
        if s.errors:
            print(f"  {s.errors} case(s) raised an exception (see the report)")
        failing = [c for c in s.cases if not c.passed]
        # CI logs show the first reason of each failing case; the reports have all of them.
        for case in failing[:SHOWN_FAILURES]:
            print(f"  x {case.case.id}: {case.reasons[0][:160]}")
        if len(failing) > SHOWN_FAILURES:
            print(f"  ... and {len(failing) - SHOWN_FAILURES} more failing case(s)")
    regressed = _print_deltas(deltas, baseline, current, args.tolerance)
    print(f"reports: {', '.join(str(p) for p in paths.values())}")
    return 0 if result.passed and not regressed else 1


def _print_deltas(
    deltas: list[Delta] | None,
    baseline: dict[str, Any] | None,
    current: dict[str, Any],
    tolerance: float,
) -> bool:
    if deltas is None or baseline is None:
        return False
    from eval.report import fmt

    for name in current:
        if name not in baseline:
            print(f"baseline: suite {name} is not in the baseline (not compared)")
    print(f"against the baseline (tolerance {tolerance:g}):")
    for d in deltas:
        change = "n/a" if d.change is None else f"{d.change:+.3f}"
        print(
            f"  {d.suite}.{d.metric:<24}{fmt(d.baseline, d.metric):>10} -> "
            f"{fmt(d.current, d.metric):>10}  {change:>7}{'  REGRESSION' if d.regressed else ''}"
        )
    regressed = [d for d in deltas if d.regressed]
    if regressed:
        print(f"{len(regressed)} metric(s) regressed beyond the tolerance")
    return bool(regressed)


def main(argv: list[str] | None = None) -> int:
    """Standalone entry (`python -m eval.run_cli run ...`) until eval/__main__.py wires it."""
    set_offline_defaults()
    parser = argparse.ArgumentParser(prog="python -m eval")
    sub = parser.add_subparsers(dest="command", required=True)
    add_parser(sub)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
