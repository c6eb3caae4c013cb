"""Run the real CLIs in fresh child processes without paying the imports each time.

`python -m ingest` spends ~10 s (more on a busy machine) importing torch, transformers and
Chroma before it reads a file. This server imports them (and loads the model) once and forks
one child per request; the child runs the real CLI `main()` (`ingest` or `citeline`) with its
own environment and output files, and ends like a CLI (its exit code), or dies by SIGKILL at a fault point
(`citeline.faults`), or is killed from outside. The parent never encodes nor opens an index, so
no OpenMP pool, index connection or file lock is inherited across the fork.

Protocol (JSON lines): request {"cmd": "ingest"|"citeline"|"upload"|"answer_loop", "args": [...],
"env": {...}, "out": PATH, "err": PATH, "fsize": BYTES (optional RLIMIT_FSIZE), "drop_dac":
true (optional: no CAP_DAC_OVERRIDE/CAP_DAC_READ_SEARCH, so permissions bind root too)};
replies {"pid": N} right after the fork and {"pid": N, "rc": CODE} when the child has ended
(CODE is negative for a signal, like subprocess).
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import traceback
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OFFLINE_SITE = Path(__file__).resolve().parent / "offline_site"


def _child(req: dict) -> int:
    import resource
    import signal

    from citeline import faults

    for fd, key in ((1, "out"), (2, "err")):
        f = os.open(req[key], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(f, fd)
        os.close(f)
    os.environ.update(req.get("env", {}))
    faults.arm()
    if req.get("drop_dac"):  # root that file permissions apply to (see _drop_dac)
        _drop_dac()
    if req.get("fsize"):  # a disk that fills up: writes past this size fail with EFBIG
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (req["fsize"], resource.RLIM_INFINITY))
    args = req.get("args", [])
    if req["cmd"] == "ingest":
        from ingest.__main__ import main as ingest_main

        return ingest_main(args)
    if req["cmd"] == "citeline":
        from citeline.__main__ import main as citeline_main

        return citeline_main(args)
    if req["cmd"] == "upload":  # the app's "Add a guideline": args [file, name, meta JSON]
        from citeline.config import Settings
        from citeline.errors import CitelineError
        from ingest.sync import add_upload

        try:
            report = add_upload(
                args[1], Path(args[0]).read_bytes(), Settings.from_env(), json.loads(args[2])
            )
        except CitelineError as exc:  # what the app shows with st.error
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(json.dumps(report.to_dict()))
        return 1 if report.failed else 0
    if req["cmd"] == "answer_loop":
        # An app process answering question after question (one JSON line each) until killed.
        from citeline.config import Settings
        from citeline.pipeline import answer

        settings = Settings.from_env()
        i = 0
        while True:
            ans = answer(args[i % len(args)], [], settings)
            print(json.dumps({"i": i, "refused": ans.refused}), flush=True)
            i += 1
    raise SystemExit(f"unknown command {req['cmd']!r}")


CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH = 1, 2


def _drop_dac() -> None:
    """Drop the two capabilities that let root ignore file permissions, for this (single-
    threaded, freshly forked) process: chmod 000 then stops root as it stops anyone else."""
    import ctypes

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [(n, ctypes.c_uint32) for n in ("effective", "permitted", "inheritable")]

    libc = ctypes.CDLL(None, use_errno=True)
    header = Header(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3
    data = (Data * 2)()
    if libc.capget(ctypes.byref(header), data) != 0:
        raise OSError(ctypes.get_errno(), "capget failed")
    mask = ~((1 << CAP_DAC_OVERRIDE) | (1 << CAP_DAC_READ_SEARCH)) & 0xFFFFFFFF
    data[0].effective &= mask
    data[0].permitted &= mask
    data[0].inheritable &= mask
    if libc.capset(ctypes.byref(header), data) != 0:
        raise OSError(ctypes.get_errno(), "capset failed")


def main() -> None:
    import importlib

    from citeline.environment import set_offline_defaults

    # The offline environment first, then the heavy imports, once: every child inherits them.
    set_offline_defaults()
    for name in (
        "citeline",
        "chromadb",
        "chromadb.api.rust",  # imported by the first PersistentClient: ~2 s on a busy box
        "sentence_transformers",
        "citeline.__main__",
        "citeline.pipeline",
        "ingest.__main__",
        "ingest.sync",
    ):
        importlib.import_module(name)
    # The model too: loading runs no inference, so no OpenMP pool exists yet to break in a child
    # (a model that has encoded before fork() deadlocks the child's first encode).
    from citeline.embeddings import get_embedder

    get_embedder("")

    print(json.dumps({"ready": os.getpid()}), flush=True)
    for line in sys.stdin:
        req = json.loads(line)
        pid = os.fork()
        if pid == 0:
            rc = 1
            try:
                rc = _child(req)
            except SystemExit as exc:
                rc = exc.code if isinstance(exc.code, int) else 1
            except BaseException:
                traceback.print_exc()  # like an uncaught exception in the real CLI: exit 1
                rc = 1
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(rc)
        print(json.dumps({"pid": pid}), flush=True)
        _, status = os.waitpid(pid, 0)
        print(json.dumps({"pid": pid, "rc": os.waitstatus_to_exitcode(status)}), flush=True)


def child_env(**extra: str) -> dict[str, str]:
    """A clean environment for test subprocesses: offline, egress-guarded, no stray CITELINE_*."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "ANONYMIZED_TELEMETRY": "False",
        "PYTHONPATH": f"{OFFLINE_SITE}{os.pathsep}{ROOT}",
    }
    env.update(extra)
    return env


@dataclass
class Result:
    pid: int
    rc: int
    stdout: str
    stderr: str


class Run:
    """A child started by the fork server; `wait()` for its end, or `kill()` it first."""

    def __init__(self, server: Forker, pid: int, out: Path, err: Path) -> None:
        self.server, self.pid, self.out, self.err = server, pid, out, err
        self.result: Result | None = None

    def output(self) -> str:
        """What the child has written to stdout so far."""
        try:
            return self.out.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:  # the child has not opened it yet
            return ""

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)

    def wait(self, timeout: float = 600) -> Result:
        if self.result is None:
            try:
                reply = self.server.replies.get(timeout=timeout)
            except queue.Empty:
                self.kill()
                self.server.replies.get(timeout=60)
                raise AssertionError(f"child {self.pid} still running after {timeout} s") from None
            self._finish(reply)
        assert self.result is not None
        return self.result

    def poll(self) -> Result | None:
        """The result if the child has ended, else None (without waiting)."""
        if self.result is None:
            try:
                self._finish(self.server.replies.get_nowait())
            except queue.Empty:
                return None
        return self.result

    def _finish(self, reply: dict) -> None:
        assert reply["pid"] == self.pid, reply
        self.result = Result(
            self.pid,
            reply["rc"],
            self.output(),
            self.err.read_text(encoding="utf-8", errors="replace") if self.err.exists() else "",
        )


class Forker:
    """Client of the fork server (one per test session; requests run one at a time)."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.n = 0
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.forkserver"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env=child_env(),
        )
        self.replies: queue.Queue[dict] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        ready = self.replies.get(timeout=600)
        assert "ready" in ready, ready

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.replies.put(json.loads(line))

    def start(
        self,
        cmd: str,
        args: list[str],
        env: dict[str, str],
        fsize: int | None = None,
        drop_dac: bool = False,
    ) -> Run:
        assert self.proc.stdin is not None
        self.n += 1
        out, err = self.workdir / f"{self.n}.out", self.workdir / f"{self.n}.err"
        req = {"cmd": cmd, "args": args, "env": env, "out": str(out), "err": str(err)}
        if fsize:
            req["fsize"] = fsize
        if drop_dac:
            req["drop_dac"] = True
        self.proc.stdin.write(json.dumps(req) + "\n")
        self.proc.stdin.flush()
        pid = self.replies.get(timeout=60)["pid"]
        return Run(self, pid, out, err)

    def run(
        self,
        cmd: str,
        args: list[str],
        env: dict[str, str],
        timeout: float = 600,
        fsize: int | None = None,
        drop_dac: bool = False,
    ) -> Result:
        return self.start(cmd, args, env, fsize, drop_dac).wait(timeout)

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:  # a child left running by a failed test
            self.proc.kill()
            self.proc.wait()


if __name__ == "__main__":
    main()
