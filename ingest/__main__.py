"""python -m ingest [PATH ...] [--prune] [--rebuild] [--json]"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from citeline.config import Settings
from citeline.environment import set_offline_defaults
from citeline.errors import CitelineError
from citeline.store import DatabaseError
from ingest.sync import sync, tqdm_progress


def main(argv: list[str] | None = None) -> int:
    set_offline_defaults()
    parser = argparse.ArgumentParser(prog="python -m ingest", description=__doc__)
    parser.add_argument("paths", nargs="*", type=Path, help="files or folders (default: corpus/)")
    parser.add_argument("--prune", action="store_true", help="remove documents no longer present")
    parser.add_argument("--rebuild", action="store_true", help="drop the index and ingest anew")
    parser.add_argument("--json", action="store_true", help="print the change report as JSON")
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
        paths = args.paths or [settings.corpus]
        if not any(p.exists() for p in paths):
            print(f"error: none of {', '.join(map(str, paths))} exists", file=sys.stderr)
            return 2
        report = sync(
            paths,
            settings,
            prune=args.prune,
            rebuild=args.rebuild,
            progress=tqdm_progress(not args.json),
        )
    except CitelineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (OSError, DatabaseError) as exc:  # a full disk, a read-only or unreadable folder
        print(f"error: cannot write the index: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print(report.summary())
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
