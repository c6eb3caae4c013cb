"""How soon the app's page shows the chat input: `streamlit run app.py` on a loopback port, opened
in Debian Chromium (Playwright), seconds from `page.goto` to the chat input being visible.

    python -m bench.app_page [--home .citeline] [--opens 5] [--out FILE]

The first open is the server's first run (it opens the index and loads the model); the others
reuse the server's cached engine. Prints JSON: every open's seconds, the first, the median of
the later ones, and the seconds from spawning the server to its health check answering.
Needs /usr/bin/chromium (`make browser`) and the dev requirements (playwright).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from citeline.config import PROJECT_ROOT

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
INPUT = "stChatInputTextArea"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_healthy(proc: subprocess.Popen[bytes], url: str, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:  # loopback only
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer within {timeout_s:.0f} s")


def measure(home: Path, opens: int = 5) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    port = _free_port()
    env = dict(os.environ, CITELINE_HOME=str(home), HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1")
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
           "--server.address", "127.0.0.1", "--server.port", str(port),
           "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]  # fmt: skip
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_healthy(proc, f"{url}/_stcore/health")
        healthy = time.monotonic() - t0
        seconds = []
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
            for _ in range(opens):
                ctx = browser.new_context(viewport={"width": 1280, "height": 900})
                page = ctx.new_page()
                start = time.monotonic()
                page.goto(url, wait_until="domcontentloaded")
                page.get_by_test_id(INPUT).wait_for(state="visible", timeout=120_000)
                seconds.append(round(time.monotonic() - start, 3))
                # let the run finish (the first one loads the engine) before the next open
                page.wait_for_timeout(3000 if len(seconds) == 1 else 500)
                ctx.close()
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=15)
    later = seconds[1:] or seconds
    return {
        "app_server_healthy_s": round(healthy, 3),
        "app_chat_input_s": seconds,
        "app_chat_input_first_s": seconds[0],
        "app_chat_input_median_s": round(statistics.median(later), 3),
        "load_average": os.getloadavg()[0],
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--home", type=Path, default=PROJECT_ROOT / ".citeline")
    ap.add_argument("--opens", type=int, default=5)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    if not CHROMIUM.exists():
        print(f"{CHROMIUM} is missing: run `make browser`", file=sys.stderr)
        return 2
    result = measure(args.home, args.opens)
    text = json.dumps(result, indent=2)
    if args.out:
        args.out.write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
