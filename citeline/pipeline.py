"""answer(question, history, settings) -> Answer: the one entry point of the app, CLI and eval."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from citeline import prompts
from citeline.answerers import extractive
from citeline.answerers.llm import LLMAnswerer, LLMError
from citeline.citations import DraftSentence, enforce, make_support_fn
from citeline.config import Settings
from citeline.conversation import Turn, resolve
from citeline.embeddings import Embedder, get_embedder
from citeline.retrieve import Retrieval, coverage, search
from citeline.safety import is_instruction, screen
from citeline.store import Filters, Index, open_index
from citeline.text import normalize
from citeline.types import Answer, Claim, Reference, RemovedClaim, Section

logger = logging.getLogger(__name__)

# Refusals name documents at least this fraction of the floor as "nearby" (closer ones only).
NEARBY_FRACTION = 0.7
GENERIC_SECTIONS = {
    "key points",
    "introduction",
    "summary",
    "overview",
    "text",
    "background",
    "references",
    "sources",
    "other findings",
    "findings",
    "key findings",
    "caveats",
    "methods",
    "study design",
    "results",
    "evidence",
    "recommendations",
    "clinical implications",
    "interpretation",
    "conclusions",
    "discussion",
    "limitations",
    "what this means for patients",
    "context",
}


@dataclass
class Engine:
    """What answering needs, loaded once per process and shared by all sessions."""

    settings: Settings
    index: Index
    embedder: Embedder


_engines: dict[tuple[str, ...], Engine] = {}
_engines_lock = threading.Lock()


def get_engine(settings: Settings) -> Engine:
    key = (str(settings.home_path), settings.chroma_url, settings.collection, settings.embed_model)
    with _engines_lock:
        if key not in _engines:
            index = open_index(settings)
            _engines[key] = Engine(settings, index, get_embedder(settings.embed_model))
        return _engines[key]


def reset_engines() -> None:
    """Forget cached engines (tests, or after the index folder was replaced)."""
    with _engines_lock:
        for e in _engines.values():
            e.index.close()
        _engines.clear()


def answer(
    question: str,
    history: Sequence[Turn] | None = None,
    settings: Settings | None = None,
    *,
    audience: str | None = None,
    filters: Filters | None = None,
    engine: Engine | None = None,
    on_token: Callable[[str], None] | None = None,
) -> Answer:
    """Answer one question in the context of the conversation so far.

    With `settings.llm` set, the language model drafts the answer (its tokens go to `on_token`
    as they arrive) and condenses follow-ups; its draft is enforced like the extractive one.
    """
    settings = settings or Settings.from_env()
    audience = audience or settings.audience
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    notices: list[str] = []
    flags: list[str] = []

    question = normalize(question or "")
    # Screen the whole text before any truncation: a crisis sentence may come late.
    checked = screen(question, settings.locale)
    if len(question) > settings.max_question_chars:
        question = question[: settings.max_question_chars]
        notices.append(prompts.render("truncated.md", limit=settings.max_question_chars))
        flags.append("truncated")
    ans = Answer(
        question=question,
        standalone_query=question,
        audience=audience,
        disclaimer=prompts.disclaimer(audience),
        notices=notices,
        flags=flags,
    )
    if not question:
        return _refuse(ans, "an empty question", [], timings, t0)

    llm = LLMAnswerer(settings) if settings.llm != "none" else None
    condense = llm.condense if llm and not checked.crisis else None
    ans.standalone_query = resolve(question, history, condense)
    timings["resolve"] = _ms(t0)

    flags.extend(checked.flags)
    notices[:0] = checked.notices  # safety notices are shown first
    if checked.crisis:
        ans.refused = True
        ans.refusal_reason = "crisis"
        ans.timings_ms = {**timings, "total": _ms(t0)}
        return ans

    engine = engine or get_engine(settings)
    t = time.perf_counter()
    retrieval = search(
        engine.index,
        engine.embedder,
        ans.standalone_query,
        settings,
        filters=filters,
        audience=audience,
    )
    timings["retrieve"] = _ms(t)
    if retrieval.below_floor(settings.relevance_floor):
        flags.append("out_of_scope")
        nearby = [
            p for p in retrieval.passages if p.dense >= NEARBY_FRACTION * settings.relevance_floor
        ]
        return _refuse(ans, _topic(ans.standalone_query), nearby, timings, t0)
    cov = coverage(engine.index, engine.embedder, ans.standalone_query, retrieval.query_vector)
    if cov.out_of_scope(
        settings.coverage_floor,
        settings.coverage_hard_floor,
        retrieval.best_relevance,
        settings.unknown_term_floor,
    ):
        flags.append("out_of_scope")
        topic = (
            _topic(ans.standalone_query)
            + " "
            + prompts.render("unknown_terms.md", terms=", ".join(cov.unknown))
        )
        return _refuse(ans, topic, retrieval.passages, timings, t0)
    if unmentioned := cov.unmentioned():
        # Answered from what the rest of the question matches; the words no guideline uses
        # ("pregnancy" in "Is amitriptyline safe for IBS in pregnancy?") are not addressed, and
        # a clinician must not read the answer as covering them.
        notices.append(prompts.render("unmentioned_terms.md", terms=", ".join(unmentioned)))
        flags.append("unmentioned_terms")

    t = time.perf_counter()
    draft = _llm_draft(llm, ans, retrieval, on_token) if llm else None
    from_llm = draft is not None
    if draft is None:  # no LLM configured, or it failed (a notice says so)
        draft = _extractive_draft(ans, retrieval, settings)
    timings["compose"] = _ms(t)
    t = time.perf_counter()
    claims, removed = _enforce(engine.embedder, retrieval, draft, settings.support_threshold)
    if from_llm and not claims:
        # Nothing the model wrote is supported by its citations. The passages are relevant (they
        # passed the floor), so "the guidelines do not address this" would be false: show the
        # extractive answer instead, and say why. The model's sentences stay in removed_claims.
        ans.notices.append(prompts.render("llm_unsupported.md", backend=ans.backend))
        ans.backend = "extractive"
        claims, more = _enforce(
            engine.embedder,
            retrieval,
            _extractive_draft(ans, retrieval, settings),
            settings.support_threshold,
        )
        removed += more
    ans.removed_claims = removed
    timings["enforce"] = _ms(t)
    if not claims:
        flags.append("out_of_scope")
        return _refuse(ans, _topic(ans.standalone_query), retrieval.passages, timings, t0)

    _assemble(ans, claims, retrieval)
    ans.timings_ms = {**timings, "total": _ms(t0)}
    return ans


def _extractive_draft(ans: Answer, retrieval: Retrieval, settings: Settings) -> list[DraftSentence]:
    verdict, bullets = extractive.compose(
        ans.standalone_query,
        retrieval,
        floor=settings.sentence_floor,
        max_bullets=settings.max_bullets,
        audience=ans.audience,
    )
    return ([verdict] if verdict else []) + bullets


def _llm_draft(
    llm: LLMAnswerer,
    ans: Answer,
    retrieval: Retrieval,
    on_token: Callable[[str], None] | None,
) -> list[DraftSentence] | None:
    """The language model's draft, or None with a fallback notice: never an exception."""
    try:
        draft = llm.draft(ans.standalone_query, retrieval, ans.audience, on_token)
    except LLMError as exc:
        ans.notices.append(llm.notice(exc.reason))
        return None
    except Exception as exc:  # a bug in drafting must not become an error page either
        logger.exception("LLM answerer failed")
        ans.notices.append(llm.notice(f"error: {type(exc).__name__}"))
        return None
    ans.backend = draft.backend
    return draft.sentences


def _enforce(
    embedder: Embedder, retrieval: Retrieval, draft: list[DraftSentence], threshold: float
) -> tuple[list[Claim], list]:
    by_n = {p.n: p for p in retrieval.passages}
    texts = {n: p.chunk.text for n, p in by_n.items()}
    svecs = {
        n: retrieval.sentence_vectors.get(p.chunk.id, np.zeros((0, 0), np.float32))
        for n, p in by_n.items()
    }
    # Sentences quoted from their passage need no embedding (support 1.0); others do.
    unquoted = [d.text for d in draft if not any(d.text in texts.get(n, "") for n in d.citations)]
    vecs = dict(zip(unquoted, embedder.embed(unquoted), strict=True)) if unquoted else {}
    sents = {n: p.chunk.sentences for n, p in by_n.items() if p.chunk.sentences}
    fn = make_support_fn(texts, svecs, vecs, sents)  # the verifier (citeline/verify.py)
    claims, removed = enforce(draft, list(by_n), fn, threshold)
    # An instruction injected into a source is quoted there, so it is "supported": drop it anyway.
    for c in [c for c in claims if is_instruction(c.text)]:
        claims.remove(c)
        removed.append(
            RemovedClaim(c.text, list(c.citations), "instruction-like text", detail="instruction")
        )
    kinds = {d.text: d.kind for d in draft}
    for c in claims:
        c.kind = kinds.get(c.text, "")
    return claims, removed


def _assemble(ans: Answer, claims: list[Claim], retrieval: Retrieval) -> None:
    """Verdict, sections in display order, references renumbered to the cited passages only."""
    cited = sorted(
        {n for c in claims for n in c.citations},
        key=lambda n: min(i for i, c in enumerate(claims) if n in c.citations),
    )
    renumber = {old: new for new, old in enumerate(cited, start=1)}
    for c in claims:
        c.citations = sorted(renumber[n] for n in c.citations)
    verdict = next((c for c in claims if c.kind == "verdict"), claims[0])
    ans.verdict = verdict
    order = [h for h, _ in extractive.SECTIONS] + [extractive.OTHER_SECTION]
    groups: dict[str, list[Claim]] = {}
    for c in claims:
        if c is not verdict:
            groups.setdefault(c.kind if c.kind in order else extractive.OTHER_SECTION, []).append(c)
    ans.sections = [Section(h, groups[h]) for h in order if h in groups]
    by_n = {p.n: p for p in retrieval.passages}
    for old in cited:
        p = by_n[old]
        highlights = [c.text for c in claims if renumber[old] in c.citations]
        ans.references.append(
            Reference(
                n=renumber[old],
                doc_id=p.doc.doc_id,
                title=p.doc.title,
                publisher=p.doc.publisher,
                year=p.doc.year,
                type=p.doc.type,
                url=p.doc.url,
                section=p.chunk.section,
                page=p.chunk.page,
                passage=p.chunk.text,
                highlights=highlights,
            )
        )
    ans.follow_ups = _follow_ups(ans, retrieval, set(cited))
    if ans.audience == "patient":
        ans.glossary = _glossary(claims)


def _follow_ups(ans: Answer, retrieval: Retrieval, cited: set[int], limit: int = 3) -> list[str]:
    """Questions about what the retrieved guidelines cover and the answer did not use."""
    out: list[str] = []
    shown = " ".join(c.text.lower() for c in ans.claims)
    for p in retrieval.passages:
        if p.n in cited:
            continue
        topic = p.chunk.section.split(" > ")[-1].strip()
        if not topic or topic.lower() in GENERIC_SECTIONS or topic.lower().startswith("page "):
            q = f"What does “{p.doc.title}” say?"
        elif topic.lower() in shown:
            continue
        else:
            q = f"What do the guidelines say about {topic[0].lower() + topic[1:]}?"
        if q not in out:
            out.append(q)
        if len(out) >= limit:
            break
    return out


def _glossary(claims: list[Claim]) -> list[dict[str, str]]:
    terms: dict[str, str] = prompts.data("glossary.yaml")
    text = " ".join(c.text for c in claims).lower()
    out, seen = [], set()
    for term, meaning in terms.items():
        if term.lower() in text and meaning not in seen:
            out.append({"term": term, "meaning": meaning})
            seen.add(meaning)
    return out


def _topic(query: str) -> str:
    q = query.strip().rstrip("?.! ")
    return f"“{q[:160]}”" if q else "this question"


def _refuse(
    ans: Answer, topic: str, nearby: Sequence, timings: dict[str, float], t0: float
) -> Answer:
    ans.refused = True
    text = prompts.render("refusal.md", topic=topic)
    titles = list(dict.fromkeys(p.doc.title for p in nearby))[:3]
    if titles:
        text += " " + prompts.render("nearby.md", titles="; ".join(titles))
    ans.refusal_reason = text
    ans.timings_ms = {**timings, "total": _ms(t0)}
    return ans


def _ms(t0: float) -> float:
    return (time.perf_counter() - t0) * 1000.0
