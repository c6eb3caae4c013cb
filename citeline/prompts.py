"""Prompt templates and fixed texts, kept as files in prompts/ and rendered with exact variables."""

from __future__ import annotations

import functools
import hashlib
import string
from typing import Any

import yaml

from citeline.config import PROJECT_ROOT

PROMPTS_DIR = PROJECT_ROOT / "prompts"


@functools.cache
def text(name: str) -> str:
    """The raw text of prompts/NAME (e.g. 'disclaimer.md')."""
    return (PROMPTS_DIR / name).read_text(encoding="utf-8").strip()


@functools.cache
def data(name: str) -> Any:
    """A YAML file of prompts/ (glossary, crisis lines)."""
    return yaml.safe_load((PROMPTS_DIR / name).read_text(encoding="utf-8"))


def variables(name: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(text(name)) if f}


def render(name: str, **values: Any) -> str:
    """Fill a template; a missing or unexpected variable is an error, never a silent blank."""
    expected = variables(name)
    if set(values) != expected:
        raise KeyError(f"{name} takes {sorted(expected)}, got {sorted(values)}")
    return text(name).format(**values)


def disclaimer(audience: str) -> str:
    return text("disclaimer_patient.md" if audience == "patient" else "disclaimer.md")


def hashes() -> dict[str, str]:
    """sha256 (first 12 hex) of every prompt file, recorded in eval reports."""
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()[:12]
        for p in sorted(PROMPTS_DIR.iterdir())
        if p.is_file()
    }
