"""python -m eval beir DATASET_DIR [--retriever hybrid|dense|bm25] [--split test|dev|train] [--json]
python -m eval run [SUITE ...] [--out DIR] [--baseline REPORT.json]"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import citeline  # noqa: F401  (sets the offline environment first)
from citeline.errors import CitelineError
from eval import run_cli


def _floats(text: str, n: int) -> tuple[float, ...]:
    try:
        values = tuple(float(x) for x in text.split(","))
    except ValueError:
        values = ()
    if len(values) != n or any(v < 0 for v in values):
        raise argparse.ArgumentTypeError(f"expected {n} non-negative numbers joined by commas")
    return values


def _add_beir(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from eval.beir import DEFAULT_DEPTH, RETRIEVERS, SPLITS

    p = sub.add_parser(
        "beir",
        help="retrieval metrics on a BEIR-format folder",
        description="Index a BEIR corpus into a temporary CITELINE_HOME with the app's own "
        "chunker, embedder and store, and score the queries of one qrels split.",
    )
    p.add_argument("dataset", type=Path, help="folder with corpus.jsonl, queries.jsonl, qrels/")
    p.add_argument("--retriever", choices=RETRIEVERS, default="hybrid")
    p.add_argument("--split", choices=SPLITS, default="test")
    p.add_argument("--limit", type=int, default=None, help="score only the first N queries")
    p.add_argument(
        "--max-docs",
        type=int,
        default=None,
        help="index only N documents: the judged ones of the chosen queries, then a fixed sample",
    )
    p.add_argument(
        "--chunking",
        choices=("blocks", "doc"),
        default="blocks",
        help="the app's chunker (blocks) or one chunk per document (doc)",
    )
    p.add_argument("--depth", type=int, default=DEFAULT_DEPTH, help="chunks per candidate list")
    p.add_argument("--rrf-k", type=int, default=None, help="override CITELINE_RRF_K")
    p.add_argument(
        "--weights",
        type=lambda s: _floats(s, 3),
        default=None,
        metavar="D,S,L",
        help="fusion weights: dense chunks, best sentence, BM25",
    )
    p.add_argument(
        "--bm25-weights",
        type=lambda s: _floats(s, 3),
        default=None,
        metavar="T,S,X",
        help="BM25 column weights: title, section, text",
    )
    p.add_argument("--cache", type=Path, default=None, help="embedding cache folder")
    p.add_argument(
        "--sweep",
        action="store_true",
        help="score the tuning grid of eval/beir.py on a dev or train split, best first",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")


def _run_beir(args: argparse.Namespace) -> int:
    from eval.beir import Options, run, summary, sweep, sweep_table

    overrides: dict[str, object] = {}
    if args.rrf_k is not None:
        overrides["rrf_k"] = args.rrf_k
    if args.weights is not None:
        overrides.update(
            zip(("weight_dense", "weight_sentence", "weight_lexical"), args.weights, strict=True)
        )
    opts = Options(
        retriever=args.retriever,
        split=args.split,
        limit=args.limit,
        max_docs=args.max_docs,
        chunking=args.chunking,
        depth=args.depth,
        cache=args.cache,
        overrides=overrides,
        bm25_weights=args.bm25_weights,
    )
    if args.sweep:
        rows = sweep(args.dataset, opts)
        print(json.dumps(rows, indent=1) if args.json else sweep_table(rows))
        return 0
    result = run(args.dataset, opts)
    print(json.dumps(result, indent=2) if args.json else summary(result))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    _add_beir(sub)
    run_cli.add_parser(sub)  # `run`: the answer-quality suites (eval/run_cli.py)
    args = parser.parse_args(argv)
    handlers = {"beir": _run_beir, "run": run_cli.run}
    try:
        return handlers[args.command](args)
    except CitelineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    sys.exit(main())
