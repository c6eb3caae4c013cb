"""Fault points for the kill -9 and failing-disk tests (test-only, not settings).

`CITELINE_TEST_CRASH_AT=name` (or `name:N` for the N-th time the point is reached) makes the
process SIGKILL itself there: nothing is flushed or cleaned up, exactly as with `kill -9`.
`CITELINE_TEST_FAIL_AT=name[:N]` makes the point raise OSError(ENOSPC) instead, as a write on a
full disk would. Both are read once at import (`arm()` reads them again, for a forked test
child); with neither set, a point costs one dictionary lookup.
"""

from __future__ import annotations

import errno
import os
import signal
from collections import Counter

ENV = "CITELINE_TEST_CRASH_AT"
FAIL_ENV = "CITELINE_TEST_FAIL_AT"
_armed: dict[str, tuple[str, int]] = {}  # point -> ("kill" | "fail", occurrence)
_hits: Counter[str] = Counter()


def arm() -> None:
    """(Re)read the fault variables and reset the hit counts."""
    _armed.clear()
    _hits.clear()
    for action, var in (("fail", FAIL_ENV), ("kill", ENV)):
        spec = os.environ.get(var)
        if spec:
            point, _, nth = spec.partition(":")
            _armed[point] = (action, int(nth or 1))


def crash_point(name: str) -> None:
    if name not in _armed:
        return
    action, nth = _armed[name]
    _hits[name] += 1
    if _hits[name] < nth:
        return
    if action == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    raise OSError(errno.ENOSPC, f"No space left on device (simulated at {name})")


arm()
