"""What the library holds, as people filter and browse it: publishers normalised to the
organisation, a summary for the landing panel, and example questions drawn from the index.
Pure functions over the index's document records."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

# Words that make a name an organisation (a society, college, agency, publisher house ...).
_ORG = re.compile(
    r"\b(society|college|association|foundation|institute|institution|organi[sz]ation|"
    r"publishing|publishers?|school|university|press|agency|department|ministry|centers?|"
    r"centres?|council|service|laboratory|academy|federation|board|commission|network|group|"
    r"trust|collaboration|nhs|who|cdc|bmj|wiley|elsevier|springer|nature portfolio|aaas|mdpi|"
    r"biomed central|lippincott|wolters kluwer|taylor & francis|sage|karger|thieme|frontiers)\b",
    re.IGNORECASE,
)
# Words that make a name a journal, whatever else it contains ("Proceedings of the Nutrition
# Society" is a journal of a society).
_JOURNAL = re.compile(
    r"\b(journal|proceedings|annals|archives|acta|reviews?|bulletin|transactions|letters|"
    r"lancet|medrxiv|biorxiv)\b",
    re.IGNORECASE,
)
_TRAILING = re.compile(r"^(?P<main>.*?)\s*\((?P<paren>[^()]*)\)\s*$")
# Section headings that say nothing about a topic (no example question is made of them).
_VAGUE = re.compile(
    r"^(key points?|summary|overview|introduction|background|context|caveats?|cautions?|"
    r"common pitfalls|methods|study design|results|findings|evidence|discussion|limitations|"
    r"conclusions?|interpretation|references|sources|text|relevance\b.*|what this means\b.*|"
    r"structure of\b.*|.*\bdetails|page \d+|other\b.*|use\b.*|using\b.*)$",
    re.IGNORECASE,
)


def _is_org(name: str) -> bool:
    return bool(_ORG.search(name)) and not _JOURNAL.search(name)


def _acronym_of(short: str, name: str) -> bool:
    """ "NICE" for "National Institute for Health and Care Excellence"."""
    letters = re.sub(r"[^A-Za-z]", "", short)
    initials = "".join(w[0] for w in re.findall(r"[A-Za-z]+", name) if w[0].isupper())
    return len(letters) >= 2 and letters.isupper() and letters in initials


def organisation(publisher: str) -> str:
    """The organisation behind a publisher field, where the field names it beside a journal:
    "Gut (BMJ)" -> "BMJ", "American Journal of Gastroenterology (American College of
    Gastroenterology)" -> "American College of Gastroenterology", and "British Society of
    Gastroenterology (Gut)" -> "British Society of Gastroenterology". An abbreviation or web
    address in brackets is dropped ("NHS (nhs.uk)" -> "NHS"); a bare name is kept as it is."""
    name = re.sub(r"\s+", " ", publisher or "").strip()
    m = _TRAILING.match(name)
    if not m or not m.group("main"):
        return name
    main, paren = m.group("main").strip(), m.group("paren").strip()
    if _acronym_of(paren, main) or re.fullmatch(r"[\w-]+(\.[\w-]+)+", paren):
        return main
    if _is_org(main):
        return main
    orgs = [p.strip() for p in paren.split(";") if _is_org(p.strip())]
    return orgs[0] if orgs else main


def organisations(publisher: str) -> list[str]:
    """The organisations of a publisher field; a joint one ("British Society of
    Gastroenterology and Healthcare Infection Society") counts for each when every part is an
    organisation's name on its own."""
    org = organisation(publisher)
    parts = [p.strip() for p in re.split(r"\s+and\s+|\s*/\s*", org) if p.strip()]
    if len(parts) > 1 and all(_is_org(p) for p in parts):
        return parts
    return [org] if org else []


def publisher_options(publishers: Iterable[str]) -> dict[str, list[str]]:
    """Filter label (an organisation) -> the stored publisher values it stands for; one label
    per organisation whatever its spelling or case, sorted by name."""
    spellings: dict[str, Counter[str]] = {}
    values: dict[str, list[str]] = {}
    for raw in publishers:
        for org in organisations(raw):
            key = org.casefold()
            spellings.setdefault(key, Counter())[org] += 1
            if raw not in values.setdefault(key, []):
                values[key].append(raw)
    out = {spellings[k].most_common(1)[0][0]: v for k, v in values.items()}
    return dict(sorted(out.items(), key=lambda kv: kv[0].casefold()))


@dataclass
class Library:
    """What is indexed, for the landing panel."""

    documents: int = 0
    passages: int = 0
    types: dict[str, int] = field(default_factory=dict)
    organisations: list[str] = field(default_factory=list)  # most documents first
    year_min: int | None = None
    year_max: int | None = None


def library(records: Mapping[str, Any]) -> Library:
    """Summary of the index's document records (`Index.documents()`)."""
    metas = [r.meta for r in records.values()]
    orgs: Counter[str] = Counter()
    labels = publisher_options(m.publisher for m in metas)
    for label, raws in labels.items():
        orgs[label] = sum(1 for m in metas if m.publisher in raws)
    years = [m.year for m in metas if m.year]
    return Library(
        documents=len(metas),
        passages=sum(r.n_chunks for r in records.values()),
        types=dict(Counter(m.type for m in metas).most_common()),
        organisations=[o for o, _ in sorted(orgs.items(), key=lambda kv: (-kv[1], kv[0]))],
        year_min=min(years) if years else None,
        year_max=max(years) if years else None,
    )


def example_questions(records: Mapping[str, Any], n: int = 3) -> list[str]:
    """`n` questions about topics the library covers: a specific section heading of each of the
    newest guidelines (one per organisation), then of other documents."""
    order = {"Guideline": 0, "Review": 1, "Research": 2}
    recs = sorted(
        records.values(),
        key=lambda r: (order.get(r.meta.type, 3), -(r.meta.year or 0), r.meta.doc_id),
    )
    out: list[str] = []
    seen_orgs: set[str] = set()
    for r in recs:
        org = organisation(r.meta.publisher).casefold()
        topic = next((_topic(s) for s in r.sections if _topic(s)), "")
        if not topic or org in seen_orgs:
            continue
        q = f"What do the guidelines say about {topic}?"
        if q not in out:
            out.append(q)
            seen_orgs.add(org)
        if len(out) >= n:
            break
    return out


def _topic(section: str) -> str:
    """A section heading as the object of a question, or '' when it names no topic."""
    last = section.split(" > ")[-1].strip().rstrip(":")
    if len(re.findall(r"[A-Za-z]{3,}", last)) < 2 or _VAGUE.match(last):
        return ""
    return last[0].lower() + last[1:] if not last[:2].isupper() else last
