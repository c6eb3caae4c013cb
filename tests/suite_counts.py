"""What the adversarial suite actually exercised, printed at the end of the pytest run
(`pytest_terminal_summary` in conftest.py). Tests add what they ran, not constants."""

from __future__ import annotations

from collections import Counter

LABELS = {
    "malformed_files": "malformed files ingested (zoo)",
    "fuzz_examples": "generated loader inputs (hypothesis)",
    "adversarial_questions": "adversarial questions answered",
    "kill_points": "kill -9 points (process killed and recovered)",
    "concurrent_calls": "concurrent answer() calls during an ingest",
}
counts: Counter[str] = Counter()


def record(key: str, n: int = 1) -> None:
    assert key in LABELS, key
    counts[key] += n


def summary_lines() -> list[str]:
    return [f"{LABELS[k]}: {counts[k]}" for k in LABELS if k in counts]
