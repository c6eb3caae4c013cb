"""`python -m eval medquad [DIR]`: MedQuAD consumer-health questions answered from their own answers.

Every answer of the MedQuAD JSONL (`../shared/data/medquad/`) becomes one document, written as a
Markdown file with front matter and indexed by the app's own ingest (`ingest.sync.sync`: loader,
chunker, embedder, store) into a temporary CITELINE_HOME; vectors come through the embedding cache.
The questions then go through `citeline.pipeline.answer`, exactly as the app asks them, and each
answer is scored against its source answer's document:

- `source_cited`: a claim of the answer cites a passage of the source document;
- `verdict_source_cited`: the verdict (the bold sentence) cites a passage of the source document;
- `source_supported`: it is cited, and every claim citing it is supported by the source passages
  it cites (`citeline.citations.support` over their concatenation, as the ALCE citation recall
  of eval/scoring.py; the threshold is CITELINE_SUPPORT_THRESHOLD);
- ALCE citation recall and precision over all claims, uncited sentences, refusal, latency.

The other answers are the distractors: one focus often has several MedQuAD answers from different
NIH sites, so the source-cited rate is a lower bound of useful answers, not an accuracy.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from citeline.config import PROJECT_ROOT, Settings
from citeline.embcache import default_cache_dir
from citeline.embeddings import get_embedder
from citeline.errors import ConfigError
from citeline.pipeline import Engine, answer
from citeline.store import open_index
from citeline.types import Answer
from eval.beir import open_embedder
from eval.runner import Log, git_commit, make_judge
from eval.scoring import score_case
from eval.suites import Case
from ingest.sync import sync, tqdm_progress

DEFAULT_DIR = PROJECT_ROOT.parent / "shared" / "data" / "medquad"
DATA_FILE = "medquad_subset.jsonl"
# --limit 0 asks all; 200 took 1,467 s of answering on the shared 2-core machine (eval/README.md).
DEFAULT_LIMIT = 200
DEV_QUESTIONS = 100


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr)


@dataclass(frozen=True)
class QA:
    id: str
    question: str
    answer: str
    focus: str
    source: str
    source_url: str
    qtype: str

    @property
    def doc_id(self) -> str:
        return "medquad-" + re.sub(r"[^a-z0-9]+", "-", self.id.lower()).strip("-")


@dataclass(frozen=True)
class Options:
    limit: int | None = DEFAULT_LIMIT
    max_docs: int | None = None
    cache: Path | None = None
    split: str = "test"  # or "dev": the DEV_QUESTIONS after the DEFAULT_LIMIT reported ones


def data_file(folder: Path) -> Path:
    """The JSONL of a MedQuAD folder (or the file itself)."""
    if folder.is_file():
        return folder
    path = folder / DATA_FILE
    if path.is_file():
        return path
    found = sorted(folder.glob("*.jsonl"))
    if len(found) == 1:
        return found[0]
    raise ConfigError(
        f"{folder}: no {DATA_FILE} (a MedQuAD folder holds one JSONL of question/answer rows; "
        "see ../shared/data/medquad/SOURCE.md)"
    )


def load_medquad(folder: Path) -> list[QA]:
    """Rows with a question and an answer, in file order; ids must be unique."""
    path = data_file(folder)
    rows: list[QA] = []
    seen: set[str] = set()
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                d = json.loads(line)
                qa = QA(
                    id=str(d["id"]),
                    question=str(d["question"]).strip(),
                    answer=str(d["answer"]).strip(),
                    focus=str(d.get("focus") or "").strip(),
                    source=str(d.get("source") or "").strip(),
                    source_url=str(d.get("source_url") or "").strip(),
                    qtype=str(d.get("qtype") or "").strip(),
                )
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise ConfigError(f"{path}:{n}: not a MedQuAD row ({exc})") from None
            if qa.id in seen:
                raise ConfigError(f"{path}:{n}: duplicate id {qa.id!r}")
            seen.add(qa.id)
            if qa.question and qa.answer:
                rows.append(qa)
    if not rows:
        raise ConfigError(f"{path}: no question/answer rows")
    return rows


def select_questions(qas: Sequence[QA], limit: int | None) -> list[QA]:
    """Round-robin over the sources (NIH sites) in file order, so that any limit samples every
    collection alike; `None` or 0 means all."""
    by_source: dict[str, list[QA]] = {}
    for qa in qas:
        by_source.setdefault(qa.source, []).append(qa)
    order: list[QA] = []
    queues = list(by_source.values())
    i = 0
    while any(i < len(q) for q in queues):
        order += [q[i] for q in queues if i < len(q)]
        i += 1
    return order[:limit] if limit else order


def split_questions(qas: Sequence[QA], split: str, limit: int | None) -> list[QA]:
    """The questions of a split. "test": the first `limit` of the round-robin order (what is
    reported); "dev": the DEV_QUESTIONS that follow the default DEFAULT_LIMIT, held out of the
    reranker's training (train/reranker_data.py) and used only to choose settings."""
    if split == "test":
        return select_questions(qas, limit)
    if split != "dev":
        raise ConfigError(f"unknown MedQuAD split {split!r} (test or dev)")
    dev = select_questions(qas, None)[DEFAULT_LIMIT : DEFAULT_LIMIT + DEV_QUESTIONS]
    return dev[:limit] if limit else dev


def select_docs(qas: Sequence[QA], asked: Sequence[QA], max_docs: int | None) -> list[QA]:
    """Every answer, or (quick runs) the asked questions' answers topped up with a fixed
    pseudo-random sample of the others, `max_docs` in all."""
    if not max_docs:
        return list(qas)
    chosen = list(asked)[: max(max_docs, len(asked))]
    taken = {qa.id for qa in chosen}
    others = sorted(
        (qa for qa in qas if qa.id not in taken),
        key=lambda qa: hashlib.sha256(qa.id.encode()).digest(),
    )
    return chosen + others[: max(0, max_docs - len(chosen))]


def write_documents(qas: Iterable[QA], folder: Path) -> int:
    """One Markdown file per answer, its metadata in front matter (what `python -m ingest`
    reads). The title is the focus (the page's subject), never the question."""
    n = 0
    for qa in qas:
        meta = {
            "id": qa.doc_id,
            "title": qa.focus or qa.id,
            "publisher": qa.source,
            "type": "Patient information",
            "url": qa.source_url,
        }
        front = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True)
        (folder / f"{qa.doc_id}.md").write_text(f"---\n{front}---\n\n{qa.answer}\n", "utf-8")
        n += 1
    return n


def score_question(qa: QA, ans: Answer, engine: Engine, threshold: float) -> dict[str, Any]:
    """One question's record: the suite metrics of eval/scoring.py plus the source checks."""
    judge = make_judge(ans, engine)
    case = Case(id=qa.id, question=qa.question, expect_docs=(qa.doc_id,))
    res = score_case(case, ans, judge, threshold)
    refs = {r.n: r for r in ans.references}
    citing = [
        (c, [n for n in dict.fromkeys(c.citations) if n in refs and refs[n].doc_id == qa.doc_id])
        for c in ans.claims
    ]
    citing = [(c, ns) for c, ns in citing if ns]
    support = [judge(c.text, ns) for c, ns in citing]
    verdict = list(dict.fromkeys(ans.verdict.citations)) if ans.verdict else []
    verdict_docs = [refs[n].doc_id for n in verdict if n in refs]
    docs = [r.doc_id for r in sorted(ans.references, key=lambda r: r.n)]
    return {
        "id": qa.id,
        "source": qa.source,
        "qtype": qa.qtype,
        "question": qa.question,
        "doc_id": qa.doc_id,
        "refused": ans.refused,
        "refusal_reason": ans.refusal_reason,
        "claims": len(ans.claims),
        "uncited": res.counts.get("uncited", 0),
        "source_in_references": qa.doc_id in docs,
        "source_rank": docs.index(qa.doc_id) + 1 if qa.doc_id in docs else None,
        "source_cited": bool(citing),
        "verdict_source_cited": qa.doc_id in verdict_docs,
        "verdict_docs": verdict_docs,
        "source_claims": len(citing),
        "source_claims_supported": sum(s >= threshold for s in support),
        "source_supported": bool(citing) and all(s >= threshold for s in support),
        "source_support": [round(s, 3) for s in support],
        "citation_recall": res.metrics.get("citation_recall"),
        "citation_precision": res.metrics.get("citation_precision"),
        "cited_docs": list(dict.fromkeys(docs)),
        "latency_ms": ans.timings_ms.get("total"),
        "verdict": ans.verdict.text if ans.verdict else "",
    }


def _rate(rows: Sequence[Mapping[str, Any]], key: str) -> float | None:
    return round(sum(bool(r[key]) for r in rows) / len(rows), 4) if rows else None


def _mean(values: Iterable[float | None]) -> float | None:
    xs = [v for v in values if v is not None]
    return round(sum(xs) / len(xs), 4) if xs else None


def summarize(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Rates over all questions, and over the answered ones where it says so."""
    answered = [r for r in rows if not r["refused"]]
    cited = [r for r in rows if r["source_cited"]]
    claims = sum(r["claims"] for r in rows)
    latencies = [r["latency_ms"] for r in rows if r["latency_ms"] is not None]
    return {
        "questions": len(rows),
        "refusal_rate": _rate(rows, "refused"),
        "source_cited_rate": _rate(rows, "source_cited"),
        "source_cited_rate_answered": _rate(answered, "source_cited"),
        "verdict_source_cited_rate": _rate(rows, "verdict_source_cited"),
        "source_supported_rate": _rate(rows, "source_supported"),
        "supported_when_cited": _rate(cited, "source_supported"),
        "source_in_references_rate": _rate(rows, "source_in_references"),
        "mrr": _mean(1 / r["source_rank"] if r["source_rank"] else 0.0 for r in rows),
        "citation_recall": _mean(r["citation_recall"] for r in rows),
        "citation_precision": _mean(r["citation_precision"] for r in rows),
        "uncited_sentence_rate": round(sum(r["uncited"] for r in rows) / claims, 4)
        if claims
        else None,
        "latency_p50_ms": round(float(np.percentile(latencies, 50)), 1) if latencies else None,
        "latency_p95_ms": round(float(np.percentile(latencies, 95)), 1) if latencies else None,
    }


def breakdown(rows: Sequence[Mapping[str, Any]], key: str) -> dict[str, dict[str, Any]]:
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for r in rows:
        groups.setdefault(r[key], []).append(r)
    return {
        k: {
            "questions": len(g),
            "refusal_rate": _rate(g, "refused"),
            "source_cited_rate": _rate(g, "source_cited"),
            "verdict_source_cited_rate": _rate(g, "verdict_source_cited"),
            "source_supported_rate": _rate(g, "source_supported"),
        }
        for k, g in sorted(groups.items())
    }


def run(folder: Path, opts: Options, log: Log = _stderr) -> dict[str, Any]:
    """Index the answers, ask the questions, and return the result record (summary, breakdowns,
    every question)."""
    t0 = time.perf_counter()
    commit = git_commit()  # at the start: HEAD may move during a run of many minutes
    qas = load_medquad(folder)
    asked = split_questions(qas, opts.split, opts.limit)
    docs = select_docs(qas, asked, opts.max_docs)
    timings: dict[str, float] = {"load": time.perf_counter() - t0}
    with tempfile.TemporaryDirectory(prefix="citeline-medquad-", ignore_cleanup_errors=True) as tmp:
        home, files = Path(tmp) / "home", Path(tmp) / "docs"
        files.mkdir()
        write_documents(docs, files)
        settings = Settings.from_env(home=home, chroma_url="")  # never a shared Chroma server
        t = time.perf_counter()
        embedder = open_embedder(settings, opts.cache or default_cache_dir())
        try:
            log(f"indexing {len(docs)} MedQuAD answers into {home} ...")
            report = sync([files], settings, embedder=embedder, progress=tqdm_progress(True))
        finally:
            embedder.close()
        if report.failed:
            raise ConfigError(f"ingest of the MedQuAD answers failed: {report.failed[:3]}")
        timings["index"] = time.perf_counter() - t
        t = time.perf_counter()
        engine = Engine(settings, open_index(settings), get_embedder(settings.embed_model))
        rows: list[dict[str, Any]] = []
        try:
            log(f"asking {len(asked)} questions ...")
            for i, qa in enumerate(asked, start=1):
                ans = answer(qa.question, [], settings, engine=engine)
                rows.append(score_question(qa, ans, engine, settings.support_threshold))
                if i % 50 == 0:
                    log(f"  {i}/{len(asked)}")
        finally:
            engine.index.close()
        timings["answer"] = time.perf_counter() - t
    return {
        "dataset": "medquad",
        "file": str(data_file(folder)),
        "git_commit": commit,
        "documents": len(docs),
        "chunks": report.chunks,
        "embedded": embedder.encoded,
        "summary": summarize(rows),
        "by_source": breakdown(rows, "source"),
        "by_qtype": breakdown(rows, "qtype"),
        "settings": {
            "relevance_floor": settings.relevance_floor,
            "support_threshold": settings.support_threshold,
            "top_k": settings.top_k,
            "embed_model": embedder.name,
            "limit": opts.limit,
            "split": opts.split,
            "max_docs": opts.max_docs,
        },
        "timings": {k: round(v, 1) for k, v in timings.items()},
        "seconds": round(time.perf_counter() - t0, 1),
        "questions": rows,
    }


SUMMARY_LABELS = (
    ("source_cited_rate", "source answer cited (all questions)"),
    ("source_cited_rate_answered", "source answer cited (answered questions)"),
    ("verdict_source_cited_rate", "verdict quotes the source answer"),
    ("source_supported_rate", "source cited and its claims supported"),
    ("supported_when_cited", "claims supported, when the source is cited"),
    ("source_in_references_rate", "source among the references"),
    ("mrr", "MRR of the source among the references"),
    ("refusal_rate", "refused"),
    ("citation_recall", "ALCE citation recall"),
    ("citation_precision", "ALCE citation precision"),
    ("uncited_sentence_rate", "uncited sentences"),
    ("latency_p50_ms", "latency p50 (ms)"),
    ("latency_p95_ms", "latency p95 (ms)"),
)


def summary_line(result: Mapping[str, Any]) -> str:
    s = result["summary"]
    return (
        f"medquad: {s['questions']} questions over {result['documents']} answers: source cited "
        f"{s['source_cited_rate']}, verdict quotes it {s['verdict_source_cited_rate']}, "
        f"supported {s['source_supported_rate']}, refused "
        f"{s['refusal_rate']}, uncited {s['uncited_sentence_rate']}, latency p50/p95 "
        f"{s['latency_p50_ms']}/{s['latency_p95_ms']} ms ({result['seconds']} s)"
    )


def markdown(result: Mapping[str, Any], misses: int = 20) -> str:
    s = result["summary"]
    lines = [
        "# MedQuAD run",
        "",
        f"{s['questions']} questions, {result['documents']} answers indexed "
        f"({result['chunks']} chunks), {result['seconds']} s; commit "
        f"`{result['git_commit'] or 'unknown'}`.",
        "",
        "| metric | value |",
        "| --- | ---: |",
    ]
    lines += [
        f"| {label} | {s[key] if s[key] is not None else 'n/a'} |" for key, label in SUMMARY_LABELS
    ]
    lines += [
        "",
        "| source | questions | cited | verdict | supported | refused |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, g in result["by_source"].items():
        lines.append(
            f"| {name} | {g['questions']} | {g['source_cited_rate']} | "
            f"{g['verdict_source_cited_rate']} | {g['source_supported_rate']} | "
            f"{g['refusal_rate']} |"
        )
    missed = [r for r in result["questions"] if not r["source_cited"]][:misses]
    if missed:
        lines += ["", f"First {len(missed)} questions whose source answer was not cited:", ""]
        for r in missed:
            q = " ".join(r["question"].split()).replace("|", "\\|")
            why = "refused" if r["refused"] else f"cited {', '.join(r['cited_docs'][:3]) or '-'}"
            lines.append(f"- `{r['id']}` {q} ({why})")
    return "\n".join(lines) + "\n"


def write(result: Mapping[str, Any], out: Path) -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "medquad.json", "md": out / "medquad.md"}
    paths["json"].write_text(json.dumps(result, indent=1, ensure_ascii=False), encoding="utf-8")
    paths["md"].write_text(markdown(result), encoding="utf-8")
    return paths
