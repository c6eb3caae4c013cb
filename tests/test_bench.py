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
    "cold_start_torch_s_10k",
    "rss_mb_torch_10k",
    "rss_over_torch_10k",
    "peer_p50_ms_10k",
    "peer_p50_ms_100k",
    "answer_p50_over_peer_10k",
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
            "--no-beir",
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
    # The answering process (ONNX path) never imported torch; today's path did.
    assert written["imports_torch_10k"] == 0 and written["imports_torch_torch_10k"] == 1


def test_lexical_search_leaves_out_common_terms(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real index (placeholder vectors: lexical search reads none) of 1,200 chunks: a term in
    every chunk is left out of the FTS query next to a rare one, kept when it is all there is,
    and the shares are recomputed after a write."""
    from bench.lexical import _placeholder_writes, _write
    from citeline.config import Settings
    from citeline.store import Index
    from citeline.types import DocMeta
    from ingest.chunking import chunk_blocks
    from ingest.loaders import Block

    def doc(i: int, text: str) -> tuple[str, list]:
        meta = DocMeta(doc_id=f"d{i}", title=f"Document {i}", type="Research", source_path="t")
        return f"h{i}", chunk_blocks(meta, [Block(top="", path="", text=text)])

    docs = [doc(i, f"Colitis was reported in cohort {i}.") for i in range(1200)]
    docs += [doc(1200 + i, f"Colitis and mesalazine in cohort {i}.") for i in range(3)]
    index = Index(Settings.from_env(home=tmp_path / "home", chroma_url=""), create=True)
    try:
        _write(index, _placeholder_writes(docs))
        index.tune(lexical_max_df_share=1.0)
        every = index.lexical_search("colitis mesalazine", 50)
        assert len(every) == 50  # rows with "colitis" alone fill the list
        index.tune(lexical_max_df_share=0.2)
        rare = index.lexical_search("colitis mesalazine", 50)
        assert sorted(c for c, _ in rare) == sorted(c for c, _ in every[:3])
        assert {index.get_chunks([c])[c][0].doc.doc_id for c, _ in rare} == {
            "d1200",
            "d1201",
            "d1202",
        }
        assert len(index.lexical_search("colitis", 50)) == 50  # all common: the term is kept
        # A write moves the version: with 5,000 more chunks "colitis" (1,203) is under a fifth of
        # them, so it is searched again and its chunks without "mesalazine" come back.
        more = [doc(2000 + i, f"Budesonide dose {i}.") for i in range(5000)]
        _write(index, _placeholder_writes(more))
        again = index.lexical_search("colitis mesalazine", 50)
        texts = [index.get_chunks([c])[c][0].text.lower() for c, _ in again]
        assert len(again) == 50 and sum("mesalazine" in t for t in texts) == 3
    finally:
        index.close()


@pytest.mark.integration
def test_langchain_peer_on_a_tiny_beir_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`python -m eval beir --retriever langchain`: the real EnsembleRetriever, BM25Retriever and
    langchain-chroma over the real index Citeline built (a fake model only for the vectors)."""
    import tempfile

    import eval.beir
    from eval.__main__ import main
    from tests.fakes import HashEmbedder
    from tests.test_beir import _tiny_beir

    monkeypatch.setattr(eval.beir, "get_embedder", lambda model: HashEmbedder())
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    folder = _tiny_beir(tmp_path / "tiny")
    argv = ["beir", str(folder), "--split", "dev", "--retriever", "langchain", "--json"]
    assert main([*argv, "--cache", str(tmp_path / "cache")]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["retriever"], out["queries"]) == ("langchain", 2)
    # The judged documents come first (BM25 finds them; the fake vectors are deterministic).
    assert out["mrr@10"] == 1.0 and out["recall@100"] == 1.0
    assert not list(tmp_path.glob("citeline-beir-*")), "the temporary index is removed"


def test_the_peer_reads_a_collection_larger_than_one_page(tmp_path: Path) -> None:
    """Chroma cannot `get` 100k ids at once ("too many SQL variables"): the peer pages through
    the real collection, every chunk once."""
    import chromadb

    from eval.langchain_peer import chroma_chunks

    client = chromadb.PersistentClient(path=str(tmp_path / "chroma"))
    col = client.create_collection("chunks", embedding_function=None)
    ids = [f"c{i}" for i in range(7)]
    col.add(
        ids=ids,
        embeddings=[[float(i), 1.0] for i in range(7)],
        documents=[f"text {i}" for i in range(7)],
        metadatas=[{"title": f"T{i}", "section": "S"} for i in range(7)],
    )
    got = chroma_chunks(col, page=3)
    assert sorted(cid for cid, _ in got) == sorted(ids)
    assert dict(got)["c4"] == "T4. S. text 4"


@pytest.mark.e2e
def test_the_app_page_benchmark_opens_the_page(corpus_home: Path) -> None:
    from bench import app_page
    from tests.test_e2e import require_chromium

    require_chromium()  # skips without a browser, fails under CI
    result = app_page.measure(corpus_home, opens=2)
    assert len(result["app_chat_input_s"]) == 2
    assert all(isinstance(s, float) and s > 0 for s in result["app_chat_input_s"])
    assert result["app_chat_input_first_s"] == result["app_chat_input_s"][0]
    json.dumps(result)  # printable as JSON
