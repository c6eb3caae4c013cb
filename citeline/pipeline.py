"""answer(question, history, settings) -> Answer: the one entry point of the app, CLI and eval.

The answer path is a sequence of named steps over one `Run`: resolve, screen, retrieve, scope,
draft, enforce, assemble. A step returns True when the answer is final (a refusal, built by
`refuse()` in one place); the timings of every step are recorded.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from citeline import prompts
from citeline.answerers import answering, extractive, scoring
from citeline.answerers.llm import LLMAnswerer, LLMError
from citeline.assemble import assemble_answer, filters_shown, matching_documents
from citeline.citations import DraftSentence, enforce, make_support_fn
from citeline.config import Settings
from citeline.conversation import Turn, resolve
from citeline.embeddings import Embedder
from citeline.engine import Engine, get_engine, reset_engines
from citeline.properties import PROPERTY_NAME, property_query
from citeline.question import Intent, analyse, stems_of
from citeline.question_words import SPECIAL_POPULATION
from citeline.render import filters_text
from citeline.retrieve import Retrieval, embed_groups, search, select, widen
from citeline.safety import Screen, alarm_query, is_instruction, screen
from citeline.scope import coverage, plain_text
from citeline.sources import named_sources
from citeline.store import Filters, query_terms
from citeline.text import normalize, stem, words
from citeline.types import Answer, Claim, RemovedClaim

__all__ = ["STEPS", "Engine", "Run", "answer", "get_engine", "refuse", "reset_engines"]

logger = logging.getLogger(__name__)

# Refusals name documents at least this fraction of the floor as "nearby" (closer ones only).
NEARBY_FRACTION = 0.7


@dataclass
class Run:
    """One question on its way to an answer."""

    ans: Answer
    settings: Settings
    history: Sequence[Turn]
    filters: Filters | None
    engine_given: Engine | None
    on_token: Callable[[str], None] | None
    llm: LLMAnswerer | None = None
    checked: Screen | None = None
    engine: Engine | None = None
    retrieval: Retrieval | None = None
    intent: Intent = field(default_factory=lambda: Intent("general"))
    candidates: list[scoring.Candidate] = field(default_factory=list)
    draft: list[DraftSentence] = field(default_factory=list)
    from_llm: bool = False
    not_given: bool = False
    claims: list[Claim] = field(default_factory=list)

    @property
    def eng(self) -> Engine:
        if self.engine is None:
            self.engine = self.engine_given or get_engine(self.settings)
        return self.engine

    @property
    def ret(self) -> Retrieval:
        assert self.retrieval is not None
        return self.retrieval


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
    ans = Answer(
        question=normalize(question or ""),
        standalone_query="",
        audience=audience,
        disclaimer=prompts.disclaimer(audience),
        filters=filters_shown(filters),
    )
    run = Run(ans, settings, list(history or []), filters, engine, on_token)
    timings: dict[str, float] = {}
    for step in STEPS:
        t = time.perf_counter()
        final = step(run)
        timings[step.__name__.removesuffix("_step")] = _ms(t)
        if final:
            break
    ans.timings_ms = {**timings, "total": _ms(t0)}
    return ans


def resolve_step(run: Run) -> bool:
    """Screen the whole text before any truncation (a crisis sentence may come late), truncate,
    and turn a follow-up into the standalone query searched."""
    ans, settings = run.ans, run.settings
    run.checked = screen(ans.question, settings.locale)
    if len(ans.question) > settings.max_question_chars:
        ans.question = ans.question[: settings.max_question_chars]
        ans.notices.append(prompts.render("truncated.md", limit=settings.max_question_chars))
        ans.flags.append("truncated")
    ans.standalone_query = ans.question
    if not ans.question:
        return refuse(run, "an empty question")
    run.llm = LLMAnswerer(settings) if settings.llm != "none" else None
    condense = run.llm.condense if run.llm and not run.checked.crisis else None
    entities: frozenset[str] | None = None
    if run.history and condense is None and not run.checked.crisis:
        # one lexical lookup per query term, as coverage() does (no stop words, no markup)
        unknown = run.eng.index.unknown_terms(query_terms(plain_text(ans.question)))
        entities = run.eng.entities() | stems_of(" ".join(unknown))
    titles = run.eng.title_words() if entities is not None else None
    ans.standalone_query = resolve(ans.question, run.history, condense, entities, titles)
    return False


def screen_step(run: Run) -> bool:
    """Crisis text is routed to crisis lines first; alarm symptoms add a notice."""
    assert run.checked is not None
    run.ans.flags.extend(run.checked.flags)
    run.ans.notices[:0] = run.checked.notices  # safety notices are shown first
    if run.checked.crisis:
        run.ans.refused = True
        run.ans.refusal_reason = "crisis"
        return True
    return False


def retrieve_step(run: Run) -> bool:
    """Hybrid retrieval; filters that leave no document and passages below the relevance floor
    are refusals."""
    ans, settings, eng = run.ans, run.settings, run.eng
    if (
        run.filters
        and not run.filters.is_empty()
        and not matching_documents(eng.index, run.filters)
    ):
        ans.flags.append("no_matching_documents")
        return refuse(run, "", kind="filters")
    run.retrieval = _search(run, ans.standalone_query)
    if run.ret.below_floor(settings.relevance_floor):
        ans.flags.append("out_of_scope")
        floor = NEARBY_FRACTION * settings.relevance_floor
        return refuse(
            run, _topic(ans.standalone_query), [p for p in run.ret.passages if p.dense >= floor]
        )
    if run.checked and run.checked.alarms:  # what the sources say to do about them, too
        run.retrieval = widen(run.ret, _search(run, alarm_query(run.checked.alarms)))
    return False


def scope_step(run: Run) -> bool:
    """Words no guideline uses: refuse when they carry the question or name its subject; say so
    when they narrow it. Then score the pool's sentences as answers and re-select the passages
    (the per-document cap applies after sentence scoring)."""
    ans, settings, eng, ret = run.ans, run.settings, run.eng, run.ret
    cov = coverage(eng.index, eng.embedder, ans.standalone_query, ret.query_vector)
    intent = analyse(plain_text(ans.standalone_query))
    run.intent = replace(intent, main_is_topic=intent.main in eng.entities())
    unknown_stems = stems_of(" ".join(cov.unknown))
    # Someone's alarm symptoms are answered by what to do about them, whatever else is unknown.
    alarms = bool(run.checked and run.checked.alarms)
    if not alarms and cov.out_of_scope(
        settings.coverage_floor,
        settings.coverage_hard_floor,
        ret.best_relevance,
        settings.unknown_term_floor,
    ):
        ans.flags.append("out_of_scope")
        unknown = prompts.render("unknown_terms.md", terms=", ".join(cov.unknown))
        return refuse(run, f"{_topic(ans.standalone_query)} {unknown}", ret.passages)
    if run.intent.main and run.intent.main in unknown_stems and cov.unmentioned():
        # The subject itself is named by no indexed document: "sertraline" in "What dose of
        # sertraline is used for IBS?" must not be answered with another drug's dose.
        ans.flags.append("out_of_scope")
        word = next(w for w in run.intent.subject_words if stems_of(w) & unknown_stems)
        return refuse(run, word, ret.passages, kind="not_mentioned")
    if unmentioned := cov.unmentioned():
        ans.notices.append(prompts.render("unmentioned_terms.md", terms=", ".join(unmentioned)))
        ans.flags.append("unmentioned_terms")
    if run.intent.is_property and run.intent.phrases:  # the property's usual words, too
        query = property_query(run.intent.kind, run.intent.phrases)
        run.retrieval = ret = widen(ret, _search(run, query))
    pool = ret.pool or ret.passages
    headed = scoring.headed_sentences(ans.standalone_query, pool)
    cands = scoring.candidates(
        ans.standalone_query,
        run.intent,
        pool,
        ret.sentence_vectors,
        ret.query_vector,
        ans.audience,
        named=named_sources(ans.standalone_query, *eng.source_names()),
        headed_vectors=embed_groups(eng.embedder, headed),
    )
    best: dict[int, float] = {}
    for c in cands:
        best[c.n] = max(best.get(c.n, -9.0), c.score)
    ranked = sorted(pool, key=lambda p: -best.get(p.n, p.score - 1.0))
    chosen = select(ranked, settings.top_k, settings.max_per_doc)
    chosen = answering.keep_best_named(chosen, ranked, cands)
    renumber = {id(p.chunk): p.n for p in chosen}
    by_old = {p.n: p for p in pool}
    run.candidates = []
    for c in cands:
        new = renumber.get(id(by_old[c.n].chunk))
        if new is not None:
            c.n = new
            run.candidates.append(c)
    ret.passages = chosen
    return False


def draft_step(run: Run) -> bool:
    """The language model's draft when one is configured and answers, else the extractive one."""
    if run.llm:
        run.draft = _llm_draft(run) or []
        run.from_llm = bool(run.draft)
    if not run.from_llm:
        run.draft = _extractive_draft(run)
    return False


def enforce_step(run: Run) -> bool:
    """Every sentence must cite a passage that supports it; unsupported ones are removed."""
    ans, ret = run.ans, run.ret
    claims, removed = _enforce(run.eng.embedder, ret, run.draft, run.settings.support_threshold)
    if run.from_llm and not claims:
        # Nothing the model wrote is supported by its citations. The passages are relevant (they
        # passed the floor), so "the guidelines do not address this" would be false: show the
        # extractive answer instead, and say why. The model's sentences stay in removed_claims.
        ans.notices.append(prompts.render("llm_unsupported.md", backend=ans.backend))
        ans.backend = "extractive"
        claims, more = _enforce(
            run.eng.embedder, ret, _extractive_draft(run), run.settings.support_threshold
        )
        removed += more
    ans.removed_claims = removed
    run.claims = claims
    if not claims:
        ans.flags.append("out_of_scope")
        return refuse(run, _topic(ans.standalone_query), ret.passages)
    return False


def assemble_step(run: Run) -> bool:
    """Verdict, sections in the clinical order, references, follow-ups, the not-given line."""
    if run.not_given:
        intent = run.intent
        subject = next(
            (p for p in intent.phrases if intent.main in stems_of(p)), intent.subject_words[0]
        )
        special = [w for w in words(run.ans.standalone_query) if stem(w) in SPECIAL_POPULATION]
        if special:
            subject = f"{subject} in {special[0]}"  # "amitriptyline in pregnancy"
        run.ans.not_given = prompts.render(
            "not_given.md", property=PROPERTY_NAME.get(intent.kind, "answer"), subject=subject
        )
        run.ans.flags.append("not_given")
    assemble_answer(run.ans, run.claims, run.ret, run.intent, run.eng.index)
    return True


STEPS: list[Callable[[Run], bool]] = [
    resolve_step,
    screen_step,
    retrieve_step,
    scope_step,
    draft_step,
    enforce_step,
    assemble_step,
]


def _search(run: Run, query: str) -> Retrieval:
    """One search of the index under the question's filters and audience (the question's own,
    and the searches that widen its pool)."""
    return search(
        run.eng.index,
        run.eng.embedder,
        query,
        run.settings,
        filters=run.filters,
        audience=run.ans.audience,
    )


def _extractive_draft(run: Run) -> list[DraftSentence]:
    comp = extractive.compose(
        run.ans.standalone_query,
        run.intent,
        run.candidates,
        floor=run.settings.sentence_floor,
        max_bullets=run.settings.max_bullets,
        max_per_doc=run.settings.max_per_doc,
        audience=run.ans.audience,
        alarms=run.checked.alarms if run.checked else (),
    )
    run.not_given = comp.not_given
    return ([comp.verdict] if comp.verdict else []) + comp.bullets


def _llm_draft(run: Run) -> list[DraftSentence] | None:
    """The language model's draft, or None with a fallback notice: never an exception."""
    llm, ans = run.llm, run.ans
    assert llm is not None
    try:
        draft = llm.draft(ans.standalone_query, run.ret, ans.audience, run.on_token)
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
    by_text = {d.text: d for d in draft}
    for c in claims:
        c.kind = by_text[c.text].kind if c.text in by_text else ""
        c.lead_in = by_text[c.text].lead_in if c.text in by_text else ""
    return claims, removed


def _topic(query: str) -> str:
    q = query.strip().rstrip("?.! ")
    return f"“{q[:160]}”" if q else "this question"


def refuse(run: Run, topic: str, nearby: Sequence = (), *, kind: str = "topic") -> bool:
    """The one place refusals are worded: a topic not addressed, a subject no document
    mentions, or filters that match no document."""
    ans = run.ans
    ans.refused = True
    if kind == "filters":
        text = prompts.render(
            "no_matching_documents.md", filters=filters_text(ans.filters) or "none"
        )
    elif kind == "not_mentioned":
        text = prompts.render("not_mentioned.md", subject=topic)
    else:
        text = prompts.render("refusal.md", topic=topic)
    titles = list(dict.fromkeys(p.doc.title for p in nearby))[:3]
    if titles:
        text += " " + prompts.render("nearby.md", titles="; ".join(titles))
    ans.refusal_reason = text
    return True


def _ms(t0: float) -> float:
    return (time.perf_counter() - t0) * 1000.0
