"""The answer's section taxonomy: one clinical order, headings named by what their bullets say.

Both answerers and the pipeline use it. A sentence is placed by its own words (the source
section heading only breaks ties), so CBT is "Treatment", not "Mechanisms" because its source
section was titled "Gut-brain axis".
"""

from __future__ import annotations

import re
from functools import lru_cache

# Display order. Each heading with the cues that place a sentence under it.
RECOMMEND = "Recommendations"
TREATMENT = "Treatment"
EVIDENCE = "The evidence"
MECHANISMS = "Mechanisms"
ASSESSMENT = "Assessment and screening"
CAVEATS = "Caveats and pitfalls"
OTHER = "What the guidelines say"
ORDER = [RECOMMEND, TREATMENT, EVIDENCE, MECHANISMS, ASSESSMENT, OTHER, CAVEATS]

_CUES: list[tuple[str, re.Pattern[str]]] = [
    (
        CAVEATS,
        re.compile(
            r"\b(not recommended|recommends? against|should not|must not|do not|does not|"
            r"insufficient|not (yet )?sufficient|limited evidence|low[- ]quality|uncertain|unclear|"
            r"caution|pitfall|avoid|overlook|mistake|rather than (proof|cause)|not proof|"
            r"cannot be|cannot (diagnose|predict|prove|tell|show|establish|confirm)|group-level|"
            r"side effects?|adverse|harms?|only (be )?(used|recommended|considered)|"
            r"outside (of )?research|however|unless|no evidence|not (be )?used|contraindicat)",
            re.I,
        ),
    ),
    (
        RECOMMEND,
        re.compile(
            r"\b(recommends?|recommended|recommendation|suggests? (that|offering|using)|"
            r"should be (offered|considered|used|given|performed|tried|referred)|first[- ]line|"
            r"second[- ]line|offer|advise[sd]?|guidelines? (suggest|say|advise))\b",
            re.I,
        ),
    ),
    (
        ASSESSMENT,
        re.compile(
            r"\b(screen\w*|assess\w*|questionnaire|(?<!-)scales?|score[sd]?|cut-?points?|cut-?offs?|"
            r"diagnos\w*|tests?|testing|refer\w*|red flags?|alarm|warning signs?|see a doctor|"
            r"criteria)\b",
            re.I,
        ),
    ),
    (
        TREATMENT,
        re.compile(
            r"\b(treat\w*|therap\w*|cbt|hypnotherapy|antidepressants?|amitriptyline|ssris?|"
            r"tricyclics?|neuromodulators?|probiotics?|prebiotics?|diet\w*|fodmap|medications?|"
            r"drugs?|doses?|dosing|mg|exercise|transplant\w*|fmt|management|manage\w*|"
            r"symptom relief|improve[sd]?)\b",
            re.I,
        ),
    ),
    (
        MECHANISMS,
        re.compile(
            r"\b(mechanisms?|axis|pathways?|vagus|vagal|nerves?|nervous system|hormones?|immune|"
            r"cytokines?|hpa|cortisol|signall?ing|serotonin|inflammat\w*|barrier|metabolites?|"
            r"microbiota|microbiome|microbes?|brain|neural|genetic|genes?)\b",
            re.I,
        ),
    ),
    (
        EVIDENCE,
        re.compile(
            r"(%|\b(odds|prevalence|pooled|risk|trials?|study|studies|cohort|meta-analysis|"
            r"associated|association|more likely|higher|lower|common|found|showed|evidence)\b)",
            re.I,
        ),
    ),
]


@lru_cache(maxsize=1 << 14)
def section_for(source_section: str, sentence: str) -> str:
    """The heading a sentence belongs under: its own words first, then its source section."""
    for text in (sentence, source_section):
        for heading, cue in _CUES:
            if cue.search(text):
                return heading
    return OTHER


def arrange(groups: dict[str, list]) -> list[tuple[str, list]]:
    """Sections in the one clinical order; a section of one bullet is merged with a neighbour
    (its heading joins both names) unless it is a caveat, or nothing is left to merge with."""
    present = [(h, list(groups[h])) for h in ORDER if groups.get(h)]
    body = [s for s in present if s[0] != CAVEATS]
    caveats = [s for s in present if s[0] == CAVEATS]
    merged: list[tuple[str, list]] = []
    i = 0
    while i < len(body):
        heading, items = body[i]
        if len(items) == 1 and len(body) > 1:
            if i + 1 < len(body):  # join the next section
                nxt_heading, nxt_items = body[i + 1]
                body[i + 1] = (_join(heading, nxt_heading), items + nxt_items)
                i += 1
                continue
            if merged:  # the last one joins the previous section
                prev_heading, prev_items = merged.pop()
                merged.append((_join(prev_heading, heading), prev_items + items))
                i += 1
                continue
        merged.append((heading, items))
        i += 1
    return merged + caveats


def _join(a: str, b: str) -> str:
    if a == OTHER:
        return b
    if b == OTHER:
        return a
    second = b[4:] if b.startswith("The ") else b
    second = second if second.isupper() else second[0].lower() + second[1:]
    first = a[:-1] if a.endswith(":") else a
    return f"{first} and {second}"
