"""Answer latency against the floor and a plain LangChain baseline; cold start; peak memory.

    python -m bench.latency [--sizes 1000,10000,100000] [--questions 12] [--warmup 2]
                            [--cold-runs 3] [--work DIR] [--rebuild]

For each size an index is built (bench/data.py: real texts of ../shared/data through the app's
chunker, embedder cache and store; reused from --work when already built), then one fresh
process per size measures, for every question in turn (after a warm-up, order rotated):

- answer: `citeline.pipeline.answer(question, [], settings)`, the default extractive pipeline;
- floor: one query embedding + one Chroma top-k query (`top_k` results) on the same collection;
- langchain: `langchain_chroma.Chroma.similarity_search` (k = `top_k`) with a LangChain
  `Embeddings` wrapper of the same loaded model, hits formatted as a numbered string.

Cold start: the measuring process is fresh: it imports the pipeline, loads the model, opens the
index and answers the first question; the time is from spawning it to that answer (at 10k,
median with --cold-runs - 1 more `python -c` processes doing the same). It then answers every
question through the pipeline alone and reports its peak RSS (ru_maxrss), before the timed loop.
Prints one JSON object; every ratio is between medians/percentiles measured in this run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from citeline.config import PROJECT_ROOT

DEFAULT_SIZES = (1000, 10000, 100000)


def _pct(values: Sequence[float], q: float) -> float:
    import numpy as np

    return float(np.percentile(np.asarray(values, dtype=float), q))


def _label(size: int) -> str:
    return f"{size // 1000}k" if size % 1000 == 0 else str(size)


def _settings(home: Path) -> Any:
    from citeline.config import Settings

    return Settings.from_env(home=home, chroma_url="", llm="none")


def measure(home: Path, qs: Sequence[str], warmup: Sequence[str]) -> dict[str, Any]:
    """Per-question latencies (ms) of the pipeline, the floor and the LangChain baseline, all in
    this process against the index at `home`."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings
    from langchain_chroma import Chroma
    from langchain_core.embeddings import Embeddings

    from citeline.pipeline import answer, get_engine

    settings = _settings(home)
    engine = get_engine(settings)
    emb = engine.embedder
    client = chromadb.PersistentClient(
        path=str(home / "chroma"), settings=ChromaSettings(anonymized_telemetry=False)
    )
    collection = client.get_collection(settings.collection, embedding_function=None)

    class SameModel(Embeddings):
        """LangChain's Embeddings interface over the already loaded model."""

        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            return [list(map(float, v)) for v in emb.embed(texts)]

        def embed_query(self, text: str) -> list[float]:
            return [float(x) for x in emb.embed([text])[0]]

    store = Chroma(
        client=client, collection_name=settings.collection, embedding_function=SameModel()
    )
    k = min(settings.top_k, collection.count())

    def floor(q: str) -> None:
        vec = emb.embed([q])[0]
        collection.query(query_embeddings=[vec.tolist()], n_results=k, include=["distances"])

    def pipeline(q: str) -> None:
        answer(q, [], settings)

    def langchain(q: str) -> None:
        hits = store.similarity_search(q, k=k)
        "\n\n".join(
            f"[{i}] {d.metadata.get('title', '')}: {d.page_content}" for i, d in enumerate(hits, 1)
        )

    from eval.langchain_peer import for_index

    peer = for_index(engine.index, emb, k)  # the LangChain hybrid peer, same collection

    def hybrid_peer(q: str) -> None:
        peer.search(q)

    runs = {"floor": floor, "answer": pipeline, "langchain": langchain, "peer": hybrid_peer}
    for q in warmup:
        for fn in runs.values():
            fn(q)
    times: dict[str, list[float]] = {name: [] for name in runs}
    names = list(runs)
    for i, q in enumerate(qs):
        j = i % len(names)
        order = names[j:] + names[:j]  # rotate, so no side always runs first
        for name in order:
            t = time.perf_counter()
            runs[name](q)
            times[name].append((time.perf_counter() - t) * 1000)
    return {"times_ms": times, "questions": len(qs), "warmup": len(warmup)}


def _child_measure(home: str, qfile: str) -> None:
    """The measuring process: cold start (first answer), then every question through the pipeline
    alone (peak RSS), then the interleaved latency loop."""
    import resource

    from citeline.pipeline import answer

    data = json.loads(Path(qfile).read_text())
    qs = data["questions"]
    settings = _settings(Path(home))
    refused = int(answer(qs[0], [], settings).refused)
    t_first = time.time()
    ru = resource.getrusage(resource.RUSAGE_SELF)
    cpu_first = ru.ru_utime + ru.ru_stime  # load-independent: CPU seconds to the first answer
    rss20, torch20 = 0.0, False
    for i, q in enumerate(qs[1:], start=2):
        refused += int(answer(q, [], settings).refused)
        if i == ANSWERS_FOR_RSS:
            rss20 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            torch20 = "torch" in sys.modules
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    res = measure(Path(home), qs, data["warmup"])
    print(
        json.dumps(
            {
                **res,
                "first_answer_at": t_first,
                "cpu_first_s": cpu_first,
                "rss_mb": rss_mb,
                "rss_mb_after_20": rss20 or rss_mb,
                "torch_after_20": torch20 or "torch" in sys.modules,
                "refused": refused,
            }
        )
    )


# The cold-start process: imports, loads, opens and answers; then answers the rest and reports
# its peak RSS. Kept as source text so nothing of the benchmark is imported before the clock.
# "torch" as the third argument: today's path before the ONNX encoder (sentence-transformers
# loaded as the process's embedder), measured beside the new one in the same run.
_COLD = """
import json, resource, sys, time
from citeline.config import Settings
from citeline.pipeline import answer
home, qfile, path = sys.argv[1], sys.argv[2], sys.argv[3]
if path == "torch":
    from citeline import embeddings
    embeddings._cache[""] = embeddings.SentenceTransformerEmbedder()
qs = json.load(open(qfile))["questions"]
settings = Settings.from_env(home=home, chroma_url="", llm="none")
first = answer(qs[0], [], settings)
t_first = time.time()
ru = resource.getrusage(resource.RUSAGE_SELF)
cpu_first = ru.ru_utime + ru.ru_stime
refused = int(first.refused)
for q in qs[1:20]:
    refused += int(answer(q, [], settings).refused)
rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"first_answer_at": t_first, "cpu_first_s": cpu_first, "rss_mb": rss_kb / 1024,
                  "refused": refused, "torch": "torch" in sys.modules}))
"""
ANSWERS_FOR_RSS = 20


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.setdefault("TRANSFORMERS_OFFLINE", "1")
    env["ANONYMIZED_TELEMETRY"] = "False"
    env["PYTHONPATH"] = str(PROJECT_ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _run_python(args: list[str]) -> dict[str, Any]:
    """Run a fresh Python process; its last stdout line is a JSON object."""
    out = subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        check=True,
        env=_env(),
        cwd=PROJECT_ROOT,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def cold_start(home: Path, qfile: Path, path: str = "onnx") -> dict[str, Any]:
    """A fresh process to its first answer, then 19 more answers (peak RSS after 20)."""
    t0 = time.time()
    res = _run_python(["-c", _COLD, str(home), str(qfile), path])
    return {
        "cold_start_s": res["first_answer_at"] - t0,
        "cpu_first_s": res["cpu_first_s"],
        "rss_mb": res["rss_mb"],
        "refused": res["refused"],
        "torch": res["torch"],
    }


def cold_pairs(home: Path, qfile: Path, runs: int) -> dict[str, list[Any]]:
    """`runs` cold starts of the ONNX path and of today's torch path, alternating."""
    out: dict[str, list[Any]] = {"onnx": [], "torch": []}
    for i in range(runs):
        for path in ("onnx", "torch") if i % 2 == 0 else ("torch", "onnx"):
            out[path].append(cold_start(home, qfile, path))
    return out


def run_size(
    size: int, home: Path, qs: Sequence[str], warmup: Sequence[str], cold_runs: int
) -> dict[str, Any]:
    """One fresh measuring process (its first answer is an ONNX-path cold start), plus
    `cold_runs` cold starts of each path (ONNX, today's torch), alternating."""
    with tempfile.TemporaryDirectory(prefix="citeline-bench-") as tmp:
        qfile = Path(tmp) / "questions.json"
        qfile.write_text(json.dumps({"questions": list(qs), "warmup": list(warmup)}))
        t0 = time.time()
        res = _run_python(["-m", "bench.latency", "--child", str(home), str(qfile)])
        first = {"cold_start_s": res["first_answer_at"] - t0, "cpu_first_s": res["cpu_first_s"]}
        first.update(rss_mb=res["rss_mb_after_20"], torch=res["torch_after_20"])
        pairs = cold_pairs(home, qfile, cold_runs)
    t = res["times_ms"]
    floor50 = statistics.median(t["floor"])
    lab = _label(size)
    out = {
        f"answer_p50_ms_{lab}": round(statistics.median(t["answer"]), 1),
        f"answer_p95_ms_{lab}": round(_pct(t["answer"], 95), 1),
        f"floor_ms_{lab}": round(floor50, 1),
        f"floor_p95_ms_{lab}": round(_pct(t["floor"], 95), 1),
        f"langchain_p50_ms_{lab}": round(statistics.median(t["langchain"]), 1),
        f"langchain_p95_ms_{lab}": round(_pct(t["langchain"], 95), 1),
        f"peer_p50_ms_{lab}": round(statistics.median(t["peer"]), 1),
        f"peer_p95_ms_{lab}": round(_pct(t["peer"], 95), 1),
        f"answer_p50_over_floor_{lab}": round(statistics.median(t["answer"]) / floor50, 2),
        f"answer_p95_over_floor_{lab}": round(_pct(t["answer"], 95) / floor50, 2),
        f"answer_p50_over_langchain_{lab}": round(
            statistics.median(t["answer"]) / statistics.median(t["langchain"]), 2
        ),
        f"answer_p50_over_peer_{lab}": round(
            statistics.median(t["answer"]) / statistics.median(t["peer"]), 2
        ),
        f"rss_mb_peak_{lab}": round(res["rss_mb"], 1),
        f"refused_{lab}": res["refused"],
        f"questions_{lab}": res["questions"],
    }
    for path, runs in (("", [first, *pairs["onnx"]]), ("torch_", pairs["torch"])):
        out[f"cold_start_{path}s_{lab}"] = round(
            statistics.median(r["cold_start_s"] for r in runs), 2
        )
        out[f"cold_start_{path}cpu_s_{lab}"] = round(
            statistics.median(r["cpu_first_s"] for r in runs), 2
        )
        out[f"cold_start_{path}runs_{lab}"] = len(runs)
        out[f"rss_mb_{path}{lab}"] = round(max(r["rss_mb"] for r in runs), 1)
        out[f"imports_torch_{path}{lab}"] = int(any(r["torch"] for r in runs))
    out[f"cold_start_over_torch_{lab}"] = round(
        out[f"cold_start_s_{lab}"] / out[f"cold_start_torch_s_{lab}"], 2
    )
    out[f"rss_over_torch_{lab}"] = round(out[f"rss_mb_{lab}"] / out[f"rss_mb_torch_{lab}"], 2)
    return out


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if args.child:
        _child_measure(*args.child)
        return 0
    print(json.dumps(run(args), indent=2))
    return 0


def parse(argv: list[str] | None) -> argparse.Namespace:
    from bench.data import SHARED_DATA, WORK_DIR

    p = argparse.ArgumentParser(prog="python -m bench.latency")
    p.add_argument("--sizes", default=",".join(map(str, DEFAULT_SIZES)))
    p.add_argument("--questions", type=int, default=12, help="per source (3 sources)")
    p.add_argument("--warmup", type=int, default=2, help="per source, not timed")
    p.add_argument("--cold-runs", type=int, default=3)
    p.add_argument("--data", type=Path, default=SHARED_DATA)
    p.add_argument("--work", type=Path, default=WORK_DIR)
    p.add_argument("--no-pdfs", action="store_true", help="leave the guideline PDFs out")
    p.add_argument("--rebuild", action="store_true")
    p.add_argument(
        "--build-budget",
        type=float,
        default=None,
        help="seconds of index writing per size; then measure the partial index (resumed later)",
    )
    p.add_argument("--scale", type=float, default=1.0, help=argparse.SUPPRESS)  # tests: tiny run
    p.add_argument("--max-docs", type=int, default=None, help=argparse.SUPPRESS)
    p.add_argument("--child", nargs=2, metavar=("HOME", "QFILE"), help=argparse.SUPPRESS)
    return p.parse_args(argv)


def run(args: argparse.Namespace) -> dict[str, Any]:
    from bench.data import build_index, embed_documents, questions, real_documents

    sizes = [int(s) for s in str(args.sizes).split(",") if s]
    from citeline.config import Settings

    t0 = time.perf_counter()
    docs = real_documents(args.data, pdfs=not args.no_pdfs)[: args.max_docs]
    allq = questions(args.data, args.questions + args.warmup)
    n_warm = args.warmup * 3
    warm, qs = allq[:n_warm], allq[n_warm:]
    vectors, sent_vecs, encoded = embed_documents(docs, Settings.from_env())
    out: dict[str, Any] = {"real_documents": len(docs), "encoded_texts": encoded}
    for size in sizes:
        # Labels name the nominal size; --scale shrinks every index alike (the test's tiny run).
        actual = max(1, round(size * args.scale))
        home, facts = build_index(
            actual,
            docs,
            vectors,
            sent_vecs,
            args.work,
            rebuild=args.rebuild,
            budget_s=args.build_budget,
        )
        lab = _label(size)
        out.update({f"index_{k}_{lab}": v for k, v in facts.items()})
        print(f"[bench] {lab}: {facts}", file=sys.stderr, flush=True)
        out.update(run_size(size, home, qs, warm, args.cold_runs if size == 10000 else 1))
        print(f"[bench] {lab}: measured", file=sys.stderr, flush=True)
    lab10 = "10k" if 10000 in sizes else _label(sizes[len(sizes) // 2])
    out["floor_ms"] = out[f"floor_ms_{lab10}"]
    out["cold_start_s"] = out[f"cold_start_s_{lab10}"]
    out["latency_seconds"] = round(time.perf_counter() - t0, 1)
    return out


if __name__ == "__main__":
    sys.exit(main())
