"""Benchmark indexes built from the real texts in ../shared/data, through the app's own code.

Texts: NFCorpus and SciFact abstracts, MedQuAD answers and the guideline PDFs, chunked by
`ingest.chunking.chunk_blocks` (PDFs loaded by `ingest.loaders.load`), embedded by
`ingest.embed.embed_chunks` (chunk and sentence vectors) through the embedding cache of
`citeline.embcache` (keyed by text hash: only the first run encodes), and written with
`citeline.store.Index.replace_documents` into a CITELINE_HOME of their own. Nothing of the texts
is copied into the repository; built indexes live in a gitignored work folder.

Sizes beyond the real chunks are filled with variants of real documents: a variant has its own
document id and title, drops one sentence of each chunk of three or more sentences (rotating), and
its chunk and sentence vectors are the real ones plus Gaussian noise (`NOISE`, renormalised:
cosine ~0.98 to the original). Only latency is measured on them, never retrieval quality.
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from citeline.config import PROJECT_ROOT, Settings
from citeline.embcache import default_cache_dir
from citeline.store import DocumentWrite, Index, codec
from citeline.types import Chunk, DocMeta
from eval.beir import open_embedder
from ingest.chunking import chunk_blocks, chunk_id
from ingest.embed import embed_chunks
from ingest.loaders import Block, load

SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"
WORK_DIR = PROJECT_ROOT / ".citeline-bench"
NOISE = 0.01  # per-dimension std of the noise added to variant vectors (384 dims, unit norm)
WRITE_BATCH = 500  # documents per replace_documents call (one SQLite transaction each)
BUILD_VERSION = "1"  # bump when the way indexes are built changes (invalidates built indexes)
SEED = 8


@dataclass
class Doc:
    meta: DocMeta
    content_hash: str
    chunks: list[Chunk]


def data_available(root: Path = SHARED_DATA) -> bool:
    return (root / "nfcorpus" / "corpus.jsonl").is_file() and (
        root / "scifact" / "corpus.jsonl"
    ).is_file()


def _jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


def _abstract_doc(source: str, doc_id: str, title: str, text: str, type_: str) -> Doc | None:
    meta = DocMeta(doc_id=f"{source}:{doc_id}", title=title, type=type_, source_path=source)
    chunks = chunk_blocks(meta, [Block(top="", path="", text=text or title)])
    if not chunks:
        return None
    digest = hashlib.sha256(f"{title}\x1f{text}".encode()).hexdigest()
    return Doc(meta, digest, chunks)


def real_documents(root: Path = SHARED_DATA, *, pdfs: bool = True) -> list[Doc]:
    """Every real document, chunked, in a fixed pseudo-random order (so that any prefix mixes
    the sources)."""
    docs: list[Doc] = []
    for name, type_ in (("nfcorpus", "Research"), ("scifact", "Research")):
        for d in _jsonl(root / name / "corpus.jsonl"):
            doc = _abstract_doc(
                name, str(d["_id"]), d.get("title") or "", d.get("text") or "", type_
            )
            if doc:
                docs.append(doc)
    medquad = root / "medquad" / "medquad_subset.jsonl"
    if medquad.is_file():
        for d in _jsonl(medquad):
            doc = _abstract_doc(
                "medquad", str(d["id"]), d["question"], d["answer"], "Patient information"
            )
            if doc:
                docs.append(doc)
    if pdfs:
        for pdf in sorted((root / "guidelines").glob("*.pdf")):
            parsed = load(pdf)
            chunks = chunk_blocks(parsed.meta, parsed.blocks)
            if chunks:
                docs.append(Doc(parsed.meta, parsed.content_hash, chunks))
    random.Random(SEED).shuffle(docs)
    return docs


def questions(root: Path = SHARED_DATA, per_source: int = 12) -> list[str]:
    """Real questions, interleaved: NFCorpus test queries, SciFact test claims, MedQuAD
    questions (the first judged ones of each, in file order)."""
    out: list[list[str]] = []
    for name in ("nfcorpus", "scifact"):
        qrels = root / name / "qrels" / "test.tsv"
        judged: list[str] = []
        with qrels.open(encoding="utf-8") as fh:
            for line in fh:
                q = line.split("\t")[0]
                if q != "query-id" and q not in judged:
                    judged.append(q)
        text = {str(d["_id"]): d["text"] for d in _jsonl(root / name / "queries.jsonl")}
        out.append([text[q] for q in judged if q in text][:per_source])
    medquad = root / "medquad" / "medquad_subset.jsonl"
    if medquad.is_file():
        out.append([d["question"] for d in _jsonl(medquad)][:: 585 // per_source][:per_source])
    return [q for group in zip(*out, strict=False) for q in group]


def _unit(v: np.ndarray) -> np.ndarray:
    return (v / np.linalg.norm(v, axis=-1, keepdims=True)).astype(np.float32)


def _variant(
    doc: Doc,
    vectors: dict[str, np.ndarray],
    sent_vecs: dict[str, bytes],
    n: int,
    rng: np.random.Generator,
) -> tuple[Doc, dict[str, np.ndarray], dict[str, bytes]]:
    """Copy `n` of a document: new id and title, one sentence dropped per long chunk, vectors
    with noise."""
    meta = replace(doc.meta, doc_id=f"{doc.meta.doc_id}~v{n}", title=f"{doc.meta.title} [v{n}]")
    chunks: list[Chunk] = []
    vecs: dict[str, np.ndarray] = {}
    svecs: dict[str, bytes] = {}
    for c in doc.chunks:
        sv = codec.decode(sent_vecs[c.id], rows=len(c.sentences))
        keep = list(range(len(c.sentences)))
        if len(keep) >= 3:
            keep.pop(n % len(keep))
        sents = tuple(c.sentences[i] for i in keep)
        text = " ".join(sents)
        # The original id too: two chunks of a document may read the same once a sentence is gone.
        cid = chunk_id(meta.doc_id, c.section, f"{c.id}\x1f{text}")
        chunks.append(replace(c, id=cid, doc=meta, text=text, sentences=sents))
        v = vectors[c.id]
        vecs[cid] = _unit(v + rng.normal(0, NOISE, v.shape))
        s = sv[keep]
        svecs[cid] = codec.encode(_unit(s + rng.normal(0, NOISE, s.shape)))
    digest = hashlib.sha256(f"{doc.content_hash}~v{n}".encode()).hexdigest()
    return Doc(meta, digest, chunks), vecs, svecs


def fingerprint(size: int, docs: Sequence[Doc]) -> str:
    h = hashlib.sha256(f"{BUILD_VERSION}|{size}|{NOISE}|{SEED}".encode())
    for d in docs:
        h.update(d.content_hash.encode())
    return h.hexdigest()[:12]


def build_index(
    size: int,
    docs: Sequence[Doc],
    vectors: dict[str, np.ndarray],
    sent_vecs: dict[str, bytes],
    work: Path = WORK_DIR,
    *,
    rebuild: bool = False,
    budget_s: float | None = None,
) -> tuple[Path, dict[str, Any]]:
    """A CITELINE_HOME holding at least `size` chunks (whole documents: the last one may go a
    little over), reused when already built with the same inputs. Returns the home and facts.
    With `budget_s`, writing stops after that many seconds and the index is measured as it is
    (`partial`; the next call resumes)."""
    home = work / f"index-{size}-{fingerprint(size, docs)}"
    done = home / "bench-built.json"
    if done.is_file() and not rebuild:
        return home, {**json.loads(done.read_text()), "reused": True}
    if home.exists() and rebuild:
        shutil.rmtree(home)
    rng = np.random.default_rng(SEED)
    settings = Settings.from_env(home=home, chroma_url="")
    index = Index(settings, create=True)
    # An interrupted build (or one stopped by `budget_s`) resumes: documents already committed
    # are counted, not written again.
    present = set(index.documents())
    total = real = variants = sentences = 0
    t0 = time.perf_counter()
    partial = False
    batch: list[DocumentWrite] = []
    try:
        for doc, vecs, svecs, copy in _stream(docs, vectors, sent_vecs, rng):
            if total >= size:
                break
            if doc.meta.doc_id not in present:
                if budget_s is not None and time.perf_counter() - t0 > budget_s:
                    partial = True
                    break
                batch.append(DocumentWrite(doc.meta, doc.content_hash, doc.chunks, vecs, svecs))
            total += len(doc.chunks)
            sentences += sum(len(c.sentences) for c in doc.chunks)
            real += 0 if copy else len(doc.chunks)
            variants += len(doc.chunks) if copy else 0
            if len(batch) >= WRITE_BATCH:
                index.replace_documents(batch)
                batch = []
        if batch:
            index.replace_documents(batch)
    finally:
        index.close()
    facts = {
        "chunks": total,
        "real_chunks": real,
        "variant_chunks": variants,
        "sentences": sentences,
        "build_s": round(time.perf_counter() - t0, 1),
        "noise_std": NOISE if variants else 0.0,
        "partial": partial,
    }
    if not partial:
        done.write_text(json.dumps(facts))
    return home, {**facts, "reused": False}


def _stream(
    docs: Sequence[Doc],
    vectors: dict[str, np.ndarray],
    sent_vecs: dict[str, bytes],
    rng: np.random.Generator,
) -> Iterator[tuple[Doc, dict[str, np.ndarray], dict[str, bytes], bool]]:
    for doc in docs:
        yield (
            doc,
            {c.id: vectors[c.id] for c in doc.chunks},
            {c.id: sent_vecs[c.id] for c in doc.chunks},
            False,
        )
    n = 1
    while True:
        for doc in docs:
            vdoc, vecs, svecs = _variant(doc, vectors, sent_vecs, n, rng)
            yield vdoc, vecs, svecs, True
        n += 1


def embed_documents(
    docs: Sequence[Doc], settings: Settings, cache: Path | None = None
) -> tuple[dict[str, np.ndarray], dict[str, bytes], int]:
    """Chunk and sentence vectors of every chunk (through the embedding cache); also how many
    texts had to be encoded."""
    embedder = open_embedder(settings, cache or default_cache_dir())
    try:
        chunks = [c for d in docs for c in d.chunks]
        vectors, sent_vecs = embed_chunks(embedder, chunks, 2048, None)
        return vectors, sent_vecs, embedder.encoded
    finally:
        embedder.close()
