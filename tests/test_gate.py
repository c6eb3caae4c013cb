"""The password gate's throttle (citeline/gate.py): logic on an explicit clock."""

from __future__ import annotations

import itertools

from citeline import gate


def test_the_delay_starts_after_five_wrong_passwords_grows_and_is_capped() -> None:
    delays = [gate.delay_after(n) for n in range(1, 14)]
    assert delays[:4] == [0.0] * 4  # the first four wrong passwords cost nothing
    growing = delays[4:]
    assert growing[0] > 0
    assert all(b >= a for a, b in itertools.pairwise(growing))
    assert growing[1] == 2 * growing[0] and growing[2] == 2 * growing[1]
    assert max(growing) == gate.MAX_DELAY == growing[-1] == gate.delay_after(10_000)


def test_a_try_during_the_wait_is_not_checked_and_success_resets() -> None:
    attempts, now = gate.Attempts(), 1000.0
    for n in range(1, gate.FREE_TRIES):
        out = attempts.attempt("guess", "right", now)
        assert out.checked and not out.ok and out.wait == 0 and out.failures == n
        assert gate.describe(out) == "Wrong password."
    fifth = attempts.attempt("guess", "right", now)
    assert fifth.wait == gate.FIRST_DELAY and "next try is checked in 2 s" in gate.describe(fifth)
    # Even the right password is not compared before the wait is over.
    early = attempts.attempt("right", "right", now + gate.FIRST_DELAY - 0.5)
    assert not early.ok and not early.checked and attempts.failures == gate.FREE_TRIES
    assert gate.describe(early).startswith("Too many wrong passwords: wait 1 s")
    sixth = attempts.attempt("guess", "right", now + gate.FIRST_DELAY)
    assert sixth.checked and sixth.wait == 2 * gate.FIRST_DELAY
    ok = attempts.attempt("right", "right", now + 3 * gate.FIRST_DELAY)
    assert ok.ok and attempts.failures == 0 and attempts.wait_left(now + 3 * gate.FIRST_DELAY) == 0


def test_the_comparison_is_exact() -> None:
    assert gate.matches("s3cret", "s3cret")
    assert not gate.matches("s3cre", "s3cret") and not gate.matches("S3CRET", "s3cret")
    assert gate.matches("pässwörd", "pässwörd") and not gate.matches("", "x")
