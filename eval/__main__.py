"""python -m eval beir DATASET_DIR [--retriever hybrid|dense|bm25] [--split test|dev|train] [--json]
python -m eval run [SUITE ...] [--out DIR] [--baseline REPORT.json]
python -m eval medquad [DIR] [--limit N] [--max-docs N] [--json] [--out DIR]
python -m eval verify [--split dev|train] [--json] [--out DIR]
python -m eval all [--data DIR] [--out DIR]   (what `make eval` runs)"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from citeline.environment import set_offline_defaults
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


_positive_or_zero = run_cli.int_at_least(0)


def _add_medquad(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from eval.medquad import DEFAULT_DIR, DEFAULT_LIMIT

    p = sub.add_parser(
        "medquad",
        help="MedQuAD questions answered from their own answers (cited and supported?)",
        description="Index the MedQuAD answers as documents in a temporary CITELINE_HOME with "
        "the app's ingest, ask the questions through citeline.pipeline.answer, and score whether "
        "the source answer is cited and supported; writes medquad.json and medquad.md to --out.",
    )
    p.add_argument(
        "dataset",
        type=Path,
        nargs="?",
        default=DEFAULT_DIR,
        help="folder with the MedQuAD JSONL (default ../shared/data/medquad)",
    )
    p.add_argument(
        "--limit",
        type=_positive_or_zero,
        default=DEFAULT_LIMIT,
        help=f"questions asked, sampled across the NIH sources (default {DEFAULT_LIMIT}; 0: all)",
    )
    p.add_argument(
        "--max-docs",
        type=_positive_or_zero,
        default=None,
        help="index only N answers: the asked questions' own, then a fixed sample (default all)",
    )
    p.add_argument(
        "--split",
        choices=("test", "dev"),
        default="test",
        help="test: the questions reported on (default); dev: the next 100 of the same order, "
        "held out of the reranker's training, for choosing settings (never reported as results)",
    )
    p.add_argument("--cache", type=Path, default=None, help="embedding cache folder")
    p.add_argument("--out", type=Path, default=Path("reports/eval"), help="report folder")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")


def _run_medquad(args: argparse.Namespace) -> int:
    from eval.medquad import Options, run, summary_line, write

    if not args.dataset.exists():
        print(
            f"error: {args.dataset} does not exist (see ../shared/data/README.md)", file=sys.stderr
        )
        return 2
    opts = Options(
        limit=args.limit or None,
        max_docs=args.max_docs or None,
        cache=args.cache,
        split=args.split,
    )
    result = run(args.dataset, opts)
    paths = write(result, args.out)
    if args.json:
        keys = ("dataset", "documents", "chunks", "summary", "by_source", "timings", "seconds")
        print(json.dumps({k: result[k] for k in keys}, indent=2))
    else:
        print(summary_line(result))
    print(f"reports: {', '.join(str(p) for p in paths.values())}", file=sys.stderr)
    return 0


def _add_verify(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from eval.verify import SCIFACT

    p = sub.add_parser(
        "verify",
        help="the claim verifier on SciFact claims and the perturbation suite",
        description="Accept rates of citeline/verify.py: SciFact SUPPORT/CONTRADICT claims "
        "against their rationale sentences and NEI claims against their cited abstracts, and "
        "the generated perturbation suite (faithful paraphrases and corruptions by type); "
        "writes verify.json and verify.md to --out.",
    )
    p.add_argument("--split", choices=("dev", "train"), default="dev", help="SciFact split")
    p.add_argument("--scifact", type=Path, default=SCIFACT, help="SciFact original folder")
    p.add_argument("--out", type=Path, default=Path("reports/eval"), help="report folder")
    p.add_argument("--json", action="store_true", help="print the result as JSON")


def _run_verify(args: argparse.Namespace) -> int:
    from eval import verify

    result = verify.run(args.split, args.scifact, log=lambda m: print(m, file=sys.stderr))
    paths = verify.write(result, args.out)
    print(json.dumps(result, indent=2) if args.json else verify.markdown(result))
    print(f"reports: {', '.join(str(p) for p in paths)}", file=sys.stderr)
    return 0


def _add_all(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from eval.external import DEFAULT_DATA

    p = sub.add_parser(
        "all",
        help="everything (make eval): every suite, the BEIR runs, MedQuAD and the verifier",
        description="Run every bundled suite (python -m eval run --all), BEIR NFCorpus and "
        "SciFact (hybrid), MedQuAD and the verifier eval (python -m eval verify) from --data, write their reports into --out and add the "
        "external results to report.md and report.html. Absent data sets are skipped. Exit 1 "
        "when a suite fails or an external run raises.",
    )
    p.add_argument(
        "--data", type=Path, default=DEFAULT_DATA, help="the shared data folder (../shared/data)"
    )
    p.add_argument("--out", type=Path, default=Path("reports/eval"), help="report folder")
    p.add_argument(
        "--medquad-limit",
        type=_positive_or_zero,
        default=None,
        help="questions of the MedQuAD run (default: its own default; 0: all)",
    )


def _run_all(args: argparse.Namespace) -> int:
    from eval import verify
    from eval.external import run_all

    rc = run_all(args.data, args.out, medquad_limit=args.medquad_limit)
    print("== verifier (SciFact dev, perturbation suite) ==", file=sys.stderr)
    try:
        result = verify.run("dev", args.data / "scifact" / "original")
    except Exception as exc:  # reported like the other external runs: exit 1, the rest kept
        print(f"error: verifier eval: {exc.__class__.__name__}: {exc}")
        return 1
    verify.write(result, args.out)
    print(verify.markdown(result))
    return rc


def main(argv: list[str] | None = None) -> int:
    set_offline_defaults()
    parser = argparse.ArgumentParser(prog="python -m eval", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    _add_beir(sub)
    run_cli.add_parser(sub)  # `run`: the answer-quality suites (eval/run_cli.py)
    _add_medquad(sub)
    _add_verify(sub)
    _add_all(sub)
    args = parser.parse_args(argv)
    handlers = {
        "beir": _run_beir,
        "run": run_cli.run,
        "medquad": _run_medquad,
        "verify": _run_verify,
        "all": _run_all,
    }
    try:
        return handlers[args.command](args)
    except CitelineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    sys.exit(main())
