"""The default answerer: no LLM. It composes an answer from sentences scored as answers
(`scoring.py`): a verdict from the strongest source that answers the question as asked, then
only the bullets that add an answer, each quoted verbatim and citing every retrieved passage that
states it. Numbers stay exactly as written."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from citeline.answerers.answering import answering, context, known_main, mentions_main
from citeline.answerers.cues import DIRECT, NEEDS_SOURCE
from citeline.answerers.scoring import Candidate
from citeline.citations import DraftSentence
from citeline.question import Intent, analyse, asked_sentence, mentions, stems_of
from citeline.safety import alarm_advice
from citeline.sections import CAVEATS, section_for
from citeline.text import numbers

REDUNDANT_COSINE = 0.85
# Another document's sentence this close to a chosen one states the same claim: it becomes a
# second citation of that bullet instead of a bullet of its own.
SAME_CLAIM_COSINE = 0.88
# Bullets stay within this margin of the verdict's answer score.
BULLET_MARGIN = 0.25
# Candidates within this margin of the best are "as good": the strongest source among them wins.
STRONGEST_SOURCE_MARGIN = 0.04
# A patient's verdict comes from patient information scoring within this margin of the best.
PATIENT_MARGIN = 0.2
# A sentence that needs its source named leads only when it scores this much above the rest.
LEAD_IN_MARGIN = 0.15
# A "Yes, ..." or "No, ..." about the subject leads a yes/no answer from this far below the best.
DIRECT_MARGIN = 0.3
NARROW_BULLETS = 3
# The verdict names at least this share of the subject less than the best-named candidate does.
SUBJECT_SLACK = 0.25
# A focused question (not an overview: "How should the meter be handled?") gets at most this many.
FOCUSED_BULLETS = 4
# An overview: bullets from further below the verdict, at most PER_SECTION per clinical section,
# from sentences close to the question even when they do not repeat its words.
BROAD_MARGIN = 0.9
PER_SECTION = 3

# A sentence that says how many people a study or review included.
STUDY_SIZE = re.compile(
    r"\b(randomi[sz]ed|enrolled|recruited|included|compared|followed|pooled|studied|analy[sz]ed|"
    r"surveyed)\b[^.;]{0,40}?\b\d{1,3}(,\d{3})*\s+(\w+\s+){0,3}?(people|adults|patients|"
    r"participants|children|women|men|individuals|volunteers|studies|trials)\b",
    re.I,
)
STUDY_TYPES = ("Research", "Review")
# Entry criteria are not a study's size ("Eligible studies enrolled at least 100 adults").
_CRITERIA = re.compile(
    r"\b(at least|at most|eligible|eligibility|inclusion|more than|over)\b", re.I
)
# Whether something works or what a study found: the evidence's size matters to a clinician.
_FINDINGS = re.compile(
    r"\b(show|shows|showed|shown|find|found|finding|findings|trial|study)\b", re.I
)


def _asks_findings(question: str, intent: Intent) -> bool:
    return (intent.kind == "yesno" and not intent.is_property) or bool(_FINDINGS.search(question))


_ONE_SOURCE = re.compile(
    r"\b(the|this|that) (trial|study|cohort|review|meta-analysis|survey|rct|pilot)\b", re.I
)
_COMPARES = re.compile(
    r"\b(as (much|well|good|effective) as|than|versus|vs\.?|compared (with|to))\b", re.I
)

_NEGATION = re.compile(
    r"\b(not|no|never|against|neither|nor|cannot|can't|isn't|aren't|doesn't|don't|without)\b", re.I
)
_HEDGE = re.compile(
    r"\b(may|might|could|possibly|perhaps|limited|uncertain|unclear|insufficient|some|mixed|"
    r"inconsistent|suggests?|appears?|seems?|likely|unlikely|only)\b",
    re.I,
)
_PREDICATES = {
    "link", "links", "linked", "associated", "association", "recommend", "recommended",
    "safe", "effective", "help", "helps", "work", "works", "improve", "improves", "reduce",
    "reduces", "cause", "causes", "increase", "increases", "benefit", "connected", "connection",
    "related", "relationship", "useful", "indicated", "needed", "necessary", "required",
}  # fmt: skip


@dataclass
class Composition:
    verdict: DraftSentence | None
    bullets: list[DraftSentence] = field(default_factory=list)
    not_given: bool = False  # the property asked for is not given for the subject


def compose(
    question: str,
    intent: Intent,
    cands: Sequence[Candidate],
    *,
    floor: float,
    max_bullets: int,
    max_per_doc: int = 2,
    audience: str = "clinician",
    alarms: Sequence[str] = (),
) -> Composition:
    """The verdict and bullets for one question, from its scored candidate sentences. With
    `alarms` (the question's alarm symptoms), what the sources say to do about them leads."""
    pool = sorted((c for c in cands if c.score >= floor), key=lambda c: -c.score)
    intent = known_main(intent, pool)
    pool, not_given = answering(intent, pool)
    urgent = _alarm_advice(cands, alarms, audience)
    if not pool and not urgent:
        return Composition(None, [], not_given)
    # the other bullets answer as well as the best answer to the question itself does
    best = _pick_verdict(question, pool, intent, audience) if pool else urgent[0]
    verdict, exempt = best, frozenset[tuple[int, int]]()
    if urgent:
        # "I'm losing weight and there's blood in my poo: is this just my IBS?" is answered by
        # what to do about those symptoms, not by what confirms IBS.
        pool = [*urgent, *(c for c in pool if c not in urgent)]
        verdict, exempt = urgent[0], frozenset(c.key for c in urgent)
    if intent.is_property and _ONE_SOURCE.search(question):
        # "How long did the trial last?" asks of one trial: another study's duration is not it
        pool = [c for c in pool if not c.answers_property or c.doc.doc_id == verdict.doc.doc_id]
    limit = NARROW_BULLETS if intent.narrow else max_bullets if intent.broad else FOCUSED_BULLETS
    if intent.broad:
        chosen = _pick_bullets(
            pool, verdict, limit, max_per_doc, BROAD_MARGIN, PER_SECTION, best.score, exempt
        )
    else:
        if intent.main_is_topic and mentions_main(intent, context(verdict)):
            # a focused question's bullets speak of its main subject, as its verdict does
            # ("What should I eat with IBS?": diet, not every drug recommended for IBS)
            pool = [c for c in pool if c is verdict or mentions_main(intent, context(c))]
        chosen = _pick_bullets(pool, verdict, limit, max_per_doc, top=best.score, exempt=exempt)
    if audience == "clinician" and not intent.narrow and _asks_findings(question, intent):
        _add_study_sizes(cands, chosen, limit)
    stance = _stance(question, intent, verdict.text) if not not_given else ""
    lead = " ".join(x for x in (stance, verdict.lead_in) if x)
    out_verdict = DraftSentence(
        verdict.text, _citations(verdict, chosen), kind="verdict", lead_in=lead
    )
    bullets = [
        DraftSentence(
            c.text, _citations(c, chosen), kind=section_for(c.section, c.text), lead_in=c.lead_in
        )
        for c in chosen
        if c is not verdict
    ]
    return Composition(out_verdict, bullets, not_given)


def _alarm_advice(
    cands: Sequence[Candidate], alarms: Sequence[str], audience: str = "clinician"
) -> list[Candidate]:
    """Self-contained sentences that say what to do about the question's alarm symptoms, those
    naming most of them first, then (for a patient) patient information, then the better
    answers."""
    if not alarms:
        return []
    named = {c.key: alarm_advice(c.text, alarms) for c in cands if c.self_contained}
    found = [c for c in cands if named.get(c.key, 0) > 0]

    def leaflet(c: Candidate) -> bool:
        return audience == "patient" and c.doc.type == "Patient information"

    return sorted(found, key=lambda c: (-named[c.key], not leaflet(c), -c.score))


def _pick_verdict(
    question: str, pool: list[Candidate], intent: Intent, audience: str = "clinician"
) -> Candidate:
    first = pool
    if intent.is_property:
        answering = [c for c in pool if c.answers_property]
        first = answering or pool
    standalone = [c for c in first if c.self_contained] or first
    # (not "The study by ..." : what a source did is rarely the answer, even with its name)
    leaning = [
        c
        for c in first
        if c.lead_in
        and not c.self_contained
        and not c.about_source
        and not NEEDS_SOURCE.match(c.text)
    ]
    if leaning and leaning[0].score >= standalone[0].score + LEAD_IN_MARGIN:
        # read with its source named, it answers clearly better than any sentence alone
        standalone = [leaning[0], *standalone]
    # what a source is or did does not answer, when something it found or advises does
    standalone = [c for c in standalone if not c.about_source] or standalone
    # about the subject asked: "AAT deficiency is an inherited condition" does not answer "Is
    # adenosine deaminase deficiency inherited?" when a passage on that deficiency is there
    most = max(c.about_context for c in standalone)
    standalone = [c for c in standalone if c.about_context >= most - SUBJECT_SLACK]
    if intent.kind not in ("yesno", "safety"):
        # A caveat qualifies an answer; it answers only a yes/no question ("not recommended").
        standalone = [c for c in standalone if section_for("", c.text) != CAVEATS] or standalone
    best = standalone[0].score
    top = standalone[0]
    # as good: nearly as high a score, and naming the main subject if the best one does
    # ("sertraline", not the tricyclics it is compared with)
    needs_main = bool(intent.main) and mentions_main(intent, top.text)
    near = [
        c
        for c in standalone
        if c.score >= best - STRONGEST_SOURCE_MARGIN
        and (not needs_main or mentions_main(intent, c.text))
    ]
    if intent.main and _COMPARES.search(question):
        # "Does sertraline help as much as a tricyclic?": as good and naming sertraline beats
        # as good about the tricyclics it is compared with
        near = [c for c in near if mentions_main(intent, c.text)] or near
    if intent.kind in ("yesno", "safety"):
        # "Yes, ..." or "No, ..." about what is asked answers a yes/no question as asked
        direct = [c for c in standalone if DIRECT.match(c.text) and c.score >= best - DIRECT_MARGIN]
        if direct:
            return direct[0]
    if audience == "patient":
        # for a patient, patient information first where it answers nearly as well
        leaflets = [
            c
            for c in standalone
            if c.doc.type == "Patient information"
            and c.score >= best - PATIENT_MARGIN
            and (not needs_main or mentions_main(intent, context(c)))
        ]
        if leaflets and not any(c.kind_asked for c in near):
            return leaflets[0]
    # the strongest source, unless the question asks what a kind of source found ("the trial")
    return max(near, key=lambda c: (c.kind_asked, c.evidence_rank, c.score))


def _pick_bullets(
    pool: list[Candidate],
    verdict: Candidate,
    limit: int,
    max_per_doc: int,
    margin: float = BULLET_MARGIN,
    per_section: int = 0,
    top: float | None = None,
    exempt: frozenset[tuple[int, int]] = frozenset(),
) -> dict[Candidate, list[Candidate]]:
    """Chosen sentences (verdict first) -> the other documents' sentences stating the same.
    With `per_section`, at most that many bullets per clinical section, so that an overview
    covers the evidence, the mechanisms, practice and the caveats. Bullets score within `margin`
    of `top` (the verdict's score by default), except those `exempt` (keys)."""
    chosen: dict[Candidate, list[Candidate]] = {verdict: []}
    passages_per_doc: dict[str, set[int]] = {verdict.doc.doc_id: {verdict.n}}
    used = {verdict.key}
    floor = (verdict.score if top is None else top) - margin
    sections: dict[str, int] = {}
    for c in pool:
        if c.key in used:
            continue
        twin = next(
            (
                o
                for o in chosen
                if float(c.vector @ o.vector) >= SAME_CLAIM_COSINE
                and c.doc.doc_id != o.doc.doc_id
                and numbers(c.text) >= numbers(o.text)
            ),
            None,
        )
        if twin is not None:
            chosen[twin].append(c)
            used.add(c.key)
            continue
        if len(chosen) > limit or (c.score < floor and c.key not in exempt):
            continue
        if any(_redundant(c, o) for o in chosen):
            continue
        doc_passages = passages_per_doc.setdefault(c.doc.doc_id, set())
        if c.n not in doc_passages and len(doc_passages) >= max_per_doc:
            continue
        if per_section:
            kind = section_for(c.section, c.text)
            if sections.get(kind, 0) >= per_section:
                continue
            sections[kind] = sections.get(kind, 0) + 1
        doc_passages.add(c.n)
        chosen[c] = []
        used.add(c.key)
    return chosen


def _add_study_sizes(
    cands: Sequence[Candidate], chosen: dict[Candidate, list[Candidate]], limit: int
) -> None:
    """How much evidence a finding rests on: a study or review that a bullet quotes also gives
    its size ("The trial randomised 102 people with IBS ..."), while bullets remain."""
    used = {c.key for c in chosen} | {o.key for twins in chosen.values() for o in twins}
    sized = {c.doc.doc_id for c in chosen if STUDY_SIZE.search(c.text)}
    quoted = list(chosen)
    for c in quoted[:2]:  # the studies the answer rests on: the verdict's, the first bullet's
        doc = c.doc.doc_id
        if doc in sized or c.doc.type not in STUDY_TYPES:
            continue
        size = next(
            (
                o
                for o in cands
                if o.doc.doc_id == doc
                and o.key not in used
                and STUDY_SIZE.search(o.text)
                and not _CRITERIA.search(o.text)
            ),
            None,
        )
        if size is None:
            continue
        if len(chosen) > limit:
            # the size of the evidence says more than the last bullet; one such swap
            last = next(
                (
                    o
                    for o in reversed(quoted[1:])
                    if o is not c and o in chosen and section_for(o.section, o.text) != CAVEATS
                ),
                None,
            )
            if last is None or sized:
                continue
            del chosen[last]
        chosen[size] = []
        used.add(size.key)
        sized.add(doc)


def _redundant(c: Candidate, o: Candidate) -> bool:
    """Says nothing the chosen sentence does not: near the same words and no number of its own
    ("29% have depressive symptoms" is not redundant with "23% have a depressive disorder")."""
    if c.text == o.text:
        return True
    return float(c.vector @ o.vector) >= REDUNDANT_COSINE and numbers(c.text) <= numbers(o.text)


def _citations(c: Candidate, chosen: dict[Candidate, list[Candidate]]) -> list[int]:
    return list(dict.fromkeys([c.n, *(o.n for o in chosen.get(c, []))]))


def _stance(question: str, intent: Intent, sentence: str) -> str:
    """ "Yes." or "No." for a yes/no question, only when the quoted sentence itself states it:
    it names the subject and the question's predicate, unhedged."""
    if intent.kind != "yesno" or not intent.main:
        return ""
    s_stems = stems_of(sentence)
    if intent.main not in s_stems:
        return ""
    own = analyse(asked_sentence(question)).own or intent.own  # not an injected preamble's
    if mentions(replace(intent, subject=own, frame=()), s_stems) < 1.0:
        # "Will probiotics help my bloating?": a sentence on what probiotics do in general
        # states no "Yes." for bloating
        return ""
    preds = {w for w in re.findall(r"[a-z]+", question.lower()) if w in _PREDICATES}
    pred_stems = stems_of(" ".join(preds))
    if not preds or not (
        pred_stems & s_stems or preds & set(re.findall(r"[a-z]+", sentence.lower()))
    ):
        return ""
    if _HEDGE.search(sentence):
        return ""
    negated_question = bool(_NEGATION.search(question))
    negated = bool(_NEGATION.search(sentence))
    return "No." if negated != negated_question else "Yes."
