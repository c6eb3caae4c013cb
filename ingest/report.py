"""What an ingest run did: the change report `python -m ingest` prints (as text or --json)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Report:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)
    warnings: list[dict[str, str]] = field(default_factory=list)
    chunks: int = 0
    embedded: int = 0
    section_changes: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    repaired: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "removed": self.removed,
            "failed": self.failed,
            "warnings": self.warnings,
            "chunks": self.chunks,
            "embedded": self.embedded,
            "section_changes": self.section_changes,
            "repaired": self.repaired,
        }

    def summary(self) -> str:
        lines = [
            f"added {len(self.added)}, updated {len(self.updated)}, unchanged {len(self.unchanged)}, "
            f"removed {len(self.removed)}, failed {len(self.failed)}; "
            f"{self.chunks} chunks in the index, {self.embedded} embedded in this run"
        ]
        for doc in self.added:
            lines.append(f"  + {doc}")
        for doc in self.updated:
            ch = self.section_changes.get(doc, {})
            parts = [f"{k} sections: {', '.join(v)}" for k, v in ch.items() if v]
            lines.append(f"  ~ {doc}" + (f" ({'; '.join(parts)})" if parts else ""))
        for doc in self.removed:
            lines.append(f"  - {doc}")
        for f in self.failed:
            lines.append(f"  ! {f['path']}: {f['error']}")
        for w in self.warnings:
            lines.append(f"  ? {w['path']}: {w['warning']}")
        if any(self.repaired.values()):
            lines.append(f"  repaired after an interrupted run: {self.repaired}")
        return "\n".join(lines)
