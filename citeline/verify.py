"""The verifier: does a passage say what a claim says?

`verify()` aligns the claim with the passage sentence, or adjacent pair of sentences, that it
rests on (the mean of embedding cosine and the share of the claim's content words that sentence
covers, synonyms and abbreviations defined in the passage included), then judges entailment with
the rules of `citeline/verify_rules.py`:

- ``contradicted``: negation, recommendation grade or direction, comparison direction or swapped
  comparands, or a quantity that differs from the sentence's;
- ``not_found``: no sentence covers the claim, a term (drug, organism, test, condition) of the
  claim is missing from the sentence, or the claim widens the sentence's scope (all, routine,
  another population) or drops its hedge (may, suggests becoming does, proves);
- ``supported`` otherwise. A verbatim quotation (whole words) is always supported.

A claim that no contradiction or overstatement rule rejects but that the rules cannot place (a
term or word its sentence lacks, no sentence aligned closely enough) is read by the trained
cross-encoder of `citeline/verify_nli.py` (SciFact train; `python -m train nli`) against the
sentence(s) it was aligned to, when that model is shipped: it is supported when the reader finds
it entailed. Rules and reader were chosen by measurement (eval/README.md).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from citeline import verify_nli
from citeline import verify_rules as rules
from citeline.text import normalize, split_sentences
from citeline.verify_lexicon import COMMON_TERMS, is_rare, key, norm

SUPPORTED, CONTRADICTED, NOT_FOUND = "supported", "contradicted", "not_found"
LABELS = (SUPPORTED, CONTRADICTED, NOT_FOUND)
# Least alignment (0.5 cosine + 0.5 coverage) and coverage for a sentence to be "the" evidence.
MIN_ALIGNMENT = 0.6
MIN_COVERAGE = 0.4
PAIR_MARGIN = 0.03
# A claim this close to its sentence (coverage and cosine) may bring in a general word outside
# GENERIC ("sufferers", "except"); never a term (drug, organism, test, condition).
LOOSE_COVERAGE = 0.75
LOOSE_COSINE = 0.75  # an adjacent pair must align this much better than its best sentence
# Least alignment for the trained reader to be asked: below it the claim is about something else
# (measured on held-out SciFact train claims: fewer NEI accepted, and fewer reader calls when a
# rejected claim is tried against the other passages).
READER_MIN_ALIGNMENT = 0.3

# Words whose absence from the evidence never changes what a claim says.
_LIGHT = frozenset(
    "also overall generally typically usually often including include includes such like well "
    "however therefore thus indeed whether either per via based among within across using prior".split()
)
# General words a paraphrase may bring in without changing what is claimed; any other word of the
# claim must be in the sentence it rests on (or a synonym, or an abbreviation defined there).
GENERIC = frozenset(
    "guideline guidelines guidance evidence data study studies research researchers trial trials "
    "review reviews analysis people person patient patients individual individuals clinician "
    "clinicians doctor doctors professional professionals healthcare health care practice "
    "clinical medical say says said state states stated note notes noted report reports "
    "reported find finds found show shows shown showed indicate indicates according advise "
    "advises advice help helps helpful useful important key main major primary first option "
    "options approach approaches way ways case cases time times level levels form forms type "
    "types kind group groups part role factor factors result results effect effects outcome "
    "outcomes available current currently recent recently known large small number amount "
    "condition conditions problem problems issue issues use used uses using take taken given "
    "make made need needs needed able likely possible good overall experience experienced "
    "specifically particular general generally often usually typically commonly common "
    "significant significantly substantially considerably strongly mainly largely mostly "
    "particularly especially around roughly approximately about nearly almost per cent percent "
    "rate rates proportion share risk odds chance someone those whose thing things term terms "
    "treatment treatments therapy therapies intervention interventions management manage "
    "symptom symptoms sign signs".split()
)
_DRUG_SUFFIX = re.compile(
    r"(mab|nib|pril|sartan|statin|azole|cillin|mycin|cycline|floxacin|oxetine|triptyline"
    r"|ipramine|tidine|prazole|olol|dipine|azepam|vir|itis|osis|aemia|emia|pathy|scopy|graphy"
    r"|coccus|bacter|bacteria|virus|algia|plasty|ectomy|otomy)$"
)
# A word outside the model's vocabulary shaped like a general English verb, adjective or abstract
# noun ("metabolize", "dephosphorylated", "apoptotic", "subtypes") is not a name; a condition
# ("-osis", "-itis", "-emia"), a drug or an organism keeps its term suffix (_DRUG_SUFFIX above).
_GENERAL_SHAPE = re.compile(
    r"(ize|izes|ized|izing|ise|ises|ised|ising|ization|isation|ability|ibility|ness|ment|ments"
    r"|ive|ively|ous|ously|ly|ed|ing|ings|able|ible|type|types|ic|ical|ally)$"
)
# A quotation that starts right after one of these leaves out what qualifies it.
_QUALIFIERS = rules.NEGATORS | rules.HEDGES | rules.UNIVERSAL | rules.RESTRICT | {"against"}
_ABBREV_DEF = re.compile(r"([A-Za-z][A-Za-z\- ]{3,80}?)\s*\(([A-Z][A-Za-z0-9\-]{1,9})s?\)")


@dataclass(frozen=True)
class Verdict:
    """The label of a claim against one passage, with the sentence(s) it rests on."""

    label: str
    score: float  # alignment 0..1 (0 when contradicted)
    sentence: int | None  # index of the first sentence it rests on, in the passage's sentences
    span: int = 1  # 1, or 2 for an adjacent pair
    detail: str = ""  # which check decided: "quote", "negation", "number", "entity" ...

    @property
    def supported(self) -> bool:
        return self.label == SUPPORTED


def verify(
    claim: str,
    claim_vector: np.ndarray | None,
    passage_text: str,
    sentence_vectors: np.ndarray | None,
    sentences: Sequence[str] | None = None,
    use_model: bool = True,
) -> Verdict:
    """Judge `claim` against one passage. `sentences` are the passage's sentences in the order of
    `sentence_vectors` (split from `passage_text` when not given). With `use_model` (and the
    trained reader shipped), the reader judges the claims the rules leave open."""
    ruled, evidence = analyse(claim, claim_vector, passage_text, sentence_vectors, sentences)
    reader = verify_nli.default_reader() if use_model and evidence is not None else None
    if reader is None or evidence is None:
        return ruled
    return with_reader(ruled, reader.entailment(claim, evidence), reader.threshold)


def with_reader(ruled: Verdict, p: float | None, threshold: float) -> Verdict:
    """The rules' verdict, or `supported` when the reader found the claim entailed with
    probability `p` >= `threshold`. The score maps `threshold` to the default support threshold
    (CITELINE_SUPPORT_THRESHOLD), so a stricter setting makes the reader stricter too."""
    if p is None or ruled.supported or p < threshold:
        return ruled
    at = verify_nli.SCORE_AT_OPERATING_POINT
    score = at + (1 - at) * (p - threshold) / max(1e-9, 1 - threshold)
    return Verdict(SUPPORTED, round(min(1.0, score), 4), ruled.sentence, ruled.span, "reader")


def analyse(
    claim: str,
    claim_vector: np.ndarray | None,
    passage_text: str,
    sentence_vectors: np.ndarray | None,
    sentences: Sequence[str] | None = None,
) -> tuple[Verdict, str | None]:
    """The rules' verdict, and the evidence (the aligned sentence or pair) the reader may judge
    when the rules leave the claim open (see `judge_by_rules`)."""
    sents = list(sentences) if sentences else split_sentences(passage_text) or [passage_text]
    ctoks = rules.tokens(claim)
    content = [t for t in ctoks if rules.is_content(t)]
    if not content:
        return Verdict(NOT_FOUND, 0.0, None, detail="no content words"), None
    quote = _quotation(claim, sents)
    if quote is not None:
        return Verdict(SUPPORTED, 1.0, quote, detail="quote"), None
    vecs = sentence_vectors
    if vecs is None or claim_vector is None or vecs.ndim != 2 or vecs.shape[0] != len(sents):
        vecs = None
    return judge_by_rules(claim, ctoks, content, claim_vector, passage_text, sents, vecs)


def judge_by_rules(
    claim: str,
    ctoks: tuple[str, ...],
    content: list[str],
    claim_vector: np.ndarray | None,
    passage_text: str,
    sents: list[str],
    vecs: np.ndarray | None,
) -> tuple[Verdict, str | None]:
    """The rules' verdict, and the evidence the reader may judge: given only when no
    contradiction (negation, grade, direction, comparison, quantity) or overstatement (scope,
    population, hedge) rule rejects the claim, no term of the claim stands where its sentence
    has another (a swapped drug or test), no other word does unless a term is missing too (a
    one-word flip: "tapered abruptly" for "gradually"), and the rules did not accept it."""
    abbrevs = _abbreviations(passage_text)
    score, start, span, coverage, missing = _align(content, claim_vector, sents, vecs, abbrevs)
    evidence = rules.tokens(" ".join(sents[start : start + span]))
    problem = next((p for check in rules.CONTRADICTIONS if (p := check(ctoks, evidence))), None)
    if problem and coverage >= 0.5:
        return Verdict(CONTRADICTED, 0.0, start, span, problem), None
    if problem or rules.check_numbers(ctoks, rules.tokens(passage_text)) is not None:
        return Verdict(NOT_FOUND, 0.0, start, span, problem or "number"), None
    problem = next((p for check in rules.OVERSTATEMENTS if (p := check(ctoks, evidence))), None)
    if problem:
        return Verdict(NOT_FOUND, score, start, span, problem), None
    swapped = _substituted(ctoks, missing, evidence)
    if swapped is not None and _is_term(swapped, claim):  # another drug or test in its place
        return Verdict(NOT_FOUND, score, start, span, f"entity: {swapped}"), None
    readable = vecs is not None and score >= READER_MIN_ALIGNMENT
    text = " ".join(sents[start : start + span]) if readable else None
    term = next((w for w in missing if _is_term(w, claim)), None)
    if term is not None:  # named otherwise in the sentence, or not at all: the reader decides
        return Verdict(NOT_FOUND, score, start, span, f"entity: {term}"), text
    if swapped is not None:  # "tapered abruptly" for "gradually"
        return Verdict(NOT_FOUND, score, start, span, f"substituted word: {swapped}"), None
    general = [w for w in missing if w not in GENERIC]
    cos = 2 * score - coverage
    if score < MIN_ALIGNMENT or coverage < MIN_COVERAGE:
        return Verdict(NOT_FOUND, score, start, span, "no aligned sentence"), text
    if general and not (coverage >= LOOSE_COVERAGE and cos >= LOOSE_COSINE):
        return Verdict(NOT_FOUND, score, start, span, f"unsupported word: {general[0]}"), text
    return Verdict(SUPPORTED, score, start, span, "aligned"), None


def _substituted(
    ctoks: tuple[str, ...], missing: list[str], evidence: tuple[str, ...]
) -> str | None:
    """A claim word the sentence lacks standing where the sentence has a word the claim lacks,
    between the same neighbours ("tapered gradually" -> "tapered abruptly", "two weeks" -> "two
    months"): a replacement that is no synonym (synonyms are covered) may mean anything."""
    if not missing:
        return None
    ckeys = {_key(t) for t in ctoks}
    gone = {i for i, t in enumerate(evidence) if rules.is_content(t) and _key(t) not in ckeys}
    if not gone:
        return None
    for i, t in enumerate(ctoks):
        if t not in missing or t in _LIGHT:
            continue
        for j in gone:
            if _same_place(ctoks, i, evidence, j):
                return t
    return None


def _same_place(a: tuple[str, ...], i: int, b: tuple[str, ...], j: int) -> bool:
    """Both neighbours the same, or one neighbour that is the same content word. The start or
    the end of both sentences counts as a same neighbour ("Tramadol should ..." for
    "Amitriptyline should ...")."""
    prev = i > 0 and j > 0 and _key(a[i - 1]) == _key(b[j - 1])
    nxt = i + 1 < len(a) and j + 1 < len(b) and _key(a[i + 1]) == _key(b[j + 1])
    starts = i == 0 and j == 0
    ends = i + 1 == len(a) and j + 1 == len(b)
    if (prev or starts) and (nxt or ends):
        return True
    return (prev and _anchor(a[i - 1])) or (nxt and _anchor(a[i + 1]))


def _anchor(t: str) -> bool:
    """A neighbour that fixes a place: a content word or a number ("two weeks")."""
    return rules.is_content(t) or t[0].isdigit() or t in rules.NUMBER_WORDS


def _align(
    content: list[str],
    claim_vector: np.ndarray | None,
    sents: list[str],
    vecs: np.ndarray | None,
    abbrevs: dict[str, set[str]],
) -> tuple[float, int, int, float, list[str]]:
    """(score, first sentence, span, coverage, uncovered claim words) of the best alignment."""
    index = _sentence_index(tuple(sents))
    covered = [[_covered(w, keys, pre, abbrevs) for keys, pre in index] for w in content]
    cos = vecs @ claim_vector if vecs is not None and claim_vector is not None else None
    best: tuple[float, int, int, float, list[str]] = (-1.0, 0, 1, 0.0, list(content))
    singles: list[float] = []
    for span in (1, 2):
        for i in range(len(sents) - span + 1):
            missing = [
                w for w, row in zip(content, covered, strict=True) if not any(row[i : i + span])
            ]
            coverage = 1 - len(missing) / len(content)
            c = coverage  # no vectors: the words alone
            if cos is not None and vecs is not None and claim_vector is not None:
                if span == 1:
                    c = float(cos[i])
                else:
                    v = vecs[i] + vecs[i + 1]
                    c = float(v @ claim_vector / (np.linalg.norm(v) or 1.0))
            score = 0.5 * max(c, 0.0) + 0.5 * coverage
            if span == 1:
                singles.append(score)
            elif score < max(singles[i], singles[i + 1]) + PAIR_MARGIN:
                continue
            if score > best[0]:
                best = (score, i, span, coverage, missing)
    return best


@lru_cache(maxsize=1024)
def _sentence_index(sents: tuple[str, ...]) -> list[tuple[frozenset[str], dict[str, list[str]]]]:
    """Per sentence: the keys of its content words, and its stems by their first five letters."""
    out = []
    for s in sents:
        keys = frozenset(_key(t) for t in rules.tokens(s) if rules.is_content(t))
        pre: dict[str, list[str]] = {}
        for t in rules.tokens(s):
            n = _norm(t)
            if len(n) >= 5 and n.isalpha():
                pre.setdefault(n[:5], []).append(n)
        out.append((keys, pre))
    return out


_key = key
_norm = norm


def _covered(
    word: str, keys: frozenset[str], pre: dict[str, list[str]], abbrevs: dict[str, set[str]]
) -> bool:
    if word in _LIGHT:
        return True
    if _key(word) in keys:
        return True
    if word in abbrevs and abbrevs[word] & keys:
        return True
    s = _norm(word)
    # transplant ~ transplantation, diagnose ~ diagnosis: a shared stem of five letters or more.
    return len(s) >= 5 and any(_prefix_ok(s, x) for x in pre.get(s[:5], ()))


def _prefix_ok(a: str, b: str) -> bool:
    if not (a.isalpha() and b.isalpha()):
        return False  # COVID-19 is not COVID-38
    n = min(len(a), len(b))
    common = 0
    while common < n and a[common] == b[common]:
        common += 1
    return common >= max(5, n - 3)


@lru_cache(maxsize=1024)
def _abbreviations(text: str) -> dict[str, set[str]]:
    return abbreviations(text)


def abbreviations(text: str) -> dict[str, set[str]]:
    """Abbreviations defined in the text, both ways: "faecal microbiota transplantation (FMT)"
    gives fmt -> {faecal, microbiota, transplant} and each of those words -> {fmt}."""
    out: dict[str, set[str]] = {}
    for m in _ABBREV_DEF.finditer(text):
        abbr = m.group(2).lower()
        words = [w for w in rules.tokens(m.group(1)) if rules.is_content(w)]
        initials = abbr.replace("-", "")
        # The expansion is the shortest run of final words whose initials spell the abbreviation.
        take = words[-len(initials) :] if len(words) >= len(initials) else words
        for k in range(1, len(words) + 1):
            if "".join(w[0] for w in words[-k:]) == initials[:k] or k == len(initials):
                take = words[-k:]
                if k >= len(initials) - 1:
                    break
        keys = {_key(w) for w in take}
        out.setdefault(abbr, set()).update(keys)
        for w in take:
            out.setdefault(w, set()).add(_key(abbr))
    return out


def _is_term(word: str, claim: str) -> bool:
    """A word that names something specific: an acronym, a capitalised name mid-sentence, a word
    with a digit, or a word shaped like a drug, organism, test or condition."""
    m = re.search(rf"(?<![A-Za-z]){re.escape(word)}", claim, flags=re.IGNORECASE)
    raw = m.group(0) if m else word
    if any(ch.isdigit() for ch in raw) or (len(raw) > 1 and raw.isupper()):
        return True
    if m and m.start() > 0 and raw[0].isupper():
        return True
    if word in COMMON_TERMS or norm(word) in COMMON_TERMS:
        return True
    if is_rare(word) and not _GENERAL_SHAPE.search(word):
        return True
    return bool(_DRUG_SUFFIX.search(word)) and len(word) >= 6


def _quotation(claim: str, sents: list[str]) -> int | None:
    """Index of the sentence that quotes the claim (whole words), unless the quotation starts
    just after a negator it leaves out ("recommended" cut from "not recommended")."""
    needle = normalize(claim).rstrip(".").lower()
    if not needle:
        return None
    normed = [normalize(s).lower() for s in sents]
    ends, pos = [], 0
    for s in normed:
        pos += len(s) + 1
        ends.append(pos)
    text = " ".join(normed)
    start = text.find(needle)
    while start != -1:
        end = start + len(needle)
        before = text[start - 1] if start else " "
        after = text[end] if end < len(text) else " "
        if not _word_char(before) and not _word_char(after):
            i = next(i for i, e in enumerate(ends) if start < e)
            lead = rules.tokens(text[(ends[i - 1] if i else 0) : start])[-3:]
            if not set(lead) & _QUALIFIERS:
                return i
        start = text.find(needle, start + 1)
    return None


def _word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"
