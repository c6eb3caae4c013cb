"""Where the slowest answers spend their time: per-step times of every answer, slowest first.

    python -m bench.profile HOME [--questions 40] [--top 8]

Answers the bench questions (bench/data.py; the bundled eval suites' questions with
--suite-questions or when ../shared/data is absent) through `citeline.pipeline.answer` on the index at HOME, after a
warm-up of 6, with the index's search methods and the embedder wrapped by timers; prints JSON:
the `top` slowest answers, each with its total and the milliseconds of every wrapped step.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

STEPS = ("lexical_search", "dense_search", "best_sentences", "unknown_terms", "get_chunks")


def _questions(n: int, suites: bool) -> list[str]:
    from bench.data import data_available, questions

    if data_available() and not suites:
        return questions(per_source=max(1, (n + 2) // 3))
    import yaml

    from eval.suites import bundled_suites

    cases = [c for p in bundled_suites() for c in yaml.safe_load(p.read_text())["cases"]]
    return list(dict.fromkeys(c["question"] for c in cases if c["question"].strip()))


def profile(home: Path, n: int, top: int, suites: bool = False) -> dict[str, Any]:
    from citeline.config import Settings
    from citeline.pipeline import answer, get_engine

    settings = Settings.from_env(home=home, chroma_url="", llm="none")
    engine = get_engine(settings)
    spent: dict[str, float] = {}

    def timed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[name] = spent.get(name, 0.0) + (time.perf_counter() - t) * 1000

        return wrapper

    for step in STEPS:
        setattr(engine.index, step, timed(step, getattr(engine.index, step)))
    engine.embedder.embed = timed("embed", engine.embedder.embed)  # type: ignore[method-assign]
    qs = _questions(n + 6, suites)
    for q in qs[:6]:
        answer(q, [], settings)
    rows: list[dict[str, Any]] = []
    for q in qs[6 : 6 + n]:
        spent.clear()
        t = time.perf_counter()
        answer(q, [], settings)
        total = (time.perf_counter() - t) * 1000
        rest = total - sum(spent.values())
        steps = {k: round(v, 1) for k, v in sorted(spent.items(), key=lambda kv: -kv[1])}
        rows.append({"question": q, "total_ms": round(total, 1), **steps, "rest": round(rest, 1)})
    rows.sort(key=lambda r: -float(r["total_ms"]))
    return {"answers": len(rows), "slowest": rows[:top]}


def main(argv: list[str] | None = None) -> int:
    import os

    p = argparse.ArgumentParser(prog="python -m bench.profile")
    p.add_argument("home", type=Path)
    p.add_argument("--questions", type=int, default=40)
    p.add_argument("--top", type=int, default=8)
    p.add_argument("--suite-questions", action="store_true", help="eval suites' questions")
    args = p.parse_args(argv)
    load0 = os.getloadavg()
    out = profile(args.home, args.questions, args.top, args.suite_questions)
    out["load_avg"] = [round(x, 2) for x in (*load0, *os.getloadavg())]
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
