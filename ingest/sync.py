"""Incremental sync of guideline files into the index, with a change report."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from filelock import FileLock, Timeout

from citeline.config import Settings
from citeline.embeddings import Embedder, get_embedder
from citeline.errors import (
    CitelineError,
    IngestLockedError,
    LoaderError,
    StoreUnavailableError,
    UploadTooLargeError,
)
from citeline.faults import crash_point
from citeline.store import DatabaseError, DocumentRecord, Index, open_index
from citeline.types import Chunk
from ingest.chunking import chunk_blocks
from ingest.embed import Progress, embed_chunks
from ingest.loaders import SUPPORTED, ParsedDocument, load
from ingest.report import Report

SKIP_NAMES = ("readme", "license", "changelog")


def discover(paths: Sequence[Path]) -> tuple[list[Path], list[dict[str, str]]]:
    """Files to ingest under the given paths, and the paths that cannot be used at all."""
    files: list[Path] = []
    missing: list[dict[str, str]] = []
    for p in paths:
        if p.is_dir():
            for f in sorted(p.rglob("*")):
                if any(part.startswith(".") for part in f.relative_to(p).parts):
                    continue
                if not f.is_file():
                    if f.is_symlink() and not f.exists():  # say so rather than skip it silently
                        missing.append(
                            {"path": str(f), "error": "broken link (no target, or a loop)"}
                        )
                    continue
                if f.name.endswith(".meta.yaml") or f.stem.lower() in SKIP_NAMES:
                    continue
                files.append(f)
        elif p.is_file():
            files.append(p)
        else:
            missing.append({"path": str(p), "error": "no such file or folder"})
    return files, missing


def add_upload(
    name: str,
    data: bytes,
    settings: Settings,
    meta: dict[str, Any] | None = None,
    progress: Progress | None = None,
) -> Report:
    """Store an uploaded file under CITELINE_HOME/uploads (with its metadata as a sidecar) and
    ingest it; the file stays there so later re-ingests keep it. A file over
    CITELINE_MAX_UPLOAD_MB is refused before anything is written (an earlier upload of the
    same name stays as it was)."""
    safe = Path(name).name.replace("\x00", "")
    if safe in ("", ".", ".."):  # Path("..").name is "..": it would name the index folder
        safe = "upload"
    limit = settings.max_upload_mb * 1024 * 1024  # MB as Streamlit's server.maxUploadSize counts
    if len(data) > limit:
        raise UploadTooLargeError(
            f"{safe} is {len(data) / 1024 / 1024:.1f} MB: uploads are limited to "
            f"{settings.max_upload_mb} MB (CITELINE_MAX_UPLOAD_MB); nothing was added"
        )
    folder = settings.home_path / "uploads"
    path = folder / safe
    side = path.with_name(path.stem + ".meta.yaml")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        clean = {k: v for k, v in (meta or {}).items() if v not in (None, "")}
        if clean:
            side.write_text(yaml.safe_dump(clean, allow_unicode=True), encoding="utf-8")
        elif side.exists():
            side.unlink()
        report = sync([path], settings, progress=progress)
    except (OSError, DatabaseError, CitelineError) as exc:  # e.g. a full disk: say so, keep nothing
        _remove(path, side)
        if isinstance(exc, CitelineError):
            raise
        raise StoreUnavailableError(f"Cannot add {safe} to the index: {exc}") from exc
    if report.failed:  # nothing of a file that failed stays behind
        _remove(path, side)
    return report


def _remove(*paths: Path) -> None:
    for p in paths:
        with contextlib.suppress(OSError):
            p.unlink(missing_ok=True)


class Lock:
    """One writer at a time per index folder."""

    def __init__(self, home: Path) -> None:
        home.mkdir(parents=True, exist_ok=True)
        self.path = home / "ingest.lock"
        self._lock = FileLock(str(self.path))

    def __enter__(self) -> Lock:
        try:
            self._lock.acquire(timeout=0)
        except Timeout:
            raise IngestLockedError(
                f"Another ingest is writing to this index (lock {self.path} is held); "
                "wait for it to finish and run again"
            ) from None
        return self

    def __exit__(self, *exc: object) -> None:
        self._lock.release()


@contextmanager
def _writing(settings: Settings, index: Index | None) -> Iterator[Index]:
    """The index opened for writing; with a Chroma server, also its writer lease (the file lock
    above only guards this CITELINE_HOME)."""
    idx = index or open_index(settings, create=True)
    with idx.writer():
        yield idx


# Texts (chunks + sentences) embedded together. Batching across documents keeps every model
# batch full and lets the texts be sorted by length first (less padding: a corpus of short
# documents otherwise pays a half-empty batch per document); the bound keeps memory flat on a
# large library (at most this many pending texts and their vectors, ~3 MB).
GROUP_TEXTS = 2048


@dataclass
class _Pending:
    """A parsed document waiting for its vectors."""

    parsed: ParsedDocument
    chunks: list[Chunk]
    old: dict[str, tuple[str, bytes]]
    new: list[Chunk]  # the chunks that need embedding
    existed: bool

    @property
    def texts(self) -> int:
        return sum(1 + len(c.sentences) for c in self.new)


def sync(
    paths: Sequence[Path],
    settings: Settings,
    *,
    prune: bool = False,
    rebuild: bool = False,
    embedder: Embedder | None = None,
    index: Index | None = None,
    progress: Progress | None = None,
    group_texts: int = GROUP_TEXTS,
) -> Report:
    """Bring the index in line with the files under `paths` (`group_texts`: texts embedded
    together, see GROUP_TEXTS).

    `rebuild` re-chunks and re-embeds every document and removes the ones not under `paths`,
    one document at a time: readers keep answering from the old version of each document until
    its new one is committed, and an interrupted rebuild leaves a consistent index (each document
    old or new) that the next run completes.
    """
    report = Report()
    files, report.failed = discover(paths)
    with Lock(settings.home_path), _writing(settings, index) as idx:
        report.repaired = idx.reconcile()
        existing = idx.documents()
        writer = _Writer(idx, embedder, settings, report, progress, group_texts)
        seen = _Seen()
        for path in files:
            try:
                pending = _prepare(path, idx, existing, seen, report, rebuild)
                if pending is not None:
                    writer.add(pending)
            except LoaderError as exc:
                report.failed.append({"path": str(path), "error": str(exc)})
        writer.flush()
        if prune or rebuild:
            for doc_id in sorted(set(existing) - set(seen.ids)):
                idx.remove_document(doc_id)
                report.removed.append(doc_id)
        report.chunks = idx.stats()["chunks"]
    return report


@dataclass
class _Seen:
    """The files of this run so far, by document id and by raw content hash."""

    ids: dict[str, str] = field(default_factory=dict)
    raw: dict[str, str] = field(default_factory=dict)

    def claim(self, path: Path, parsed: ParsedDocument) -> None:
        doc_id = parsed.meta.doc_id
        if doc_id in self.ids:
            raise LoaderError(f"document id {doc_id!r} is already used by {self.ids[doc_id]}")
        if parsed.raw_hash in self.raw:
            raise LoaderError(f"same content as {self.raw[parsed.raw_hash]}")
        self.ids[doc_id] = str(path)
        self.raw[parsed.raw_hash] = str(path)


def _prepare(
    path: Path,
    idx: Index,
    existing: dict[str, DocumentRecord],
    seen: _Seen,
    report: Report,
    rebuild: bool,
) -> _Pending | None:
    """Parse and chunk one file; None when it is unchanged (LoaderError when it cannot be)."""
    if path.suffix.lower() not in SUPPORTED:
        raise LoaderError(f"unsupported file type {path.suffix or '(none)'}")
    parsed = load(path)
    crash_point("after_parse")
    seen.claim(path, parsed)
    doc_id = parsed.meta.doc_id
    rec = existing.get(doc_id)
    if rec and rec.content_hash == parsed.content_hash and not rebuild:
        report.unchanged.append(doc_id)
        return None
    dropped: list[str] = []
    chunks = chunk_blocks(parsed.meta, parsed.blocks, dropped=dropped)
    if injected := len(dropped):
        report.warnings.append(
            {
                "path": str(path),
                "warning": f"{injected} instruction-like sentence"
                f"{'s' if injected > 1 else ''} not indexed",
            }
        )
    if not chunks:
        raise LoaderError("no text to index")
    old = idx.doc_chunk_ids(doc_id)
    new = chunks if rebuild else [c for c in chunks if c.id not in old]
    return _Pending(parsed, chunks, old, new, rec is not None)


class _Writer:
    """Collects parsed documents, embeds them in groups across documents, writes each one."""

    def __init__(
        self,
        idx: Index,
        embedder: Embedder | None,
        settings: Settings,
        report: Report,
        progress: Progress | None,
        group_texts: int = GROUP_TEXTS,
    ) -> None:
        self.idx, self.emb, self.settings, self.report = idx, embedder, settings, report
        self.group_texts = group_texts
        self.progress = progress
        self.pending: list[_Pending] = []
        self.done = 0  # texts embedded so far in this run
        self.total = 0  # texts known so far (grows as files are parsed)

    def add(self, item: _Pending) -> None:
        self.pending.append(item)
        self.total += item.texts
        if sum(p.texts for p in self.pending) >= self.group_texts:
            self.flush()

    def flush(self) -> None:
        batch, self.pending = self.pending, []
        if not batch:
            return
        new = [c for p in batch for c in p.new]
        if new and self.emb is None:
            self.emb = get_embedder(self.settings.embed_model)
        start = self.done
        vectors, sent_vecs = embed_chunks(
            self.emb, new, self.settings.embed_batch, lambda k, _: self._advance(start + k)
        )
        crash_point("after_embed")
        for p in batch:
            ids = {c.id for c in p.new}
            svecs = {c.id: sent_vecs[c.id] for c in p.new}
            for c in p.chunks:
                if c.id not in ids:
                    svecs[c.id] = p.old[c.id][1]
            self.idx.replace_document(
                p.parsed.meta,
                p.parsed.content_hash,
                p.chunks,
                {c.id: vectors[c.id] for c in p.new},
                svecs,
            )
            self.report.embedded += len(p.new)
            doc_id = p.parsed.meta.doc_id
            if p.existed:
                self.report.updated.append(doc_id)
                self.report.section_changes[doc_id] = _section_changes(p.old, p.chunks)
            else:
                self.report.added.append(doc_id)

    def _advance(self, done: int) -> None:
        self.done = done
        if self.progress:
            self.progress(self.done, self.total)


def _section_changes(
    old: dict[str, tuple[str, bytes]], chunks: Sequence[Chunk]
) -> dict[str, list[str]]:
    old_by: dict[str, set[str]] = {}
    for cid, (section, _) in old.items():
        old_by.setdefault(section, set()).add(cid)
    new_by: dict[str, set[str]] = {}
    for c in chunks:
        new_by.setdefault(c.section, set()).add(c.id)
    return {
        "added": sorted(set(new_by) - set(old_by)),
        "removed": sorted(set(old_by) - set(new_by)),
        "changed": sorted(s for s in set(new_by) & set(old_by) if new_by[s] != old_by[s]),
    }


def tqdm_progress(enabled: bool) -> Progress | None:
    """One progress bar for the whole run on a terminal (its total grows as files are parsed)."""
    if not enabled or not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    bar: Any = None

    def update(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, desc="embedding", unit="text", leave=False)
        bar.total = total
        bar.n = done
        bar.refresh()
        if done >= total:
            bar.close()
            bar = None

    return update
