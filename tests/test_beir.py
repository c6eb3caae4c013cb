"""`python -m eval beir`: the embedding cache, the bulk store write, and a real NFCorpus run."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
import pytest

from citeline.config import Settings
from citeline.embcache import CachedEmbedder
from citeline.store import Index
from eval.__main__ import main
from ingest.chunking import chunk_blocks
from ingest.embed import embed_chunks
from ingest.loaders import Block
from tests.conftest import shared_data
from tests.fakes import HashEmbedder


def test_cached_embedder_encodes_each_text_once(tmp_path: Path) -> None:
    inner = HashEmbedder()
    cache = CachedEmbedder(inner, tmp_path)
    first = cache.embed(["alpha beta", "gamma", "alpha beta"])
    assert cache.encoded == 2 and inner.texts == 2  # the repeated text is encoded once
    np.testing.assert_array_equal(first, inner.embed(["alpha beta", "gamma", "alpha beta"]))
    cache.close()

    again = CachedEmbedder(HashEmbedder(), tmp_path)  # a new process, same cache file
    np.testing.assert_array_equal(again.embed(["gamma", "alpha beta"]), first[[1, 0]])
    assert again.encoded == 0
    assert again.dim == HashEmbedder.dim
    assert again.embed([]).shape == (0, HashEmbedder.dim)


def test_cached_embedder_keys_on_the_model_name(tmp_path: Path) -> None:
    CachedEmbedder(HashEmbedder(), tmp_path).embed(["alpha"])
    other = HashEmbedder()
    other.name = "another-model"
    cache = CachedEmbedder(other, tmp_path)
    cache.embed(["alpha"])
    assert cache.encoded == 1


def _write(index: Index, emb: HashEmbedder, docs: dict[str, str]) -> None:
    from citeline.types import DocMeta

    items = []
    for doc_id, text in docs.items():
        meta = DocMeta(doc_id=doc_id, title=doc_id.title())
        chunks = chunk_blocks(meta, [Block(top="", path="", text=text)], chunk_chars=60)
        vectors, sent_vecs = embed_chunks(emb, chunks, 64, None)
        items.append((meta, text, chunks, vectors, sent_vecs))
    index.replace_documents(items)


@pytest.mark.integration
def test_replace_documents_writes_and_replaces_many_in_one_pass(tmp_path: Path) -> None:
    emb = HashEmbedder()
    index = Index(Settings(home=tmp_path / "home"), create=True)
    _write(
        index,
        emb,
        {
            "kale": "Kale is a leafy vegetable. It is rich in vitamin K. Cooks steam it lightly.",
            "statin": "Statins lower cholesterol. They are taken once a day.",
        },
    )
    old = set(index.doc_chunk_ids("kale"))
    assert index.version() == 1  # one transaction for both documents
    _write(index, emb, {"kale": "Kale contains calcium. Calcium builds bones."})
    new = set(index.doc_chunk_ids("kale"))
    chroma = index.audit().dense
    assert old.isdisjoint(new) and new <= chroma and not (old & chroma)  # stale vectors deleted
    assert index.documents().keys() == {"kale", "statin"}
    top = index.lexical_search("calcium bones", 5)
    assert top and top[0][0] in new
    hits = index.dense_search(emb.embed(["statins cholesterol"])[0], 3)
    assert hits[0][0] in index.doc_chunk_ids("statin")
    meta = index.documents()["kale"].meta
    with pytest.raises(ValueError, match="same doc_id twice"):
        index.replace_documents([(meta, "h", [], {}, {}), (meta, "h", [], {}, {})])


def _tiny_beir(folder: Path) -> Path:
    docs = {
        "D1": ("Vitamin D and bones", "Vitamin D helps the gut absorb calcium. Bones need it."),
        "D2": ("Statins", "Statins lower LDL cholesterol. Muscle pain is a side effect."),
        "D3": ("Kale", "Kale is a leafy green vegetable. It is eaten cooked or raw."),
    }
    folder.mkdir()
    (folder / "qrels").mkdir()
    with (folder / "corpus.jsonl").open("w") as fh:
        for i, (title, text) in docs.items():
            fh.write(json.dumps({"_id": i, "title": title, "text": text}) + "\n")
    with (folder / "queries.jsonl").open("w") as fh:
        fh.write(json.dumps({"_id": "Q1", "text": "statins and cholesterol"}) + "\n")
        fh.write(json.dumps({"_id": "Q2", "text": "calcium absorption vitamin D"}) + "\n")
    (folder / "qrels" / "dev.tsv").write_text(
        "query-id\tcorpus-id\tscore\nQ1\tD2\t2\nQ1\tD3\t0\nQ2\tD1\t1\n"
    )
    return folder


@pytest.mark.integration
def test_beir_cli_on_a_tiny_folder_with_a_fake_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import eval.beir

    monkeypatch.setattr(eval.beir, "get_embedder", lambda model: HashEmbedder())
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    folder = _tiny_beir(tmp_path / "tiny")
    for retriever in ("hybrid", "dense", "bm25"):
        argv = ["beir", str(folder), "--split", "dev", "--retriever", retriever]
        assert main([*argv, "--cache", str(tmp_path / "cache"), "--json"]) == 0
        out = json.loads(capsys.readouterr().out)
        assert (out["dataset"], out["split"], out["queries"]) == ("tiny", "dev", 2)
        assert out["ndcg@10"] == out["mrr@10"] == out["recall@100"] == 1.0, retriever
    assert not list(tmp_path.glob("citeline-beir-*")), "the temporary index is removed"
    assert main(["beir", str(folder), "--split", "train"]) == 2  # no such split: a usage error
    assert "qrels/train.tsv is missing" in capsys.readouterr().err


@pytest.mark.integration
@pytest.mark.parametrize("weights", [(1.0, 0.5, 2.0), (1.0, 0.0, 1.0)])
def test_beir_sweep_fusion_equals_rank_hybrid(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, weights: tuple[float, float, float]
) -> None:
    import eval.beir as beir
    from citeline.retrieve import rank

    monkeypatch.setattr(beir, "get_embedder", lambda model: HashEmbedder())
    ds = beir.load_dataset(_tiny_beir(tmp_path / "tiny"), "dev")
    settings = Settings(home=tmp_path / "unused", rrf_k=7).replace(
        **dict(zip(("weight_dense", "weight_sentence", "weight_lexical"), weights, strict=True))
    )
    emb = beir.open_embedder(settings, tmp_path / "cache")
    with beir.temporary_index(settings) as index:
        beir.build_index(index, ds, list(ds.corpus), emb, "blocks")
        qids = beir.select_queries(ds, None)
        qvecs = beir.query_vectors(emb, ds, qids)
        lists = beir.component_lists(index, ds, qids, qvecs, settings, 50)
        for q, vec in zip(qids, qvecs, strict=True):
            ranked, _ = rank(index, ds.queries[q], vec, settings, mode="hybrid", depth=50)
            assert beir.fuse(lists[q], weights, 7) == ranked


@pytest.mark.integration
@pytest.mark.slow
def test_beir_nfcorpus_real_model_and_warm_cache(
    tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = shared_data("nfcorpus")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    # 20 queries over 50 documents (judged ones, a few per query) keep a cold cache under ~2 min.
    argv = ["beir", str(data), "--limit", "20", "--max-docs", "50"]
    argv += ["--cache", str(tmp_path / "cache"), "--json"]
    assert main(argv) == 0
    cold = json.loads(capsys.readouterr().out)
    assert cold["dataset"] == "nfcorpus" and cold["retriever"] == "hybrid"
    assert cold["split"] == "test" and cold["queries"] == 20
    assert cold["params"]["documents"] == 50 and cold["params"]["chunks"] >= 50
    for metric in ("ndcg@10", "mrr@10"):
        assert 0.2 < cold[metric] <= 1.0, (metric, cold[metric])
    # Only 50 of the corpus's documents are indexed while NFCorpus judges ~38 relevant documents
    # per query, so Recall@100 is bounded far below 1 here; it must still find some.
    assert 0.0 < cold["recall@100"] <= 1.0, cold["recall@100"]
    assert cold["embedded"] > 50 + 20 and cold["seconds"] > 0  # chunks, sentences, queries

    assert main(argv) == 0
    warm = json.loads(capsys.readouterr().out)
    assert warm["embedded"] == 0
    assert warm["ndcg@10"] == cold["ndcg@10"]
    assert not list(tmp_path.glob("citeline-beir-*"))
    assert not home.exists(), "the app's CITELINE_HOME is never touched"
