"""The words a question is read with: what is too general to be its subject (GENERIC), the
populations it may narrow to, and everyday phrases read as its sources write them."""

from __future__ import annotations

import re

from citeline.text import stem

__all__ = ["DOSED", "GENERIC", "POPULATION", "SPECIAL_POPULATION", "plain"]

# Words that say what is asked, or are too general to be the subject of a clinical question.
GENERIC = frozenset(
    stem(w)
    for w in """
    dose doses dosage dosing dosed much often long frequency frequently times time duration
    safe safety use used using usage recommend recommended recommends recommendation
    recommendations guideline guidelines guidance say says said treatment treatments treat
    treated treating therapy therapies patient patients people person persons someone help helps
    helpful work works effective effectiveness efficacy best good better first line first-line
    option options take taking taken give given giving need needed know mean means role evidence
    indicated indication advice advise suggest suggested should can could would will way ways
    typical typically usual usually normal main common kind kinds type types get manage managing
    management approach approaches start starting started stop stopping last lasts happen
    happens cause causes caused relation relationship connection link linked links between
    affect affects effect effects benefit benefits harm harms risk risks problem problems
    recommended thing things regimen regimens schedule course cut-off cutoff cut-point threshold
    score scores value level levels amount rate rates number numbers conversion factor factors
    exactly really actually generally any anything every everyone important matter matters
    which what when where who whom whose why how does do did is are was were be been there
    diagnose diagnosed diagnosis diagnosing prevent prevented prevention preventing symptom
    symptoms sign signs complication complications outlook prognosis inherited inherit
    research information tests testing test affected proportion percentage share big large
    small year-old years-old old trial study scored scoring prevalent prevalence fast quickly
    slowly quick slow give gives set sets table say depend depends depending consider
    considered considering try trying tried avoid avoids avoiding differ differs different
    perform performs performed improve improves improved suggest suggests choose chosen
    feel feeling better worse keep keeps coming back change changes changed according
    initial found find finds show shows showed shown studied largest instead rather another
    topic see seeing seen notice noticed noticing morning evening night today tonight yesterday
    urgent urgently someone stay staying pitfall pitfalls caveat caveats limitation limitations mistake
    mistakes drawback drawbacks
    dad father mum mom mother son daughter husband wife partner friend brother sister grandson
    granddaughter grandmother grandfather grandma grandpa granny nan uncle aunt niece nephew
    family relative relatives boyfriend girlfriend colleague neighbour neighbor""".split()
)

# Scope words: the population or setting a question narrows to. They are qualifiers, never the
# subject whose absence refuses a question (the unmentioned-terms notice covers them).
POPULATION = frozenset(
    stem(w)
    for w in """
    pregnancy pregnant breastfeeding lactation children child kids kid infants infant babies baby
    toddlers teenagers teenager teens teen adolescents adolescent elderly older old aged adults
    adult women woman men man males females male female newborns neonates seniors students
    immunosuppressed immunocompromised immunosuppressants frail staff personnel clinician
    clinicians nurse nurses doctor doctors physician physicians prescriber prescribers hcp
    worker workers healthcare-personnel
    """.split()
)

# Populations a guideline must name for its advice to hold there: a dose or safety statement
# for adults in general does not answer "in pregnancy".
SPECIAL_POPULATION = frozenset(
    stem(w)
    for w in """pregnancy pregnant breastfeeding lactation children child kids kid infants infant
    babies baby toddlers teenagers teenager teens adolescents adolescent elderly older newborns
    neonates immunosuppressed immunocompromised frail""".split()
)

# Everyday phrases for what clinical writing names in one word: "feel down" is low mood, not
# something about "down"; "for the rest of my life" is lifelong.
_IDIOMS = [
    (re.compile(r"\bfe(el|els|eling|lt) (down|low|blue|sad|fed up)\b", re.I), "mood"),
    (
        re.compile(r"\b(for )?the rest of (my|your|his|her|their|our) li(fe|ves)\b", re.I),
        "lifelong",
    ),
    (re.compile(r"\b(eat|eats|eating|ate)\b", re.I), "diet"),
]


def plain(text: str) -> str:
    """The question with everyday phrases in the words its sources use (`_IDIOMS`)."""
    for pat, word in _IDIOMS:
        text = pat.sub(word, text)
    return text


DOSED = re.compile(r"^(low|lower|high|higher|full|standard|double|half)-dos(e|ed|age)$")
