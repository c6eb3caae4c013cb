"""Crash points for the kill -9 tests: `CITELINE_TEST_CRASH_AT=name` (or `name:N` for the N-th
time the point is reached) makes the process SIGKILL itself there: nothing is flushed or cleaned
up, exactly as with `kill -9`."""

from __future__ import annotations

import os
import signal
from collections import Counter

ENV = "CITELINE_TEST_CRASH_AT"
_hits: Counter[str] = Counter()


def crash_point(name: str) -> None:
    target = os.environ.get(ENV)
    if not target:
        return
    point, _, nth = target.partition(":")
    if point != name:
        return
    _hits[name] += 1
    if _hits[name] >= int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)
