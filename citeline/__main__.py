"""python -m citeline ask "QUESTION" [--json] [--history FILE] [--audience clinician|patient]
python -m citeline chat          (interactive, keeps the conversation)"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from citeline.config import Settings
from citeline.conversation import Turn
from citeline.environment import set_offline_defaults
from citeline.errors import CitelineError
from citeline.pipeline import answer
from citeline.render import to_markdown


def _history(path: Path | None) -> list[Turn]:
    if path is None:
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise CitelineError(
            f"--history {path}: not a readable JSON file ({exc.__class__.__name__})"
        ) from None
    if not isinstance(data, list) or not all(
        isinstance(t, dict)
        and t.get("role") in ("user", "assistant")
        and isinstance(t.get("content"), str)
        for t in data
    ):
        raise CitelineError(
            '--history must be a JSON list of {"role": "user"|"assistant", "content": "..."}'
        )
    return [Turn(role=t["role"], content=t["content"]) for t in data]


def main(argv: list[str] | None = None) -> int:
    set_offline_defaults()
    parser = argparse.ArgumentParser(prog="python -m citeline")
    sub = parser.add_subparsers(dest="command", required=True)
    ask = sub.add_parser("ask", help="answer one question")
    ask.add_argument("question")
    ask.add_argument("--json", action="store_true", help="print the Answer as JSON")
    ask.add_argument("--history", type=Path, help="JSON list of earlier turns")
    ask.add_argument("--audience", choices=("clinician", "patient"))
    chat = sub.add_parser("chat", help="ask questions interactively (follow-ups keep context)")
    chat.add_argument("--audience", choices=("clinician", "patient"))
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
        if args.command == "ask":
            ans = answer(args.question, _history(args.history), settings, audience=args.audience)
            print(
                json.dumps(ans.to_dict(), indent=2, ensure_ascii=False)
                if args.json
                else to_markdown(ans)
            )
            return 0
        history: list[Turn] = []
        while True:
            try:
                q = input("\nquestion> ").strip()
            except EOFError:
                return 0
            if not q:
                continue
            ans = answer(q, history, settings, audience=args.audience)
            print(to_markdown(ans))
            history += [
                Turn(role="user", content=q),
                Turn(
                    role="assistant",
                    content=ans.verdict.text if ans.verdict else ans.refusal_reason,
                ),
            ]
    except CitelineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    sys.exit(main())
