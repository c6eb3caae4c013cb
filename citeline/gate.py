"""The app's password gate, without the UI: a constant-time comparison and a per-session
throttle. After FREE_TRIES wrong passwords in one browser session, each further try waits:
a try made before the wait is over is not checked at all, and each further wrong password
doubles the wait, up to MAX_DELAY. The page says how long (`describe`, `waiting`).

The throttle lives in the browser session (Streamlit `session_state`): a new session starts
afresh, so it slows guessing through one page, not an attacker who opens many (SECURITY.md:
an authenticating reverse proxy is the answer to that). Nothing here logs or keeps a password.
"""

from __future__ import annotations

import hmac
import math
import time
from dataclasses import dataclass

FREE_TRIES = 5  # wrong passwords before any wait
FIRST_DELAY = 2.0  # seconds after the FREE_TRIES-th wrong password, doubling with each more
MAX_DELAY = 60.0

clock = time.monotonic  # the throttle's clock (a test may replace it)


def delay_after(failures: int) -> float:
    """Seconds the next try must wait after `failures` wrong passwords in a row."""
    if failures < FREE_TRIES:
        return 0.0
    doublings = min(failures - FREE_TRIES, 32)  # past the cap anyway; no float overflow
    return min(MAX_DELAY, FIRST_DELAY * 2.0**doublings)


def matches(given: str, expected: str) -> bool:
    """Constant-time comparison (the time taken says nothing about how much of it matched)."""
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


@dataclass(frozen=True)
class Outcome:
    ok: bool
    checked: bool  # False: the try came before the wait was over and was not compared
    failures: int  # wrong passwords in a row so far
    wait: float  # seconds before the next try is checked


@dataclass
class Attempts:
    """The wrong passwords of one browser session."""

    failures: int = 0
    not_before: float = 0.0  # `clock()` time before which no try is checked

    def wait_left(self, now: float) -> float:
        return max(0.0, self.not_before - now)

    def attempt(self, given: str, expected: str, now: float) -> Outcome:
        left = self.wait_left(now)
        if left > 0:
            return Outcome(ok=False, checked=False, failures=self.failures, wait=left)
        if matches(given, expected):
            self.failures, self.not_before = 0, 0.0
            return Outcome(ok=True, checked=True, failures=0, wait=0.0)
        self.failures += 1
        delay = delay_after(self.failures)
        self.not_before = now + delay
        return Outcome(ok=False, checked=True, failures=self.failures, wait=delay)


def waiting(seconds: float) -> str:
    return (
        f"Too many wrong passwords: wait {math.ceil(seconds)} s before the next try "
        "(a password entered sooner is not checked)."
    )


def describe(outcome: Outcome) -> str:
    """What the page says after a try that failed."""
    if not outcome.checked:
        return waiting(outcome.wait)
    if outcome.wait <= 0:
        return "Wrong password."
    return (
        f"Wrong password ({outcome.failures} in a row). "
        f"The next try is checked in {math.ceil(outcome.wait)} s."
    )
