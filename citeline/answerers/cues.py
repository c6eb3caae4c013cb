"""Sentence cues for the answer scorer: what a sentence is (a method, a finding, a pointer, a
title line, a sentence about a source) and whether it can stand alone or needs a lead-in naming
its source or subject. Pure functions over the text; the weights live in `scoring.py`."""

from __future__ import annotations

import itertools
import re
from functools import lru_cache

from citeline.safety import is_instruction
from citeline.text import content_words, stem
from citeline.types import DocMeta

MIN_SENTENCE_CHARS = 30

FIGURE = re.compile(
    r"\d+(\.\d+)?\s*%|\b(one|two) in (two|three|four|five|six|ten|\d+)\b|\ba (third|quarter)\b|"
    r"\b\d[\d,]*\s+(in|per)\s+(\d[\d,]*|a|one)?\s*(hundred|thousand|million)?\b",
    re.I,
)


def opening(sentence: str) -> str:
    """The words before the sentence's first verb-like word (is, are, was, were, ...)."""
    m = re.search(
        r"\b(is|are|was|were|has|have|can|may|should|refers?|means?|include[sd]?)\b", sentence
    )
    head = sentence[: m.start()] if m else sentence
    return " ".join(head.split()[:8])


# Openings that need the source named ("The study ...") or the subject named ("A score of 3 ...").
NEEDS_SOURCE = re.compile(
    r"^(the|this|these|our|in (this|the)) (study|studies|review|authors?|trial|meta-analysis|"
    r"analysis|cohort|paper|researchers|investigators|survey|report|findings?|results?|"
    r"data|work|project|pilot|experiment|guideline|guidelines|panel|committee|team)\b",
    re.I,
)
NEEDS_SUBJECT = re.compile(
    r"^((a|the) (total )?score|scores|each (item|question)|the (scale|questionnaire|tool|test|"
    r"measure|instrument|screener|cut-?point|cut-?off|diet|intervention|treatment|drug|"
    r"procedure|programme|program|strategy)|\d+\s*(-|–|to)\s*\d+\s*:|\d+\s*:)",
    re.I,
)
# Openings that lean on a sentence the reader has not seen: no lead-in repairs them.
UNRESOLVABLE = re.compile(
    r"^(this|these|those|that|it|its|they|their|them|such|both|either|neither|here|however|"
    r"also|in addition|additionally|furthermore|moreover|similarly|likewise|conversely|"
    r"in contrast|by contrast|instead|otherwise|thus|therefore|hence|as a result|consequently|"
    r"the answer|the question|the latter|the former|the same|the other|one|another|others)\b",
    re.I,
)
# Words inside a sentence that point back at a list the reader has not seen ("Book a GP
# appointment if any of these symptoms has lasted 3 weeks"): the source must be named.
POINTS_BACK = re.compile(
    r"\b(these|those|such|the above|the following|the same)\s+(\w+\s+)?(symptoms?|signs?|"
    r"problems?|changes?|conditions?|measures?|steps?|criteria|factors?|features?|items?|"
    r"findings?|drugs?|medicines?|treatments?|situations?|cases?|patients|people)\b",
    re.I,
)
# Sentences about a document rather than about the question's subject.
META = re.compile(
    r"\b(this (document|page|summary|article|leaflet)|the (review|study|paper|guideline|report) "
    r"(discusses|describes|notes|summari[sz]es|covers|reviews|outlines|provides|presents|examines|"
    r"explores|looks at)|is summari[sz]ed here|summari[sz]ed in our own words|written by the "
    r"citeline team)\b",
    re.I,
)
# A sentence about a source rather than what it found or advises: "NICE CG61 covers the
# diagnosis ...", "The Rome IV report ... sets out the criteria", "The BSG published its own
# guideline in 2022", "ATLANTIS tested ...", "SMILES was a 12-week randomised trial testing ...".
ABOUT_SOURCE = re.compile(
    r"\b(guidelines?|guidance|report|review|trial|study|statement|update|paper|meta-analysis)\b"
    r"[^.;:]{0,60}?\b(covers|covered|sets out|set out|reviewed|published|tested|describes|"
    r"summari[sz]es|focuses on|was an? [\w-]+( [\w-]+)? (trial|study)|is an? [\w-]+ (trial|study)|"
    r"was first published|revised|updated)\b|"
    r"^\S+( \S+){0,3} (tested|covers|reviewed|published) ",
    re.I,
)

# "Which X ...?" is answered by a sentence that names instances.
NAMES_INSTANCES = re.compile(
    r"\b(such as|including|for example|e\.g\.|namely)\b|\([A-Z][A-Za-z0-9-]+\)"
)

# "... therefore ...", "... thus ..." early in a sentence: a conclusion drawn from what came
# before; "Amitriptyline also met the key secondary outcome": an addition to what came before.
CONCLUDES = re.compile(
    r"^(\S+\s+){0,4}(therefore|thus|hence|so)\b|"
    r"^(\S+\s+){1,3}also\b(?!\s+(known|called|termed|referred|named)\b)",  # "also known as" names
    re.I,
)
# How a study was done is not what it found: method sentences rank below results unless the
# question asks about the method.
METHOD = re.compile(
    r"\b(tested whether|asked whether|aimed to|was designed|were randomi[sz]ed|randomly assigned|"
    r"(looked|looks) at (how|whether|what)|(examined|examines|investigated|explored) (how|whether)|"
    r"enrolled|recruited|were colonised|(was|were) measured|questionnaire scores|participants (then|were)|"
    r"was an? [\w-]*\s*(randomi[sz]ed|pilot|prospective|cross-sectional|controlled)|"
    r"the (study|trial) (included|involved|compared)|reviewed .* using|"
    r"the (literature )?search (screened|identified|found|yielded|covered)|searched|"
    r"(studies|trials|records|articles) were (included|screened|identified|excluded)|"
    r"screened [\d,]+ (records|articles|abstracts|studies))\b",
    re.I,
)
ASKS_METHOD = re.compile(
    r"\b(how was|how were|design|methods?|how many (people|participants|patients|adults)|"
    r"who (was|were) (studied|included)|how long did|measured|questionnaire)\b",
    re.I,
)
# A question that asks what to do ("Should I try a low FODMAP diet?", "What can I do myself to
# feel better?", "Is CBT recommended?") and a sentence that advises or recommends.
ASKS_ADVICE = re.compile(
    r"^\s*(should|shall)\b|\bwhat (can|should|could) (i|we|you|they|patients|clinicians)\b|"
    r"\b((do|should|must) (i|we|you) need to|(should|must) (i|we|you)) "
    r"(see|go|call|contact|get|book)\b|"
    r"\bwhen (should|do) (i|we|you)\b|"
    r"\bhow (can|should|could) (i|we|you)\b|\b(recommended|advised|recommend)\b|"
    # "What quantity of opioids should be prescribed?", "How should a shared meter be handled?",
    # "Which devices must be sterilized?": what is to be done, as a guideline says
    r"^\s*(what|which|how)\b[^?]{0,80}\b(should|must)\b[^?]{0,60}\bbe\b|"
    # "Can a syringe be reused for another patient?": whether it is allowed, as a rule says
    r"^\s*(can|may|could|must)\b[^?]{0,60}\bbe\s+\w+(ed|en)\b",
    re.I,
)
# A question that asks what goes wrong ("What are common pitfalls ...?"), and a source heading
# that collects such statements.
ASKS_CAVEATS = re.compile(
    r"\b(pitfalls?|caveats?|limitations?|mistakes?|drawbacks?|what to avoid|watch out|go wrong)\b",
    re.I,
)
CAVEAT_HEADING = re.compile(
    r"\b(pitfalls?|caveats?|limitations?|mistakes?|cautions?|warnings?|what to avoid)\b", re.I
)
ADVISES = re.compile(
    r"\b(recommends?|recommended|recommendation|suggests? (that|offering|using|trying)|"
    r"should be (offered|considered|used|given|tried|referred|advised)|first[- ]line|"
    r"second[- ]line|advises?|advised|guidelines? (suggest|say|advise)|self-help|tips?|"
    r"(try|trying) (to|a|an|the)?|needs? (an? )?(urgent|emergency|same-day)|needs a&e|"
    r"(see|book|call|contact|ask) (a|your|an|the)? ?(gp|doctor|pharmacist|nurse|nhs 111|999|111)|"
    r"get (urgent )?(medical )?(help|advice)|"
    # "clinicians should prescribe no greater quantity ...", "must be sterile", "Never ..."
    r"(clinicians|physicians|prescribers|providers|hcp|staff|facilities|you) (should|must)|"
    r"(should|must) (not )?be|(^|:\s)(never|do not|don't|always|avoid)\b)\b",
    re.I,
)
# A question that asks when or whether to seek care ("When should I see a doctor about ...?",
# "Do I need to see someone?"), and a sentence that says to: see or call someone, an appointment,
# a referral, how urgently.
ASKS_CARE = re.compile(
    r"\b(see|visit|call|contact|book|consult|go to|get)\s+(a|an|my|the|your)?\s*(doctor|gp|"
    r"nurse|someone|somebody|specialist|pharmacist|a&e|hospital|(urgent |medical )?help)\b",
    re.I,
)
GIVES_CARE = re.compile(
    r"\b((see|book|call|contact|ask|visit)\s+(a|your|an|the)?\s?(gp|doctor|pharmacist|nurse|"
    r"specialist|nhs 111|999|111)|appointment|nhs 111|999|a&e|urgent\w*|refer\w*|emergency|"
    r"check-up|medical (help|advice|review))",
    re.I,
)
# "Why does my tummy hurt when I'm stressed?" is answered by a cause or a mechanism.
ASKS_WHY = re.compile(r"^\s*why\b|\bwhat (causes|makes|explains)\b", re.I)
EXPLAINS = re.compile(
    r"\b(because|so|since|can make|makes?|made|leads? to|led to|caused? by|causes?|due to|"
    r"through|results? (in|from)|triggers?|explains?|means? that|via)\b",
    re.I,
)
# "Did the ATLANTIS trial show that ...?", "What brain imaging differences have been found?",
# "What happens when ...?": what a study found answers.
ASKS_FOUND = re.compile(
    r"\b(show|shows|showed|shown|find|finds|found|findings?|results?|happens|happened)\b", re.I
)
# A sentence that answers a yes/no question outright ("Yes, your gut and your brain are closely
# connected ...").
DIRECT = re.compile(r"^\s*(yes|no)\s*[,.;:]", re.I)
RESULT = re.compile(
    r"(%|\b(found|showed|shows|superior|improved|improves|reduced|reduces|increased|increases|"
    r"higher|lower|more likely|less likely|no (significant )?(difference|effect)|did not|favoured|"
    r"odds ratio|developed|caused|predicted)\b)",
    re.I,
)

_URL = re.compile(r"\S*(https?://|\bwww\.)\S*", re.I)


def link_line(sentence: str) -> bool:
    """Mostly a link: "Immunization of HealthCare Personnel: http://www.cdc.gov/...", or a run of
    reference titles with their links ("Influenza Vaccination of Health-Care Personnel,
    http://... Guideline for Infection Control ... 1998 http://..."); a sentence that says
    something and also carries a link is still a claim."""
    if not _URL.search(sentence):
        return False
    rest = _URL.sub(" ", sentence)
    # titles with their links ("... Personnel, http://... Guideline for ... 1998 http://..."),
    # not prose that carries a link ("Quorvex drills ease bowel symptoms, see www...")
    return len(content_words(rest)) < 5 or title_line(rest)


# A cross-reference is a pointer to another page, not an answer.
POINTER = re.compile(
    r"^\s*\(?(see (the following|also|our|this|these|the pdq|[\"“‘'])|for (more|further) information\b|"
    r"(more|further) information (is|can be)\b|learn more\b|read more\b)",
    re.I,
)
_TITLE_WORD = re.compile(r"[A-Za-z][\w'’-]*")
_SENTENCE_VERB = re.compile(
    r"\b(is|are|was|were|be|been|can|could|should|may|might|will|would|has|have|had|does|do|"
    r"did|must|shows?|found|include[sd]?|causes?|means?)\b"
)


def title_line(sentence: str) -> bool:
    """A title or heading on a line of its own ("Management of Multidrug-Resistant Organisms In
    Healthcare Settings, 2006"): its words capitalised, no verb."""
    long_words = [w for w in _TITLE_WORD.findall(sentence) if len(w) > 3]
    if len(long_words) < 3 or _SENTENCE_VERB.search(sentence):
        return False
    return sum(w[0].isupper() for w in long_words) >= 0.7 * len(long_words)


LIST_FRAGMENT = re.compile(r"^([a-z]\)|[a-z]\.\s|\d+\)|[ivx]+\.\s|[-*•])|[:;,]\s*$")


def source_name(doc: DocMeta) -> str:
    """A short name for a document: the study-type part of its title when it has one ("a 12-year
    population cohort"), else its main title; with the year."""
    title = doc.title.strip()
    head, _, tail = title.partition(":")
    study = re.compile(
        r"\b(cohort|trial|meta-analysis|review|study|survey|guideline|report)\b", re.I
    )
    # "...: a 12-year population cohort" names the study; "...: a meta-analysis" alone does not
    use_tail = bool(tail) and bool(study.search(tail)) and len(tail.split()) >= 4
    name = tail.strip() if use_tail else head.strip()
    name = re.sub(r"^(a|an|the)\s+", "", name, flags=re.I)
    if len(name) > 70:
        name = name[:70].rsplit(" ", 1)[0] + " …"
    name = name[:1].upper() + name[1:]
    return f"{name} ({doc.year})" if doc.year else name


def bigrams(text: str) -> set[tuple[str, str]]:
    """Adjacent content-word stems ("anxiety symptom", "diagnosed depressive"): a sentence that
    keeps the question's word pairs speaks of the same thing, not of a neighbour ("anxiety
    disorder" for "anxiety symptoms")."""
    ws = content_words(text)
    return set(itertools.pairwise(ws))


def lead_in_for(sentence: str, doc: DocMeta) -> tuple[str, bool]:
    """(lead-in, usable): a sentence that needs its source or subject named gets one; one that
    leans on an unseen sentence is not usable."""
    if NEEDS_SOURCE.match(sentence) or NEEDS_SUBJECT.match(sentence):
        return source_name(doc) + ":", True
    if UNRESOLVABLE.match(sentence):
        # "The answer was both: the relationship ... is bidirectional." says its claim after
        # the colon: with the source named it can be read
        return (source_name(doc) + ":", True) if colon_claim(sentence) else ("", False)
    if POINTS_BACK.search(sentence):
        return source_name(doc) + ":", True
    return "", True


def colon_claim(sentence: str) -> bool:
    """A short leaning opening ended by a colon, then a whole claim of its own ("The answer was
    both: the relationship between ... is bidirectional.")."""
    head, colon, tail = sentence.partition(":")
    return (
        bool(colon)
        and len(head.split()) <= 6
        and len(tail.split()) >= 6
        and not (UNRESOLVABLE.match(tail.strip()) or NEEDS_SOURCE.match(tail.strip()))
    )


def points_back(sentence: str) -> bool:
    """Its opening stands alone, but words inside it point back at an unseen list ("if any of
    these symptoms has lasted 3 weeks"): with its source named it may lead an answer."""
    return not (NEEDS_SOURCE.match(sentence) or NEEDS_SUBJECT.match(sentence)) and bool(
        POINTS_BACK.search(sentence)
    )


@lru_cache(maxsize=1 << 14)
def unusable(sentence: str) -> bool:
    """Not a claim at all: too short, a question, a list fragment, an instruction injected into
    a source, a link line, a cross-reference or a title line."""
    return bool(
        len(sentence) < MIN_SENTENCE_CHARS
        or sentence.rstrip().endswith("?")
        or LIST_FRAGMENT.search(sentence.strip())
        or is_instruction(sentence)  # an instruction injected into a source is not a claim
        or link_line(sentence)  # a link line is a pointer, not an answer
        or POINTER.match(sentence)  # "See the following summaries ..."
        or title_line(sentence)  # "Management of ... Settings, 2006"
    )


# A share of people ("5-10% of people worldwide"), and words that say how common something is.
PEOPLE = re.compile(
    r"\b(people|adults|patients|participants|population|individuals|children|women|men|"
    r"worldwide|cases)\b",
    re.I,
)
COMMON = re.compile(r"\b(common|commonest|rare|prevalen\w*|affects?|affecting)\b", re.I)
_POPULATION_MARK = frozenset({"in", "with", "among", "amongst", "for"})
_GROUP = frozenset({"the", "people", "adults", "patients", "those", "children", "women", "men"})


def only_as_population(main: str, text: str) -> bool:
    """The subject (a stem) is named only as the population something else is counted in
    ("more common in IBS", "a third of people with IBS")."""
    toks = re.findall(r"[A-Za-z][A-Za-z0-9'\-]*", text.lower())
    at = [i for i, t in enumerate(toks) if main in {stem(w) for w in t.split("-")} | {stem(t)}]

    def marked(i: int) -> bool:  # "in IBS", "with IBS", "in people with IBS", "among the ..."
        prev = toks[i - 1] if i >= 1 else ""
        before = toks[i - 2] if i >= 2 else ""
        return prev in _POPULATION_MARK or (prev in _GROUP and before in _POPULATION_MARK)

    return bool(main) and bool(at) and all(marked(i) for i in at)


def gives_share(main: str, sentence: str) -> bool:
    """A prevalence sentence that says how common `main` (a stem; "" for any subject) is among
    people: not "Poor sleep is common in IBS" (how common poor sleep is) for IBS, nor "a quarter
    of bowel movements are hard" (no share of people)."""
    if main and only_as_population(main, sentence):
        return False
    return bool(PEOPLE.search(sentence) or COMMON.search(sentence))
