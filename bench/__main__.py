"""`python -m bench` (`make bench`): every benchmark, reports/bench.json, a table.

    python -m bench [--sizes 1000,10000,100000] [--questions 12] [--repeat 3] [--out FILE]

Runs bench.ingest (full vs unchanged re-ingest of corpus/, ingest vs raw encode),
bench.latency (answer latency vs floor, plain LangChain and the LangChain hybrid peer; cold start
and RSS of the ONNX path beside today's torch path, per size) and bench.quality (BEIR nDCG@10 of
Citeline and the peer on the same index; `--no-beir` skips it), writes the flat JSON to --out
(default reports/bench.json), prints the JSON on stdout and a table with the targets of issues 8
and 20 on stderr, plus bench.verify (the verifier on the claims of one answer with 8
passages). The machine's load average is recorded before and after: the
numbers are wall-clock times on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

from citeline.config import PROJECT_ROOT
from citeline.environment import set_offline_defaults

# key, label, target test (None: informative), target text
TARGETS: list[tuple[str, str, Any, str]] = [
    ("answer_p50_over_floor_10k", "answer p50 / floor, 10k chunks", lambda v: v <= 3, "<= 3"),
    ("answer_p95_over_floor_10k", "answer p95 / floor, 10k chunks", lambda v: v <= 5, "<= 5"),
    ("answer_p50_over_floor_100k", "answer p50 / floor, 100k chunks", lambda v: v <= 3, "<= 3"),
    ("answer_p95_over_floor_100k", "answer p95 / floor, 100k chunks", lambda v: v <= 4, "<= 4"),
    ("answer_p50_ms_10k", "answer p50 ms, 10k", None, ""),
    ("floor_ms", "floor ms (embed + Chroma top-k), 10k", None, ""),
    ("langchain_p50_ms_10k", "LangChain similarity search p50 ms, 10k", None, ""),
    ("peer_p50_ms_10k", "LangChain hybrid peer p50 ms, 10k", None, ""),
    ("answer_p50_over_peer_10k", "answer p50 / peer retrieval p50, 10k", lambda v: v <= 2, "<= 2"),
    ("beir_nfcorpus_ndcg10_minus_peer", "NFCorpus nDCG@10 minus peer's", lambda v: v > 0, "> 0"),
    ("beir_scifact_ndcg10_minus_peer", "SciFact nDCG@10 minus peer's", lambda v: v > 0, "> 0"),
    ("beir_nfcorpus_ndcg10", "NFCorpus test nDCG@10", lambda v: v >= 0.3570, ">= 0.357"),
    ("beir_scifact_ndcg10", "SciFact test nDCG@10", lambda v: v >= 0.7217, ">= 0.7217"),
    ("ingest_over_raw_encode", "ingest speed / raw encode", lambda v: v >= 0.85, ">= 0.85"),
    ("reingest_speedup", "unchanged re-ingest speed-up", lambda v: v >= 50, ">= 50"),
    ("cold_start_s", "cold start to first answer s, 10k", lambda v: v <= 2.5, "<= 2.5"),
    ("cold_start_torch_s_10k", "same, today's torch path, 10k", None, ""),
    ("rss_over_torch_10k", "RSS after 20 answers / torch path, 10k", lambda v: v <= 0.6, "<= 0.6"),
    ("rss_mb_100k", "RSS MB after 20 answers, 100k", lambda v: v <= 1536, "<= 1536"),
    ("verify_p50_ms", "verify one answer's claims, 8 passages ms", lambda v: v <= 50, "<= 50"),
]


def load() -> tuple[float, float, float]:
    return os.getloadavg()


def table(out: dict[str, Any]) -> str:
    lines = [f"{'metric':<40} {'value':>10}  {'target':<8} met", "-" * 66]
    for key, label, test, text in TARGETS:
        v = out.get(key)
        met = "" if test is None or v is None else ("yes" if test(v) else "NO")
        lines.append(f"{label:<40} {v!s:>10}  {text:<8} {met}")
    sizes = sorted({k.rsplit("_", 1)[1] for k in out if k.startswith("answer_p50_ms_")})
    lines.append("")
    lines.append(
        f"{'size':<6} {'chunks':>7} {'answer p50':>10} {'p95':>7} {'floor':>7} "
        f"{'LangChain':>9} {'peer':>6} {'p50/fl':>6} {'p95/fl':>6} {'cold s':>6} "
        f"{'torch s':>7} {'RSS MB':>7} {'torch':>6}"
    )
    for s in sizes:
        lines.append(
            f"{s:<6} {out.get(f'index_chunks_{s}', '')!s:>7} {out[f'answer_p50_ms_{s}']:>10} "
            f"{out[f'answer_p95_ms_{s}']:>7} {out[f'floor_ms_{s}']:>7} "
            f"{out[f'langchain_p50_ms_{s}']:>9} {out[f'peer_p50_ms_{s}']:>6} "
            f"{out[f'answer_p50_over_floor_{s}']:>6} "
            f"{out[f'answer_p95_over_floor_{s}']:>6} {out[f'cold_start_s_{s}']:>6} "
            f"{out[f'cold_start_torch_s_{s}']:>7} {out[f'rss_mb_{s}']:>7} "
            f"{out[f'rss_mb_torch_{s}']:>6}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    set_offline_defaults()
    from bench import ingest, latency, verify
    from bench.data import SHARED_DATA, WORK_DIR

    p = argparse.ArgumentParser(prog="python -m bench")
    p.add_argument("--sizes", default=",".join(map(str, latency.DEFAULT_SIZES)))
    p.add_argument("--questions", type=int, default=12, help="per source (3 sources)")
    p.add_argument("--warmup", type=int, default=2, help="per source")
    p.add_argument("--cold-runs", type=int, default=3)
    p.add_argument("--repeat", type=int, default=3, help="ingest benchmark repetitions")
    p.add_argument("--corpus", type=Path, default=PROJECT_ROOT / "corpus")
    p.add_argument("--data", type=Path, default=SHARED_DATA)
    p.add_argument("--work", type=Path, default=WORK_DIR)
    p.add_argument("--no-pdfs", action="store_true")
    p.add_argument("--rebuild", action="store_true")
    p.add_argument("--build-budget", type=float, default=None, help="seconds per size")
    p.add_argument("--scale", type=float, default=1.0, help=argparse.SUPPRESS)  # tests: tiny run
    p.add_argument("--max-docs", type=int, default=None, help=argparse.SUPPRESS)
    p.add_argument("--no-beir", action="store_true", help="skip the BEIR quality comparison")
    p.add_argument("--out", type=Path, default=PROJECT_ROOT / "reports" / "bench.json")
    args = p.parse_args(argv)
    t0 = time.perf_counter()
    out: dict[str, Any] = {
        "load_avg_start": [round(x, 2) for x in load()],
        "cpus": os.cpu_count(),
        "machine": platform.platform(),
    }
    print("[bench] ingest benchmark", file=sys.stderr, flush=True)
    out.update(
        {
            f"ingest_{k}" if k == "repeat" else k: v
            for k, v in ingest.measure(args.corpus, args.repeat).items()
        }
    )
    print("[bench] latency benchmark", file=sys.stderr, flush=True)
    out.update(latency.run(args))
    print("[bench] verifier benchmark", file=sys.stderr, flush=True)
    out.update(verify.measure(max(3, round(30 * min(args.scale, 1.0))), repeat=1))
    if not args.no_beir:
        from bench import quality

        print("[bench] BEIR quality beside the LangChain hybrid peer", file=sys.stderr, flush=True)
        out.update(quality.run(args.data, ["nfcorpus", "scifact"]))
    out["load_avg_end"] = [round(x, 2) for x in load()]
    out["seconds"] = round(time.perf_counter() - t0, 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    print(table(out), file=sys.stderr)
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
