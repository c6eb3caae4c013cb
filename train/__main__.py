"""`python -m train <model> [options]`: train one of the project's models (see train/*.py).

Subcommands: ``nli`` (the verifier's reader, train/nli.py), ``reranker`` (an experiment). Another model adds its module
and one line to MODELS.
"""

from __future__ import annotations

import argparse
import importlib
import sys

MODELS = {"nli": "train.nli", "reranker": "train.reranker"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m train", description=__doc__)
    sub = parser.add_subparsers(dest="model", required=True)
    modules = {}
    for name, module in MODELS.items():
        mod = importlib.import_module(module)
        modules[name] = mod
        mod.add_arguments(sub.add_parser(name, help=(mod.__doc__ or "").splitlines()[0]))
    args = parser.parse_args(argv)
    return int(modules[args.model].run(args))


if __name__ == "__main__":
    sys.exit(main())
