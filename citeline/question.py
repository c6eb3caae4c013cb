"""What a question asks: its kind (yes/no, dose, how often, ...), its subject and the property it
wants. Pure functions over the question text; the answerer scores sentences against this."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from citeline.properties import PROPERTY_ANSWER
from citeline.question_words import DOSED, GENERIC, POPULATION, plain
from citeline.subject_terms import canon, forms
from citeline.text import STOPWORDS, stem, words

_YESNO = re.compile(
    r"^\s*(is|are|does|do|can|could|should|shall|will|would|has|have|was|were|did|may|must)\b",
    re.I,
)
_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    # "low-dose amitriptyline" names a drug; it does not ask for a dose
    (
        "dose",
        re.compile(r"(?<!-)\b(doses?|dosages?|dosing|how much|how many (mg|milligrams?))\b", re.I),
    ),
    ("frequency", re.compile(r"\b(how often|how frequently|frequency|how many times)\b", re.I)),
    ("duration", re.compile(r"\b(how long|duration|for how many (days|weeks|months))\b", re.I)),
    (
        "cutoff",
        re.compile(
            r"\b(cut-?offs?|cut-?points?|thresholds?|(what|which) ([\w-]+ )?score|score (range|band)s?|"
            r"scores? (indicates?|means?)|scored|scoring|interpret\w* (the )?scores?)\b",
            re.I,
        ),
    ),
    ("regimen", re.compile(r"\b(regimens?|schedule|courses?)\b", re.I)),
    (
        "prevalence",
        re.compile(
            r"\b(how common|how prevalent|prevalence|what percentage|what proportion|"
            r"how many people(?!.{0,80}\b(studied|included|enrolled|recruited|took part|"
            r"participated|randomi[sz]ed))|what share)\b|"
            r"^\s*(is|are)\b.{0,60}\b(common|prevalent|rare)\b",
            re.I,
        ),
    ),
    (
        "factor",
        re.compile(
            r"\b(conversion factors?|conversion ratios?|multipliers?|"
            r"convert(ed|ing)? (\w+ ){0,3}(to|into) (mme|morphine))\b",
            re.I,
        ),
    ),
    ("quantity", re.compile(r"\b(how many|how much)\b", re.I)),
    ("timing", re.compile(r"^\s*when\b|\bat what (age|point|time)\b", re.I)),
    (
        "rate",
        re.compile(r"\b(how (fast|quickly|rapidly|slowly)|at what (rate|pace|speed))\b", re.I),
    ),
    (
        "safety",
        re.compile(
            r"\b(safe|safety|side[- ]effects?|adverse|harmful|dangerous|tolerated)\b|"
            r"^\s*what\s+(are|is)\s+(the\s+)?(main\s+|possible\s+|known\s+|potential\s+)?"
            r"(risks?|harms?|dangers?|complications?|downsides?)\b",
            re.I,
        ),
    ),
]
_DEFINITION = re.compile(
    r"^\s*what\s+(is|are)\s+(an?\s+|the\s+)?[\w\s'()-]{1,40}\??\s*$|^\s*(define|definition of)\b",
    re.I,
)
_OVERVIEW = re.compile(
    r"\b(links?|linked|connections?|connected|relationships?|associations?|associated|related)\b"
    r".{0,60}\bbetween\b|\bwhat (do|does)\b.{0,50}\b(guidelines?|guidance|evidence|research|"
    r"studies)\b.{0,12}\b(say|show|recommend)\b|\btell me (about|more)\b|\boverview\b|"
    r"\bwhat is known\b|\bhow (do|does)\b.{0,50}\b(communicate|interact|talk|connect)\b",
    re.I,
)
_PROPERTY_OWNER_BEFORE = re.compile(
    r"\b([A-Za-z][\w-]*)\s+(?:doses?|dosages?|dosing|regimens?|courses?|conversion factors?|"
    r"cut-?offs?|cut-?points?|thresholds?|schedules?)\b",
    re.I,
)
# "the daily dose of X", "the MME conversion factor for X": words that qualify a property, not
# the drug or test it belongs to.
_DOSE_MODIFIERS = frozenset(
    """daily starting start maximum max minimum usual typical recommended initial total weekly
    single low high loading maintenance lowest highest mme equivalent adult paediatric pediatric
    oral intravenous iv standard higher lower largest smallest safe first""".split()
)
_NEW_SUBJECT = re.compile(
    r"^\s*(and\s+)?((what|how)\s+about|what\s+of)\b|^\s*and\s+(for|in|with)\b", re.I
)
# "When should staff wash", "Can I take": after a modal and a pronoun or a person, the verb
# ("Does sertraline help": after a modal alone comes the subject).
_VERB_AFTER_MODAL = re.compile(
    r"\b(?:should|can|could|must|may|might|will|would|do|does|did)\s+(?:i|we|you|they|he|she|"
    r"staff|clinicians|doctors|nurses|patients|people|someone|one)\s+([a-z]+)\b",
    re.I,
)
_PASSIVE = re.compile(r"\b(?:be|been)\s+([a-z]+ed)\b", re.I)
_TIME_UNITS = frozenset(
    "minute minutes hour hours day days week weeks month months year years".split()
)
_WHICH = re.compile(r"^\s*(which|what)\b", re.I)
_WHO = re.compile(r"^\s*who\b|\b(which|what) (patients|people)\b", re.I)
_HOW = re.compile(r"^\s*(how|why)\b", re.I)


@dataclass(frozen=True)
class Intent:
    """What one question asks."""

    # yesno | dose | frequency | duration | cutoff | regimen | factor | quantity | timing | rate |
    # safety | prevalence | definition | which | who | how | general
    kind: str
    subject: tuple[str, ...] = ()  # stems of the subject words, in question order
    subject_words: tuple[str, ...] = ()  # the same words as written (lower case)
    population: tuple[str, ...] = ()  # scope words (stems)
    phrases: tuple[str, ...] = field(default_factory=tuple)  # subject phrases as written
    acronyms: frozenset[str] = frozenset()  # subject words written in capitals ("ibs")
    frame: tuple[str, ...] = ()  # stems of an inherited subject: context, weighed less
    overview: bool = False  # the question asks for an overview (see `broad`)
    # "What about X (old subject)?", "And for X?": X is what the question asks about
    new_subject: bool = False
    # the main subject is the one the property belongs to ("the dose of X"), not a guess
    main_explicit: bool = False
    main_is_topic: bool = False  # the main subject is a topic of the library (titles, headings)
    # words that narrow the main subject in a property question ("extended-pulsed")
    qualifiers: tuple[str, ...] = ()

    @property
    def main(self) -> str:
        """The first subject stem ('' when there is none)."""
        return self.subject[0] if self.subject else ""

    @property
    def own(self) -> tuple[str, ...]:
        """The subject stems the question names itself (not inherited)."""
        return tuple(s for s in self.subject if s not in self.frame)

    @property
    def is_property(self) -> bool:
        return self.kind in PROPERTY_ANSWER

    @property
    def narrow(self) -> bool:
        """Answered by one to three sentences (a dose, a cut-off, a definition)."""
        return self.is_property or self.kind == "definition"

    @property
    def broad(self) -> bool:
        """Asks for an overview ("Is there a link between X and Y?", "What do the guidelines say
        about X?"): answered by several sections of bullets, not three or four."""
        return self.overview

    def answers_property(self, sentence: str) -> bool:
        pattern = PROPERTY_ANSWER.get(self.kind)
        return bool(pattern and pattern.search(sentence))


_FRAME = re.compile(r"\s*\(([^()]*)\)\s*\?\s*$")


# A sentence ends at . ! or ? before a capital ("C. difficile" and "e.g. the" go on).
_SENTENCE_END = re.compile(r"(?<=[.?!])\s+(?=[A-Z])")


def asked_sentence(question: str) -> str:
    """The sentence that asks: the last one ending in "?" of a question that tells something
    first ("I have IBS, ... Is this just my IBS?"); the whole text otherwise."""
    parts = [p.strip() for p in _SENTENCE_END.split(question.strip()) if p.strip()]
    asks = [p for p in parts if p.endswith("?") and len(p) >= 8]
    return asks[-1] if len(parts) > 1 and asks else question


def analyse(question: str) -> Intent:
    q = question.strip()
    # A follow-up's inherited subject, "(gut health and mental health)", frames the question;
    # the question's own words lead.
    frame_match = _FRAME.search(q)
    frame = subject_terms(frame_match.group(1)) if frame_match else []
    if frame_match:
        q = q[: frame_match.start()] + "?"
    # "My tummy has been bloated for a month. When should I see my GP?": the last question
    # says what is asked; every sentence says what about
    asked = asked_sentence(q)
    kind = next((name for name, pat in _PATTERNS if pat.search(asked)), "")
    if not kind:
        if _WHO.search(asked):
            kind = "who"
        elif _DEFINITION.search(asked) and len(subject_terms(q)) <= 3:
            kind = "definition"
        elif _YESNO.search(asked):
            kind = "yesno"
        elif _WHICH.search(asked):
            kind = "which"
        elif _HOW.search(asked):
            kind = "how"
        else:
            kind = "general"
    # what the asking sentence names comes first, then what the others tell
    subj = list(dict.fromkeys(subject_terms(plain(asked)) + subject_terms(plain(q))))
    explicit = False
    qualifiers: tuple[str, ...] = ()
    if kind in PROPERTY_ANSWER:
        subj, explicit, qualifiers = _property_owner(asked, subj)
    # "When should staff wash ...", "Can I take ...": a verb is not the main subject
    verbs = {m.lower() for m in _VERB_AFTER_MODAL.findall(q)}
    subj = [w for w in subj if w not in verbs] + [w for w in subj if w in verbs]
    # "Can opioids be combined with benzodiazepines?": what is done to the subject is asked
    # about it, not a subject of its own that a sentence must name
    done = {m.lower() for m in _PASSIVE.findall(asked)}
    subj = [w for w in subj if w not in done] or subj
    own = tuple(stem(w) for w in subj)
    frame_stems = tuple(dict.fromkeys(stem(w) for w in frame if stem(w) not in own))
    if not own:  # nothing of its own: the frame is the subject
        subj, own, frame_stems = frame, tuple(stem(w) for w in frame), ()
    return Intent(
        kind=kind,
        subject=own + frame_stems,
        frame=frame_stems,
        subject_words=tuple(subj) + tuple(w for w in frame if stem(w) in frame_stems),
        population=tuple(stem(w) for w in words(q) if stem(w) in POPULATION),
        phrases=tuple(subject_phrases(q))
        + (tuple(subject_phrases(frame_match.group(1))) if frame_match else ()),
        acronyms=frozenset(m.lower() for m in _ACRONYM.findall(q)),
        overview=bool(_OVERVIEW.search(q)) and kind not in PROPERTY_ANSWER,
        new_subject=bool(frame_stems) and bool(_NEW_SUBJECT.match(q)),
        main_explicit=explicit,
        qualifiers=qualifiers,
    )


def _property_owner(q: str, subj: list[str]) -> tuple[list[str], bool, tuple[str, ...]]:
    """ "The prucalopride dose", "the dose of X", "the conversion factor for X": X is the main
    subject (the drug or test the property belongs to), and the words before it in its phrase
    narrow it ("the extended-pulsed fidaxomicin regimen": the standard one does not answer)."""
    named = [
        m.group(1).lower()
        for m in (
            _PROPERTY_OWNER_BEFORE.search(q),
            re.search(r"\b(?:of|for)\s+(?:the\s+|an?\s+)?([A-Za-z][\w-]*)", q),
        )
        if m
    ]
    owner = next(
        (w for w in named if w in subj and w not in _DOSE_MODIFIERS and w not in _TIME_UNITS),
        None,
    )
    if owner is None:
        return subj, False, ()
    subj = [owner, *(w for w in subj if w != owner)]
    qualifiers: tuple[str, ...] = ()
    for phrase in subject_phrases(q):
        toks = phrase.lower().split()
        if owner in toks:
            before = toks[: toks.index(owner)]
            qualifiers = tuple(stem(w) for w in before if w not in _DOSE_MODIFIERS)
            break
    return subj, True, qualifiers


def subject_terms(text: str) -> list[str]:
    """The words that name what a question is about (as written, lower case, no duplicates)."""
    out: list[str] = []
    for w in words(text):
        s = stem(w)
        if (
            w in STOPWORDS
            or s in GENERIC
            or w in GENERIC
            or s in POPULATION
            or len(w) < 2
            or w[0].isdigit()
            or w in out
            or DOSED.match(w)  # "low-dose amitriptyline" is about amitriptyline
        ):
            continue
        out.append(w)
    return out


def subject_phrases(text: str) -> list[str]:
    """Runs of subject words as written ("low FODMAP diet", "gut health"), in order."""
    # "C. difficile" is one name: an initial with its full stop joins the next word.
    tokens = re.findall(r"\b[A-Z]\.\s?[a-z][A-Za-z0-9'\-]*|[A-Za-z][A-Za-z0-9'\-]*|\S", text)
    runs: list[list[str]] = [[]]
    for tok in tokens:
        low = tok.lower()
        if re.match(r"[a-z]", low) and (
            low in subject_terms(tok) or DOSED.match(low) or re.match(r"[a-z]\.\s?\w", low)
        ):
            runs[-1].append(tok)
        elif runs[-1]:
            runs.append([])
    return [" ".join(r) for r in runs if r]


# The main subject weighs more than the others ("Does sertraline help IBS pain as much as a
# tricyclic?" is about sertraline first).
MAIN_WEIGHT = 1.0


def mentions(intent: Intent, text_stems: set[str]) -> float:
    """Share of the subject found in a text's stems; for a property question ("dose of X") the
    main subject counts double."""
    if not intent.subject:
        return 0.0
    main_weight = 2.0 if intent.is_property else MAIN_WEIGHT
    weights = {
        s: (main_weight if i == 0 else 1.0)
        for i, s in enumerate(intent.subject)
        if s not in intent.frame
    }
    if intent.frame:
        # the inherited frame weighs half as much as the question's own words, all together
        own_total = sum(weights.values()) or 1.0
        each = min(0.5, 0.5 * own_total / len(intent.frame))
        weights.update({s: each for s in intent.frame if s not in weights})
    total = sum(weights.values())
    named = forms(text_stems)  # "depressed" names "depression", "rats" name "animals"
    return sum(w for s, w in weights.items() if s in text_stems or canon(s) in named) / total


def stems_of(text: str) -> set[str]:
    return {stem(w) for w in words(text)}


_ACRONYM = re.compile(r"\b([A-Z][A-Z0-9]{1,5})s?\b")


def acronym_stems(intent: Intent, text: str) -> set[str]:
    """Subject stems a text states by acronym or in full: "IBD" in a text answers "inflammatory
    bowel disease" in the question, and "irritable bowel syndrome" answers "IBS"."""
    out: set[str] = set()
    subj = list(intent.subject_words)
    initials = "".join(w[0] for w in subj)
    for m in _ACRONYM.finditer(text):
        acro = m.group(1).lower()
        start = initials.find(acro)
        if len(acro) >= 2 and start >= 0:
            out |= {stem(w) for w in subj[start : start + len(acro)]}
    low_words = words(text)
    text_initials = "".join(w[0] for w in low_words)
    for w in subj:
        if 3 <= len(w) <= 6 and w in intent.acronyms and w in text_initials:
            out.add(stem(w))
    return out
