"""Eval suites: YAML files of questions with expectations, loaded and validated strictly.

A typo in a suite must not silently weaken the gate: unknown keys, wrong types, duplicate keys,
duplicate case ids, unknown flags and unknown threshold names are all errors that name the file,
the case and the field.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from citeline.config import PROJECT_ROOT
from citeline.conversation import Turn
from citeline.errors import ConfigError
from citeline.types import FLAGS

SUITES_DIR = PROJECT_ROOT / "eval" / "suites"
AUDIENCES = ("clinician", "patient")
ROLES = ("user", "assistant")
SUITE_KEYS = ("name", "description", "corpus", "thresholds", "cases")
CASE_KEYS = (
    "id",
    "question",
    "history",
    "audience",
    "expect_docs",
    "must_include",
    "must_not_include",
    "expect_refusal",
    "expect_flags",
    "verdict_must_include",
    "max_bullets",
    "expect_not_given",
    "references_must_include",
    "references_must_not_include",
)
# The flag an answer carries when the question's subject is indexed but the property asked for
# (a dose, a duration, a regimen, a cut-off) is not: "the indexed guidelines give no ... for X".
NOT_GIVEN_FLAG = "not_given"


class SuiteError(ConfigError):
    """A suite file is missing or malformed (a usage error: exit code 2)."""


@dataclass(frozen=True)
class Case:
    id: str
    question: str
    history: tuple[Turn, ...] = ()
    audience: str | None = None
    expect_docs: tuple[str, ...] = ()
    must_include: tuple[str, ...] = ()
    must_not_include: tuple[str, ...] = ()
    expect_refusal: bool = False
    expect_flags: tuple[str, ...] = ()
    # Verdict-level checks: every group must be in the verdict (a group is any-of phrases).
    verdict_must_include: tuple[tuple[str, ...], ...] = ()
    max_bullets: int | None = None
    # Refused, or answered with the not-given flag: both are right for a missing property.
    expect_not_given: bool = False
    # Phrase groups the references' title, publisher, year and section must (not) show.
    references_must_include: tuple[tuple[str, ...], ...] = ()
    references_must_not_include: tuple[tuple[str, ...], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "question": self.question,
            "history": [dict(t) for t in self.history],
            "audience": self.audience,
            "expect_docs": list(self.expect_docs),
            "must_include": list(self.must_include),
            "must_not_include": list(self.must_not_include),
            "expect_refusal": self.expect_refusal,
            "expect_flags": list(self.expect_flags),
            "verdict_must_include": [
                g[0] if len(g) == 1 else list(g) for g in self.verdict_must_include
            ],
            "max_bullets": self.max_bullets,
            "expect_not_given": self.expect_not_given,
            "references_must_include": [list(g) for g in self.references_must_include],
            "references_must_not_include": [list(g) for g in self.references_must_not_include],
        }


@dataclass(frozen=True)
class Suite:
    name: str
    path: Path
    cases: tuple[Case, ...]
    description: str = ""
    thresholds: Mapping[str, float] = field(default_factory=dict)
    # The suite's own corpus (files or folders, resolved against the repository root), indexed
    # into a temporary CITELINE_HOME of its own; None means the bundled corpus/.
    corpus: tuple[Path, ...] | None = None

    @property
    def missing_corpus(self) -> list[Path]:
        """Paths of the suite's corpus that do not exist (the suite is then skipped)."""
        return [p for p in self.corpus or () if not p.exists()]


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate mapping keys (PyYAML keeps the last one silently)."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,
)


def bundled_suites() -> list[Path]:
    """Every suite shipped in eval/suites, in name order."""
    return sorted(SUITES_DIR.glob("*.yaml"))


def resolve_suite(spec: str) -> Path:
    """A suite argument: an existing file path, or the name of a bundled suite."""
    path = Path(spec)
    if path.is_file():
        return path
    named = SUITES_DIR / f"{spec.removesuffix('.yaml')}.yaml"
    if named.is_file() and "/" not in spec:
        return named
    known = ", ".join(p.stem for p in bundled_suites()) or "none"
    raise SuiteError(f"suite {spec!r} is neither a file nor a bundled suite (bundled: {known})")


def load_suite(path: Path, threshold_names: Sequence[str] = ()) -> Suite:
    """Parse and validate one suite file. `threshold_names` lists the accepted threshold keys
    (empty: accept none, so a caller that forgets them cannot pass an unchecked gate)."""
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)
    except OSError as exc:
        raise SuiteError(f"{path}: cannot read the suite ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise SuiteError(f"{path}: not valid YAML: {exc}") from None
    where = str(path)
    data = _mapping(raw, where)
    _no_unknown_keys(data, SUITE_KEYS, where)
    name = data.get("name", path.stem)
    _check_type(name, str, f"{where}: name")
    description = data.get("description", "")
    _check_type(description, str, f"{where}: description")
    corpus = _corpus(data["corpus"], f"{where}: corpus") if "corpus" in data else None
    thresholds = _thresholds(data.get("thresholds", {}), threshold_names, f"{where}: thresholds")
    raw_cases = data.get("cases")
    if not isinstance(raw_cases, list) or not raw_cases:
        raise SuiteError(f"{where}: cases must be a non-empty list")
    cases: list[Case] = []
    ids: set[str] = set()
    for i, item in enumerate(raw_cases):
        case = _case(item, i, name, where)
        if case.id in ids:
            raise SuiteError(f"{where}: cases[{i}]: duplicate id {case.id!r}")
        ids.add(case.id)
        cases.append(case)
    return Suite(name, path, tuple(cases), description, thresholds, corpus)


def _corpus(value: Any, where: str) -> tuple[Path, ...]:
    """`corpus: PATH` or `corpus: [PATH, ...]`, relative to the repository root. Existence is
    not checked here: third-party data may be absent, and the runner skips the suite then."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items:
        raise SuiteError(
            f"{where}: must be a path or a non-empty list of paths, not {_kind(value)}"
        )
    paths: list[Path] = []
    for j, item in enumerate(items):
        if not isinstance(item, str) or not item.strip():
            raise SuiteError(f"{where}[{j}]: must be a non-empty path string, not {item!r}")
        p = Path(item.strip())
        paths.append(p if p.is_absolute() else PROJECT_ROOT / p)
    if len(set(paths)) != len(paths):
        raise SuiteError(f"{where}: a path is listed twice")
    return tuple(paths)


def _case(item: Any, i: int, suite_name: str, where: str) -> Case:
    data = _mapping(item, f"{where}: cases[{i}]")
    label = f"{where}: cases[{i}]" + (f" ({data['id']})" if isinstance(data.get("id"), str) else "")
    _no_unknown_keys(data, CASE_KEYS, label)
    case_id = data.get("id", f"{suite_name}-{i + 1:03d}")
    _check_type(case_id, str, f"{label}: id")
    if not case_id.strip():
        raise SuiteError(f"{label}: id must not be empty")
    if "question" not in data:
        raise SuiteError(f"{label}: question is required (an empty string is allowed)")
    # An empty or blank question is a legitimate case (the product must refuse it).
    _check_type(data["question"], str, f"{label}: question")
    audience = data.get("audience")
    if audience is not None and audience not in AUDIENCES:
        raise SuiteError(f"{label}: audience must be one of {AUDIENCES}, not {audience!r}")
    expect_refusal = data.get("expect_refusal", False)
    _check_type(expect_refusal, bool, f"{label}: expect_refusal")
    flags = _strings(data.get("expect_flags", []), f"{label}: expect_flags")
    unknown = [f for f in flags if f not in FLAGS]
    if unknown:
        raise SuiteError(f"{label}: expect_flags: unknown flag(s) {unknown} (known: {FLAGS})")
    not_given = data.get("expect_not_given", False)
    _check_type(not_given, bool, f"{label}: expect_not_given")
    _compatible(expect_refusal, not_given, "verdict_must_include" in data, label)
    return Case(
        id=case_id,
        question=data["question"],
        history=_history(data.get("history", []), f"{label}: history"),
        audience=audience,
        expect_docs=_strings(data.get("expect_docs", []), f"{label}: expect_docs"),
        must_include=_strings(data.get("must_include", []), f"{label}: must_include"),
        must_not_include=_strings(data.get("must_not_include", []), f"{label}: must_not_include"),
        expect_refusal=expect_refusal,
        expect_flags=flags,
        verdict_must_include=_groups(
            data.get("verdict_must_include", []), f"{label}: verdict_must_include"
        ),
        max_bullets=(
            _max_bullets(data["max_bullets"], f"{label}: max_bullets")
            if "max_bullets" in data
            else None
        ),
        expect_not_given=not_given,
        references_must_include=_groups(
            data.get("references_must_include", []), f"{label}: references_must_include"
        ),
        references_must_not_include=_groups(
            data.get("references_must_not_include", []), f"{label}: references_must_not_include"
        ),
    )


def _compatible(refusal: bool, not_given: bool, verdict: bool, label: str) -> None:
    if refusal and not_given:
        raise SuiteError(
            f"{label}: expect_not_given already accepts a refusal; drop expect_refusal: true"
        )
    if refusal and verdict:
        raise SuiteError(f"{label}: verdict_must_include cannot hold for an expected refusal")


def _groups(value: Any, where: str) -> tuple[tuple[str, ...], ...]:
    """`[phrase, [alternative, alternative], ...]`: a string is a group of one."""
    if not isinstance(value, list):
        raise SuiteError(
            f"{where}: must be a list of phrases or lists of phrases, not {_kind(value)}"
        )
    groups: list[tuple[str, ...]] = []
    for j, item in enumerate(value):
        if isinstance(item, str):
            item = [item]
        if not isinstance(item, list) or not item:
            raise SuiteError(
                f"{where}[{j}]: must be a phrase or a non-empty list, not {_kind(item)}"
            )
        groups.append(_strings(item, f"{where}[{j}]"))
    return tuple(groups)


def _max_bullets(value: Any, where: str) -> int:
    _check_type(value, int, where)
    if value < 0:
        raise SuiteError(f"{where}: must be 0 or more, not {value}")
    return int(value)


def _history(value: Any, where: str) -> tuple[Turn, ...]:
    if not isinstance(value, list):
        raise SuiteError(f"{where}: must be a list of {{role, content}}, not {_kind(value)}")
    turns: list[Turn] = []
    for j, t in enumerate(value):
        turn = _mapping(t, f"{where}[{j}]")
        _no_unknown_keys(turn, ("role", "content"), f"{where}[{j}]")
        if turn.get("role") not in ROLES:
            raise SuiteError(f"{where}[{j}]: role must be one of {ROLES}, not {turn.get('role')!r}")
        _check_type(turn.get("content"), str, f"{where}[{j}]: content")
        turns.append(Turn(role=turn["role"], content=turn["content"]))
    return tuple(turns)


def _thresholds(value: Any, names: Sequence[str], where: str) -> dict[str, float]:
    data = _mapping(value, where) if value is not None else {}
    unknown = sorted(k for k in data if k not in names)
    if unknown:
        raise SuiteError(f"{where}: unknown threshold(s) {unknown} (known: {', '.join(names)})")
    out: dict[str, float] = {}
    for k, v in data.items():
        # bool is an int subclass: `true` is a typo, not the number 1.
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise SuiteError(f"{where}: {k} must be a number, not {_kind(v)}")
        out[str(k)] = float(v)
    return out


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise SuiteError(f"{where}: must be a list of strings, not {_kind(value)}")
    for j, s in enumerate(value):
        if not isinstance(s, str) or not s.strip():
            raise SuiteError(f"{where}[{j}]: must be a non-empty string, not {s!r}")
    return tuple(value)


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise SuiteError(f"{where}: must be a mapping, not {_kind(value)}")
    bad = [k for k in value if not isinstance(k, str)]
    if bad:
        raise SuiteError(f"{where}: keys must be strings, not {bad}")
    return value


def _no_unknown_keys(data: Mapping[str, Any], allowed: Sequence[str], where: str) -> None:
    unknown = sorted(k for k in data if k not in allowed)
    if unknown:
        raise SuiteError(f"{where}: unknown key(s) {unknown} (allowed: {', '.join(allowed)})")


def _check_type(value: Any, kind: type, where: str) -> None:
    # bool is a subclass of int; only an explicit bool is accepted where bool is asked for.
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise SuiteError(f"{where}: must be {kind.__name__}, not {_kind(value)}")


def _kind(value: Any) -> str:
    return "null" if value is None else f"{type(value).__name__} {value!r}"[:80]
