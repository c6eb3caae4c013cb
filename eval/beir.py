"""`python -m eval beir DATASET_DIR`: nDCG@10, Recall@100 and MRR@10 of Citeline's retrieval on a
BEIR-format folder (corpus.jsonl, queries.jsonl, qrels/<split>.tsv).

The corpus goes through the app's own code: `ingest.chunking.chunk_blocks`, `ingest.embed.embed_chunks`
(chunk vectors from `embed_text`, plus sentence vectors) and `citeline.store.Index`, in a
temporary CITELINE_HOME; queries go through `citeline.retrieve.rank`. A document scores by its
best chunk. Vectors come from the embedding cache, so only the first run pays for encoding.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast

import numpy as np

from citeline import store
from citeline.config import Settings
from citeline.embcache import CachedEmbedder, LazyEmbedder
from citeline.embeddings import get_embedder
from citeline.errors import ConfigError
from citeline.retrieve import Mode, rank, rrf_fuse
from citeline.store import DocumentWrite, Index
from citeline.types import Chunk, DocMeta
from eval.metrics import evaluate
from ingest.chunking import CHUNK_CHARS, chunk_blocks
from ingest.embed import embed_chunks
from ingest.loaders import Block
from ingest.sync import tqdm_progress

Chunking = Literal["blocks", "doc"]
# "langchain": the LangChain hybrid peer over the same index (eval/langchain_peer.py).
RETRIEVERS = ("hybrid", "dense", "bm25", "sentence", "langchain")
SPLITS = ("test", "dev", "train")
# Chunks per candidate list. Recall@100 needs 100 distinct documents after best-chunk
# aggregation, and a document has ~2.5 chunks of 900 characters; the app itself fuses 40.
DEFAULT_DEPTH = 300
# Texts per `embed_chunks` call: large enough that the model's length-sorted batching pads little.
EMBED_BATCH = 2048
K_OUT = 100  # documents kept per query (the deepest cut-off of the metrics)


@dataclass
class Dataset:
    name: str
    corpus: dict[str, tuple[str, str]]  # doc id -> (title, text)
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]  # query id -> doc id -> grade, in file order


@dataclass
class Options:
    retriever: Mode | Literal["langchain"] = "hybrid"
    split: str = "test"
    limit: int | None = None
    max_docs: int | None = None
    chunking: Chunking = "blocks"
    depth: int = DEFAULT_DEPTH
    cache: Path | None = None
    overrides: dict[str, Any] = field(default_factory=dict)  # Settings fields
    bm25_weights: tuple[float, float, float] | None = None


def load_dataset(folder: Path, split: str) -> Dataset:
    """The corpus, the queries and one split's qrels (header line skipped)."""
    qrels_file = folder / "qrels" / f"{split}.tsv"
    for f in (folder / "corpus.jsonl", folder / "queries.jsonl", qrels_file):
        if not f.is_file():
            have = sorted(p.stem for p in (folder / "qrels").glob("*.tsv"))
            raise ConfigError(
                f"{f} is missing: a BEIR folder has corpus.jsonl, queries.jsonl and "
                f"qrels/<split>.tsv (this one has splits: {', '.join(have) or 'none'})"
            )
    corpus: dict[str, tuple[str, str]] = {}
    with (folder / "corpus.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                d = json.loads(line)
                corpus[str(d["_id"])] = (d.get("title") or "", d.get("text") or "")
    queries: dict[str, str] = {}
    with (folder / "queries.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                d = json.loads(line)
                queries[str(d["_id"])] = d["text"]
    qrels: dict[str, dict[str, int]] = {}
    with qrels_file.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh):
            parts = line.rstrip("\n").split("\t")
            if (n == 0 and parts[0] == "query-id") or len(parts) < 3:
                continue
            qrels.setdefault(parts[0], {})[parts[1]] = int(parts[2])
    return Dataset(folder.resolve().name, corpus, queries, qrels)


def select_queries(ds: Dataset, limit: int | None) -> list[str]:
    """Judged queries with at least one relevant document, in qrels order (as trec_eval)."""
    qids = [q for q, judged in ds.qrels.items() if q in ds.queries and max(judged.values()) > 0]
    return qids[:limit] if limit else qids


def select_docs(ds: Dataset, qids: Sequence[str], max_docs: int | None) -> list[str]:
    """All documents, or (for quick runs) the judged ones of `qids` topped up with a fixed
    pseudo-random sample of the rest, `max_docs` in all."""
    if not max_docs:
        return list(ds.corpus)
    # Round-robin over the queries, most relevant first, so that a small budget still gives
    # every query some of its documents (NFCorpus queries have ~38 judged documents each).
    per_query = [
        [d for d, _ in sorted(ds.qrels[q].items(), key=lambda kv: -kv[1]) if d in ds.corpus]
        for q in qids
    ]
    judged = [d for tier in itertools.zip_longest(*per_query) for d in tier if d is not None]
    chosen = list(dict.fromkeys(judged))[:max_docs]
    taken = set(chosen)
    others = sorted(
        (d for d in ds.corpus if d not in taken), key=lambda d: hashlib.sha256(d.encode()).digest()
    )
    return chosen + others[: max_docs - len(chosen)]


def make_chunks(ds: Dataset, doc_id: str, chunking: Chunking) -> list[Chunk]:
    """The app's chunker on one abstract; "doc" makes the chunk size unbounded (one chunk)."""
    title, text = ds.corpus[doc_id]
    meta = DocMeta(doc_id=doc_id, title=title, type="Research", source_path=ds.name)
    # One block with no section: abstracts have none (embed_text then reads "Title. . text").
    blocks = [Block(top="", path="", text=text or title)]
    return chunk_blocks(
        meta, blocks, chunk_chars=CHUNK_CHARS if chunking == "blocks" else sys.maxsize
    )


def build_index(
    index: Index, ds: Dataset, doc_ids: Sequence[str], embedder: CachedEmbedder, chunking: Chunking
) -> dict[str, str]:
    """Chunk, embed (through the cache) and write every document; returns chunk id -> doc id."""
    per_doc = [(d, make_chunks(ds, d, chunking)) for d in doc_ids]
    all_chunks = [c for _, chunks in per_doc for c in chunks]
    vectors, sent_vecs = embed_chunks(embedder, all_chunks, EMBED_BATCH, tqdm_progress(True))
    items: list[DocumentWrite] = []
    for doc_id, chunks in per_doc:
        if not chunks:
            continue
        digest = hashlib.sha256("\x1f".join(ds.corpus[doc_id]).encode()).hexdigest()
        items.append(
            DocumentWrite(
                chunks[0].doc,
                digest,
                chunks,
                {c.id: vectors[c.id] for c in chunks},
                {c.id: sent_vecs[c.id] for c in chunks},
            )
        )
    index.replace_documents(items)
    return {c.id: c.doc.doc_id for c in all_chunks}


def to_docs(ranked: Sequence[tuple[str, float]], chunk_doc: Mapping[str, str]) -> list[str]:
    """Documents in the order of their best chunk, the first K_OUT."""
    out: dict[str, None] = {}
    for cid, _ in ranked:
        out.setdefault(chunk_doc[cid], None)
        if len(out) >= K_OUT:
            break
    return list(out)


def query_vectors(embedder: CachedEmbedder, ds: Dataset, qids: Sequence[str]) -> np.ndarray:
    return embedder.embed([ds.queries[q] for q in qids])


def run_retrieval(
    index: Index,
    ds: Dataset,
    qids: Sequence[str],
    qvecs: np.ndarray,
    settings: Settings,
    mode: Mode,
    depth: int,
    chunk_doc: Mapping[str, str],
) -> dict[str, list[str]]:
    """Query id -> ranked document ids, through the app's `rank()`."""
    runs: dict[str, list[str]] = {}
    for q, vec in zip(qids, qvecs, strict=True):
        ranked, _ = rank(index, ds.queries[q], vec, settings, mode=mode, depth=depth)
        runs[q] = to_docs(ranked, chunk_doc)
    return runs


def component_lists(
    index: Index,
    ds: Dataset,
    qids: Sequence[str],
    qvecs: np.ndarray,
    settings: Settings,
    depth: int,
    modes: Sequence[Mode] = ("dense", "sentence", "bm25"),
) -> dict[str, dict[Mode, list[str]]]:
    """Each query's chunk rankings, exactly as `rank()` fetches them for hybrid, so a sweep can
    re-fuse them under many parameters without searching again."""
    out: dict[str, dict[Mode, list[str]]] = {}
    for q, vec in zip(qids, qvecs, strict=True):
        out[q] = {
            m: [c for c, _ in rank(index, ds.queries[q], vec, settings, mode=m, depth=depth)[0]]
            for m in modes
        }
    return out


@contextmanager
def bm25_weights(index: Index, weights: tuple[float, float, float] | None) -> Iterator[None]:
    """Set the index's BM25 column weights for a block (a tunable of the index, `Tuning`)."""
    saved = index.tuning
    if weights is not None:
        index.tune(bm25_weights=weights)
    try:
        yield
    finally:
        index.tuning = saved


def fuse(
    lists: Mapping[Mode, Sequence[str]], weights: tuple[float, float, float], rrf_k: int
) -> list[tuple[str, float]]:
    """`rank()`'s hybrid fusion of precomputed lists. Like `rank()`, it leaves the sentence list
    out when its weight is 0; a zero-weight dense or BM25 list still fills the tail."""
    sentences = lists["sentence"] if weights[1] > 0 else []
    return rrf_fuse(
        [(lists["dense"], weights[0]), (sentences, weights[1]), (lists["bm25"], weights[2])],
        rrf_k,
    )


@contextmanager
def temporary_index(settings: Settings) -> Iterator[Index]:
    """An Index in a throw-away CITELINE_HOME (never a Chroma server: it must not be touched)."""
    with tempfile.TemporaryDirectory(prefix="citeline-beir-", ignore_cleanup_errors=True) as tmp:
        index = Index(settings.replace(home=Path(tmp), chroma_url=""), create=True)
        try:
            yield index
        finally:
            index.close()


def open_embedder(settings: Settings, cache: Path) -> CachedEmbedder:
    """The app's model behind the cache, loaded only if some text is not cached."""
    model = settings.embed_model
    name = Path(model).name if model else "all-MiniLM-L6-v2"  # as SentenceTransformerEmbedder
    return CachedEmbedder(LazyEmbedder(name, lambda: get_embedder(model)), cache)


def run(folder: Path, opts: Options) -> dict[str, Any]:
    """Index the dataset, run its queries, and return the result record printed by the CLI."""
    from citeline.embcache import default_cache_dir

    t0 = time.perf_counter()
    settings = Settings.from_env(**opts.overrides)
    ds = load_dataset(folder, opts.split)
    qids = select_queries(ds, opts.limit)
    doc_ids = select_docs(ds, qids, opts.max_docs)
    embedder = open_embedder(settings, opts.cache or default_cache_dir())
    timings: dict[str, float] = {"load": time.perf_counter() - t0}
    try:
        with temporary_index(settings) as index, bm25_weights(index, opts.bm25_weights):
            t = time.perf_counter()
            chunk_doc = build_index(index, ds, doc_ids, embedder, opts.chunking)
            timings["index"] = time.perf_counter() - t
            t = time.perf_counter()
            qvecs = query_vectors(embedder, ds, qids)
            if opts.retriever == "langchain":
                from eval.langchain_peer import beir_runs

                qs = {q: ds.queries[q] for q in qids}
                runs = beir_runs(index, embedder, qs, opts.depth, lambda r: to_docs(r, chunk_doc))
            else:
                m = opts.retriever
                runs = run_retrieval(index, ds, qids, qvecs, settings, m, opts.depth, chunk_doc)
            timings["search"] = time.perf_counter() - t
    finally:
        embedder.close()
    scores = evaluate(runs, ds.qrels)
    return {
        "dataset": ds.name,
        "retriever": opts.retriever,
        "split": opts.split,
        "queries": len(qids),
        **{k: round(v, 4) for k, v in scores.items()},
        "params": {
            "rrf_k": settings.rrf_k,
            "weights": [settings.weight_dense, settings.weight_sentence, settings.weight_lexical],
            "bm25_weights": list(opts.bm25_weights or store.BM25_WEIGHTS),
            "chunking": opts.chunking,
            "chunk_chars": CHUNK_CHARS if opts.chunking == "blocks" else None,
            "depth": opts.depth,
            "model": embedder.name,
            "documents": len(doc_ids),
            "chunks": len(chunk_doc),
            "max_docs": opts.max_docs,
            "limit": opts.limit,
        },
        "timings": {k: round(v, 2) for k, v in timings.items()},
        "seconds": round(time.perf_counter() - t0, 2),
        "embedded": embedder.encoded,
    }


def summary(result: Mapping[str, Any]) -> str:
    """The one readable line printed without --json."""
    p = cast(dict[str, Any], result["params"])
    return (
        f"{result['dataset']} {result['split']} {result['retriever']}: "
        f"nDCG@10 {result['ndcg@10']:.4f}  Recall@100 {result['recall@100']:.4f}  "
        f"MRR@10 {result['mrr@10']:.4f}  ({result['queries']} queries, {p['documents']} docs, "
        f"rrf_k {p['rrf_k']}, weights {p['weights']}, bm25 {p['bm25_weights']}, "
        f"{result['seconds']:.1f} s, {result['embedded']} texts embedded)"
    )


# The dev-qrels sweep (bench/retrieval.md). Fusion weights are scale-free, so the dense weight
# is 0 or 1; BEIR abstracts have no sections, so only the title:text BM25 ratio can be measured.
SWEEP_RRF_K = (5, 10, 20, 40, 60, 100)
SWEEP_DENSE = (0.0, 1.0)
SWEEP_SENTENCE = (0.0, 0.5, 1.0, 1.5, 2.0)
SWEEP_LEXICAL = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0)
SWEEP_TITLE = (1.0, 2.0, 3.0, 5.0)


def sweep(folder: Path, opts: Options) -> list[dict[str, Any]]:
    """Every grid point's metrics on `opts.split`, best nDCG@10 first; refuses the test split."""
    from citeline.embcache import default_cache_dir

    if opts.split == "test":
        raise ConfigError("--sweep tunes parameters: use --split dev or train, never test")
    settings = Settings.from_env(**opts.overrides)
    ds = load_dataset(folder, opts.split)
    qids = select_queries(ds, opts.limit)
    embedder = open_embedder(settings, opts.cache or default_cache_dir())
    section_weight = store.BM25_WEIGHTS[1]
    rows: list[dict[str, Any]] = []
    try:
        with temporary_index(settings) as index:
            chunk_doc = build_index(
                index, ds, select_docs(ds, qids, opts.max_docs), embedder, opts.chunking
            )
            qvecs = query_vectors(embedder, ds, qids)
            dense = component_lists(
                index, ds, qids, qvecs, settings, opts.depth, ("dense", "sentence")
            )
            for title in SWEEP_TITLE:
                with bm25_weights(index, (title, section_weight, 1.0)):
                    lex = component_lists(index, ds, qids, qvecs, settings, opts.depth, ("bm25",))
                lists = {q: {**dense[q], **lex[q]} for q in qids}
                for mode in ("dense", "sentence", "bm25"):
                    if mode != "bm25" and title != SWEEP_TITLE[0]:
                        continue  # the dense lists do not depend on the BM25 weights
                    runs = {q: to_docs([(c, 0.0) for c in lists[q][mode]], chunk_doc) for q in qids}
                    rows.append(
                        {"bm25_title": title, "retriever": mode, **evaluate(runs, ds.qrels)}
                    )
                for k in SWEEP_RRF_K:
                    for w in _weight_grid():
                        runs = {q: to_docs(fuse(lists[q], w, k), chunk_doc) for q in qids}
                        row = {"bm25_title": title, "retriever": "hybrid", "rrf_k": k}
                        rows.append({**row, "weights": list(w), **evaluate(runs, ds.qrels)})
    finally:
        embedder.close()
    return sorted(rows, key=lambda r: -r["ndcg@10"])


def _weight_grid() -> Iterator[tuple[float, float, float]]:
    for d in SWEEP_DENSE:
        for s in SWEEP_SENTENCE:
            for lex in SWEEP_LEXICAL:
                if sum(w > 0 for w in (d, s, lex)) >= 2:  # single lists are measured on their own
                    yield (d, s, lex)


def sweep_table(rows: Sequence[Mapping[str, Any]], top: int = 15) -> str:
    """The best `top` fused settings, then every single list, one line each."""
    fused = [r for r in rows if r["retriever"] == "hybrid"][:top]
    single = [r for r in rows if r["retriever"] != "hybrid"]
    lines = ["nDCG@10  R@100   MRR@10  retriever  bm25_title  rrf_k  weights(D,S,L)"]
    for r in [*fused, *single]:
        lines.append(
            f"{r['ndcg@10']:.4f}   {r['recall@100']:.4f}  {r['mrr@10']:.4f}  "
            f"{r['retriever']:<9}  {r['bm25_title']:<10}  {r.get('rrf_k', '-')!s:<5}  "
            f"{r.get('weights', '-')}"
        )
    return "\n".join(lines)
