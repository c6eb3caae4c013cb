"""The writer lease of server mode: one ingest writes a server collection at a time.

The ingest file lock only guards one CITELINE_HOME, so server-mode writes also need a lease in
the manifest collection's metadata: owner id, host, pid and expiry (`Tuning.lease_ttl`), renewed
every `Tuning.lease_renew` seconds by a thread, checked again at every commit (`fence`). A lease
is free when empty, expired, or held by a dead process on the same host. Chroma has no
compare-and-swap, so two writers starting within `Tuning.lease_settle` of each other are resolved
by writing, waiting and re-reading; that is a lease, not consensus, hence the operational rule in
the README: schedule one ingest writer.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from dataclasses import replace
from typing import Any, Protocol

from citeline.errors import ChromaServerError, IngestLockedError
from citeline.store.model import LEASE_KEY, VERSION_KEY, Lease, Tuning


class MetaStore(Protocol):
    """Where the lease lives: a metadata mapping read and replaced as a whole."""

    meta_lock: threading.Lock
    url: str
    name: str

    def read_meta(self) -> tuple[dict[str, Any], str]: ...

    def write_meta(self, meta: dict[str, Any]) -> None: ...

    def top_generation(self) -> int: ...


class WriterLease:
    """This process's claim to write (see the module docstring)."""

    def __init__(self, store: MetaStore) -> None:
        self.store = store
        self.held: Lease | None = None
        self.tuning = Tuning()
        self._lost = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def acquire(self, tuning: Tuning) -> None:
        """Take the lease or raise IngestLockedError naming the holder."""
        self.tuning = tuning
        mine = Lease(uuid.uuid4().hex, socket.gethostname(), os.getpid(), 0.0)
        s = self.store
        with s.meta_lock:
            meta, _ = s.read_meta()
            held = Lease.parse(meta.get(LEASE_KEY))
            if held is not None and not held.stale():
                raise self._locked(held)
            mine = replace(mine, expires=time.time() + tuning.lease_ttl)
            meta[LEASE_KEY] = mine.dump()
            s.write_meta(meta)
        time.sleep(tuning.lease_settle)  # a writer that read "free" at the same time has written
        with s.meta_lock:
            meta, _ = s.read_meta()
            held = Lease.parse(meta.get(LEASE_KEY))
            if held is None or held.owner != mine.owner:
                raise self._locked(held)
            self.held, self._lost = mine, False
            # A commit killed between its manifest write and its stamp bump left a manifest that
            # running readers have not seen: moving the stamp past every generation makes them
            # look again (a deletion leaves no generation behind, so always move it), and keeps
            # every later generation new.
            meta[VERSION_KEY] = max(int(meta.get(VERSION_KEY, 0)), s.top_generation()) + 1
            s.write_meta(meta)
        self._stop.clear()
        self._thread = threading.Thread(target=self._renew, name="citeline-lease", daemon=True)
        self._thread.start()

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        mine, self.held = self.held, None
        if mine is None:
            return
        try:
            with self.store.meta_lock:
                meta, _ = self.store.read_meta()
                held = Lease.parse(meta.get(LEASE_KEY))
                if held is not None and held.owner == mine.owner:
                    meta[LEASE_KEY] = ""
                    self.store.write_meta(meta)
        except ChromaServerError:
            pass  # unreachable server: the lease expires by itself

    def require(self) -> None:
        if self.held is None:
            raise RuntimeError("server-mode writes need `with index.writer():` (the writer lease)")

    def fence(self, meta: dict[str, Any]) -> None:
        """Raise IngestLockedError unless `meta` (read under `meta_lock`) shows our lease."""
        held = Lease.parse(meta.get(LEASE_KEY))
        if self.held is None or self._lost or held is None or held.owner != self.held.owner:
            raise IngestLockedError(
                f"This ingest lost the writer lease on the Chroma server at {self.store.url} "
                f"(collection {self.store.name!r}) to another ingest; nothing more was committed. "
                "Run it again when the other one has finished"
            )

    def stamp(self, meta: dict[str, Any]) -> None:
        """Renew the lease into `meta`, which the caller writes (under `meta_lock`)."""
        assert self.held is not None
        self.held = replace(self.held, expires=time.time() + self.tuning.lease_ttl)
        meta[LEASE_KEY] = self.held.dump()

    def _renew(self) -> None:
        while not self._stop.wait(self.tuning.lease_renew):
            try:
                with self.store.meta_lock:
                    if self.held is None:
                        return
                    meta, _ = self.store.read_meta()
                    held = Lease.parse(meta.get(LEASE_KEY))
                    if held is None or held.owner != self.held.owner:
                        self._lost = True
                        return
                    self.stamp(meta)
                    self.store.write_meta(meta)
            except ChromaServerError:
                continue  # try again; the commit fence notices if the lease was lost

    def _locked(self, held: Lease | None) -> IngestLockedError:
        who = held.describe() if held else "another writer that took it at the same moment"
        return IngestLockedError(
            f"Another ingest is writing to collection {self.store.name!r} on the Chroma server at "
            f"{self.store.url} ({who}); wait for it to finish and run again"
        )
