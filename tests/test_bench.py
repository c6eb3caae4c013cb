"""`python -m bench` at a tiny size: every reports/bench.json key is there and sane.

No timing is asserted (the machine may be loaded): only that the benchmark code runs end to end
through the real model, store and pipeline, and reports positive numbers.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import CORPUS, SHARED_DATA

REQUIRED = (
    "answer_p50_over_floor_10k",
    "answer_p95_over_floor_10k",
    "answer_p50_over_floor_100k",
    "answer_p95_over_floor_100k",
    "answer_p50_ms_10k",
    "floor_ms",
    "langchain_p50_ms_10k",
    "ingest_over_raw_encode",
    "reingest_speedup",
    "cold_start_s",
    "rss_mb_100k",
)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.skipif(
        not (SHARED_DATA / "nfcorpus" / "corpus.jsonl").is_file(),
        reason=f"the shared evaluation data is absent ({SHARED_DATA})",
    ),
]


def test_bench_tiny(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from bench.__main__ import main

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for f in sorted(CORPUS.glob("*.md"))[1:4]:  # three guidelines (README.md sorts first)
        shutil.copy(f, corpus)
    out_file = tmp_path / "bench.json"
    # 10k and 100k chunks scaled down to 20 and 200 (the larger one mostly variants), one
    # question per source, one ingest repetition, one cold start.
    rc = main(
        [
            "--sizes=10000,100000",
            "--scale=0.002",
            "--max-docs=40",
            "--no-pdfs",
            "--questions=1",
            "--warmup=0",
            "--cold-runs=1",
            "--repeat=1",
            f"--corpus={corpus}",
            f"--work={tmp_path / 'work'}",
            f"--out={out_file}",
        ]
    )
    assert rc == 0
    captured = capsys.readouterr()
    printed = json.loads(captured.out)
    written = json.loads(out_file.read_text())
    assert printed == written
    for key in REQUIRED:
        assert isinstance(written[key], (int, float)) and written[key] > 0, key
    assert written["index_variant_chunks_100k"] > 0  # the large index needed variants
    assert written["index_chunks_100k"] >= 200
    assert written["questions_10k"] == 3
    assert "answer p50 / floor" in captured.err  # the table
