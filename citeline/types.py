"""Plain data types shared by ingest, retrieval, answerers, the app and the eval."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

DOC_TYPES = ("Guideline", "Research", "Review", "Patient information")
FLAGS = (
    "crisis",
    "red_flag",
    "out_of_scope",
    "injection",
    "truncated",
    "unmentioned_terms",
    "not_given",
    "no_matching_documents",
)


@dataclass(frozen=True)
class DocMeta:
    """Bibliographic metadata of one guideline document."""

    doc_id: str
    title: str
    publisher: str = ""
    year: int | None = None
    type: str = "Guideline"
    url: str = ""
    audience: str = "all"
    source_path: str = ""


@dataclass(frozen=True)
class Chunk:
    """A retrievable unit: part of one section of one document."""

    id: str
    doc: DocMeta
    text: str
    section: str = ""
    page: int | None = None
    ordinal: int = 0
    sentences: tuple[str, ...] = ()


@dataclass
class Passage:
    """A retrieved chunk, numbered for citation, with its retrieval scores."""

    n: int
    chunk: Chunk
    score: float = 0.0
    dense: float = 0.0
    lexical_rank: int | None = None
    dense_rank: int | None = None

    @property
    def doc(self) -> DocMeta:
        return self.chunk.doc


@dataclass
class Claim:
    """One shown sentence with the passage numbers that support it, the verifier's label and,
    per cited passage number, the index of the passage sentence it rests on."""

    text: str
    citations: list[int]
    support: float = 0.0
    kind: str = ""
    lead_in: str = ""  # names the source or subject, or a stance; never part of the quote
    # Reference number -> the sentences of that reference's passages this claim rests on
    # (filled when the references are built: citeline.references.build_references).
    sources: dict[int, list[str]] = field(default_factory=dict)
    support_label: str = "supported"
    sentences: dict[int, int] = field(default_factory=dict)

    @property
    def sentence(self) -> int | None:
        """Index of the sentence it rests on in its first cited passage."""
        return self.sentences.get(self.citations[0]) if self.citations else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "citations": self.citations,
            "support": round(self.support, 3),
            "support_label": self.support_label,
            "sentence": self.sentence,
            "lead_in": self.lead_in,
        }


@dataclass
class Section:
    heading: str
    claims: list[Claim] = field(default_factory=list)


@dataclass
class CitedPassage:
    """One retrieved passage of a referenced document, with the sentences the answer cites."""

    chunk_id: str
    section: str
    page: int | None
    text: str
    cited: list[str] = field(default_factory=list)

    @property
    def location(self) -> str:
        """ "Section > Subsection, p. 4" (either part may be missing)."""
        return ", ".join(x for x in (self.section, f"p. {self.page}" if self.page else "") if x)


@dataclass
class Reference:
    """One cited document of an answer. `section`, `page` and `passage` summarise `passages`
    (sections joined by "; ", the first page, the texts joined by a blank line), so readers of
    the one-passage form keep working."""

    n: int
    doc_id: str
    title: str
    publisher: str
    year: int | None
    type: str
    url: str
    section: str
    page: int | None
    passage: str
    highlights: list[str] = field(default_factory=list)
    passages: list[CitedPassage] = field(default_factory=list)

    @property
    def locations(self) -> list[str]:
        """Where in the document the answer cites it from, one entry per passage, deduplicated."""
        return list(dict.fromkeys(p.location for p in self.passages if p.location))


@dataclass
class RemovedClaim:
    """A draft sentence that was not shown: why, the verifier's label (contradicted or
    not_found), which check decided and the sentence of the passage it was compared with."""

    text: str
    citations: list[int]
    reason: str
    label: str = "not_found"
    detail: str = ""
    sentence: int | None = None


@dataclass
class Answer:
    question: str
    standalone_query: str
    refused: bool = False
    refusal_reason: str = ""
    verdict: Claim | None = None
    sections: list[Section] = field(default_factory=list)
    references: list[Reference] = field(default_factory=list)
    disclaimer: str = ""
    follow_ups: list[str] = field(default_factory=list)
    backend: str = "extractive"
    flags: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    glossary: list[dict[str, str]] = field(default_factory=list)
    removed_claims: list[RemovedClaim] = field(default_factory=list)
    audience: str = "clinician"
    not_given: str = ""  # "The indexed guidelines give no dose for amitriptyline."
    filters: dict[str, Any] = field(default_factory=dict)  # the active filters, as shown
    timings_ms: dict[str, float] = field(default_factory=dict)

    @property
    def claims(self) -> list[Claim]:
        """Every shown claim: the verdict first, then the bullets."""
        out = [self.verdict] if self.verdict else []
        return out + [c for s in self.sections for c in s.claims]

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract of `python -m citeline ask --json`."""
        return {
            "question": self.question,
            "standalone_query": self.standalone_query,
            "refused": self.refused,
            "refusal_reason": self.refusal_reason,
            "verdict": self.verdict.text if self.verdict else "",
            "verdict_citations": self.verdict.citations if self.verdict else [],
            "verdict_lead_in": self.verdict.lead_in if self.verdict else "",
            "verdict_support_label": self.verdict.support_label if self.verdict else "",
            "verdict_sentence": self.verdict.sentence if self.verdict else None,
            "not_given": self.not_given,
            "filters": self.filters,
            "sections": [
                {"heading": s.heading, "claims": [c.to_dict() for c in s.claims]}
                for s in self.sections
            ],
            "references": [asdict(r) for r in self.references],
            "disclaimer": self.disclaimer,
            "follow_ups": self.follow_ups,
            "backend": self.backend,
            "flags": self.flags,
            "notices": self.notices,
            "glossary": self.glossary,
            "removed_claims": [asdict(r) for r in self.removed_claims],
            "audience": self.audience,
            "timings_ms": {k: round(v, 1) for k, v in self.timings_ms.items()},
        }
