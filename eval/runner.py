"""Run eval suites: answer every case through `citeline.pipeline.answer` and score it.

One engine (index + embedder) serves every case of a corpus. Without `home` the bundled corpus is
ingested into a temporary CITELINE_HOME, so a run never depends on (or touches) a developer's index.
A suite with its own `corpus` gets a temporary CITELINE_HOME of its own (whatever `home` is).
Ingest vectors come through the embedding cache. When a path of that corpus is missing (third-party
data may be absent) the suite is skipped, with the reason, and does not fail the run.
"""

from __future__ import annotations

import platform
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from citeline import prompts
from citeline.citations import support
from citeline.config import PROJECT_ROOT, Settings
from citeline.embeddings import get_embedder
from citeline.pipeline import Engine, answer
from citeline.store import index_exists, open_index
from citeline.text import split_sentences
from citeline.types import Answer
from eval.answer_checks import bullet_stats
from eval.scoring import (
    METRICS,
    CaseResult,
    JointSupport,
    ThresholdCheck,
    check_thresholds,
    error_case,
    score_case,
    summarize,
)
from eval.suites import Case, Suite, SuiteError
from ingest.chunking import chunk_id

CORPUS = PROJECT_ROOT / "corpus"
Log = Callable[[str], None]


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr)


@dataclass
class SuiteResult:
    suite: Suite
    cases: list[CaseResult]
    metrics: dict[str, float | None]
    checks: list[ThresholdCheck]
    warnings: list[str] = field(default_factory=list)
    skipped: str = ""  # why the suite was not run (its corpus is missing); "" when it ran

    @classmethod
    def skip(cls, suite: Suite, reason: str) -> SuiteResult:
        return cls(suite, [], {m.name: None for m in METRICS}, [], skipped=reason)

    @property
    def errors(self) -> int:
        return sum(1 for c in self.cases if c.error)

    @property
    def bullet_counts(self) -> list[int]:
        """Bullets of every answered (not refused, not raised) case, in case order."""
        return [c.counts["bullets"] for c in self.cases if not c.error and not c.refused]

    @property
    def passed(self) -> bool:
        # A case that raised fails the suite even without a threshold that would notice it.
        # A skipped suite measured nothing, so it neither passes a threshold nor fails the run.
        return all(c.passed for c in self.checks) and not self.errors

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.suite.name,
            "path": str(self.suite.path),
            "description": self.suite.description,
            "corpus": None if self.suite.corpus is None else [str(p) for p in self.suite.corpus],
            "skipped": self.skipped or None,
            "passed": self.passed,
            "errors": self.errors,
            "metrics": self.metrics,
            "thresholds": [c.to_dict() for c in self.checks],
            "warnings": self.warnings,
            "bullets": bullet_stats(self.bullet_counts),
            "cases": [c.to_dict() for c in self.cases],
        }


@dataclass
class RunResult:
    info: dict[str, Any]
    suites: list[SuiteResult]

    @property
    def passed(self) -> bool:
        return all(s.passed for s in self.suites)

    def overall(self) -> dict[str, Any]:
        """Pooled over every suite that ran: cases, passes, verdict checks, bullets."""
        cases = [c for s in self.suites for c in s.cases]
        verdicts = [v for c in cases if (v := c.metrics.get("verdict")) is not None]
        return {
            "cases": len(cases),
            "passed": sum(c.passed for c in cases),
            "verdict_cases": len(verdicts),
            "verdict_passed": int(sum(verdicts)),
            "verdict_rate": sum(verdicts) / len(verdicts) if verdicts else None,
            "bullets": bullet_stats([n for s in self.suites for n in s.bullet_counts]),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "run": self.info,
            "passed": self.passed,
            "overall": self.overall(),
            "suites": {s.suite.name: s.to_dict() for s in self.suites},
        }


def git_commit(root: Path = PROJECT_ROOT) -> str | None:
    """HEAD's commit read from the .git folder (no git binary needed; None outside a repo)."""
    git = root / ".git"
    try:
        if git.is_file():  # a worktree or submodule: "gitdir: <path>"
            git = (root / git.read_text().split(":", 1)[1].strip()).resolve()
        head = (git / "HEAD").read_text().strip()
        if not head.startswith("ref:"):
            return head
        ref = head.split(":", 1)[1].strip()
        for base in (git, _common_dir(git)):
            if (base / ref).is_file():
                return (base / ref).read_text().strip()
            packed = base / "packed-refs"
            if packed.is_file():
                for line in packed.read_text().splitlines():
                    if line.endswith(" " + ref):
                        return line.split(" ", 1)[0]
    except (OSError, IndexError):
        return None
    return None


def _common_dir(git: Path) -> Path:
    common = git / "commondir"
    return (git / common.read_text().strip()).resolve() if common.is_file() else git


def run_info(
    settings: Settings, embed_model: str, suites: Sequence[Suite], commit: str | None = None
) -> dict[str, Any]:
    """`commit`: the one read when the run started (a run takes minutes; HEAD may move)."""
    return {
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "git_commit": commit if commit is not None else git_commit(),
        # Reports are shared: secrets (password, API key, Chroma token) as ***, URLs masked.
        "settings": settings.public(),
        "embed_model": embed_model,
        "backend": "extractive",
        "prompt_hashes": prompts.hashes(),
        "python": platform.python_version(),
        "suites": {s.name: str(s.path) for s in suites},
    }


def make_judge(ans: Answer, engine: Engine) -> JointSupport:
    """`citeline.citations.support` over the concatenation of an answer's cited references.

    Sentence vectors are the ones stored at ingest (the same the pipeline scored with), found by
    the chunk id recomputed from the reference; a passage not in the index is embedded afresh.
    """
    refs = {r.n: r for r in ans.references}
    ids = {n: chunk_id(r.doc_id, r.section, r.passage) for n, r in refs.items()}
    stored = engine.index.get_chunks(list(ids.values()))
    svecs: dict[int, np.ndarray] = {}
    for n, r in refs.items():
        hit = stored.get(ids[n])
        vecs = hit[1] if hit is not None else engine.embedder.embed(split_sentences(r.passage))
        if vecs.size:
            svecs[n] = vecs
    texts = list(dict.fromkeys(c.text for c in ans.claims))
    cvecs = dict(zip(texts, engine.embedder.embed(texts), strict=True)) if texts else {}

    def judge(claim: str, ns: Sequence[int]) -> float:
        ns = [n for n in ns if n in refs]
        if not ns:
            return 0.0
        joint = "\n\n".join(refs[n].passage for n in ns)
        parts = [svecs[n] for n in ns if n in svecs]
        return support(claim, cvecs.get(claim), joint, np.vstack(parts) if parts else None)

    return judge


@contextmanager
def corpus_home(home: Path | None, log: Log = _stderr) -> Iterator[Path]:
    """`home` itself (its index is built from the corpus if missing), else a temporary one."""
    if home is not None:
        if not index_exists(Settings.from_env(home=home)):
            _ingest(Settings.from_env(home=home), [CORPUS], log)
        yield home
        return
    with tempfile.TemporaryDirectory(prefix="citeline-eval-", ignore_cleanup_errors=True) as tmp:
        _ingest(Settings.from_env(home=Path(tmp)), [CORPUS], log)
        yield Path(tmp)


@contextmanager
def suite_corpus_home(paths: Sequence[Path], log: Log = _stderr) -> Iterator[Path]:
    """A temporary CITELINE_HOME holding a suite's own corpus."""
    with tempfile.TemporaryDirectory(prefix="citeline-eval-", ignore_cleanup_errors=True) as tmp:
        _ingest(own_settings(Path(tmp)), paths, log)
        yield Path(tmp)


def own_settings(home: Path) -> Settings:
    """Settings of a suite's own temporary index: always embedded, never a configured Chroma
    server (a throw-away index must not land in a shared collection)."""
    return Settings.from_env(home=home, chroma_url="")


def _ingest(settings: Settings, paths: Sequence[Path], log: Log) -> None:
    """Index `paths` with the app's own ingest; vectors come through the embedding cache
    (`citeline/embcache.py`: a 100-page PDF is thousands of sentences, and every run of a
    temporary index would encode them again)."""
    from citeline.embcache import default_cache_dir
    from eval.beir import open_embedder
    from ingest.sync import sync, tqdm_progress

    shown = ", ".join(str(p) for p in paths)
    log(f"indexing {shown} into {settings.home} ...")
    t = time.perf_counter()
    embedder = open_embedder(settings, default_cache_dir())
    try:
        report = sync(paths, settings, embedder=embedder, progress=tqdm_progress(True))
    finally:
        embedder.close()
    if report.failed:
        raise SuiteError(f"ingest of {shown} failed: {report.failed}")
    log(f"indexed {report.chunks} chunks in {time.perf_counter() - t:.0f} s")


def embed_model_name(settings: Settings) -> str:
    """The name `get_embedder` gives the configured model, without loading it."""
    return Path(settings.embed_model).name if settings.embed_model else "all-MiniLM-L6-v2"


def run_suites(
    suites: Sequence[Suite],
    *,
    home: Path | None = None,
    progress: bool | None = None,
    log: Log = _stderr,
) -> RunResult:
    """Answer and score every case of `suites`; CITELINE_* variables configure the product.

    Suites without a `corpus` share one index (`home`, or the bundled corpus in a temporary
    home); suites with the same `corpus` share another; a suite whose corpus is missing is
    skipped with the reason."""
    names = [s.name for s in suites]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise SuiteError(f"two suites share the name(s) {dupes}: reports are keyed by name")
    commit = git_commit()  # the code being run is the one checked out now, not at the end
    results: dict[str, SuiteResult] = {}
    groups: dict[tuple[Path, ...] | None, list[Suite]] = {}
    for s in suites:
        missing = s.missing_corpus
        if missing:
            reason = f"corpus not found: {', '.join(str(p) for p in missing)}"
            log(f"skipped: {s.name}: {reason}")
            results[s.name] = SuiteResult.skip(s, reason)
        else:
            groups.setdefault(s.corpus, []).append(s)
    # The run's settings are those of the bundled-corpus index when there is one.
    info_settings = Settings.from_env(home=home) if home is not None else Settings.from_env()
    info: dict[str, Any] | None = None
    total = sum(len(s.cases) for group in groups.values() for s in group)
    bar = _progress_bar(total, progress) if total else None
    try:
        for corpus in sorted(groups, key=lambda c: c is not None):
            ctx = corpus_home(home, log) if corpus is None else suite_corpus_home(corpus, log)
            with ctx as h:
                settings = Settings.from_env(home=h) if corpus is None else own_settings(h)
                engine = Engine(settings, open_index(settings), get_embedder(settings.embed_model))
                try:
                    if info is None:
                        info_settings = settings
                        info = run_info(settings, engine.embedder.name, suites, commit)
                    known_docs = set(engine.index.documents())
                    for s in groups[corpus]:
                        results[s.name] = _run_suite(s, settings, engine, known_docs, bar, log)
                finally:
                    engine.index.close()
    finally:
        if bar is not None:
            bar.close()
    if info is None:  # every suite was skipped
        info = run_info(info_settings, embed_model_name(info_settings), suites, commit)
    return RunResult(info, [results[s.name] for s in suites])


def _run_suite(
    suite: Suite,
    settings: Settings,
    engine: Engine,
    known_docs: set[str],
    bar: Any,
    log: Log,
) -> SuiteResult:
    warnings = []
    for case in suite.cases:
        unknown = [d for d in case.expect_docs if d not in known_docs]
        if unknown:
            # Not an error: a suite may be run against another index; but a typo would
            # silently lower doc recall, so say it.
            warnings.append(f"{case.id}: expect_docs not in the index: {unknown}")
    for w in warnings:
        log(f"warning: {suite.name}: {w}")
    results: list[CaseResult] = []
    for case in suite.cases:
        if bar is not None:
            bar.set_postfix_str(f"{suite.name}:{case.id}", refresh=False)
        results.append(_run_case(case, settings, engine))
        if bar is not None:
            bar.update(1)
    metrics = summarize(results)
    return SuiteResult(
        suite, results, metrics, check_thresholds(metrics, suite.thresholds), warnings
    )


def _run_case(case: Case, settings: Settings, engine: Engine) -> CaseResult:
    try:
        ans = answer(
            case.question, list(case.history), settings, audience=case.audience, engine=engine
        )
        return score_case(case, ans, make_judge(ans, engine), settings.support_threshold)
    except Exception:
        # A product exception is a finding to report, not a reason to lose the other cases.
        return error_case(case, traceback.format_exc())


def _progress_bar(total: int, enabled: bool | None) -> Any:
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc="eval", unit="case", file=sys.stderr, leave=False)
