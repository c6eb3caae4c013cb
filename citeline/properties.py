"""What an answer to each property question contains ("What dose ...?" is answered by "10 mg",
"How long ...?" by "3 weeks"), and what the property is called in a "not given" sentence."""

from __future__ import annotations

import re

__all__ = [
    "NUMBER_WORD",
    "PROPERTY_ANSWER",
    "PROPERTY_NAME",
    "UNIT",
    "gives_amount",
    "property_query",
]

UNIT = r"(?:mg|mcg|µg|μg|g|grams?|milligrams?|micrograms?|ml|mL|IU|units?|mg/kg|mg/day|MME)"
NUMBER_WORD = r"(?:one|two|three|four|five|six|seven|eight|nine|ten|twelve|once|twice)"
PROPERTY_ANSWER: dict[str, re.Pattern[str]] = {
    "dose": re.compile(rf"\d[\d.,]*\s*(?:-|–|to)?\s*\d*[\d.,]*\s*{UNIT}\b", re.I),
    "frequency": re.compile(
        rf"\b(daily|once|twice|{NUMBER_WORD} times|times (a|per)|every|each time|per (day|week)|"
        r"weekly|monthly|annually|yearly|hourly|before|after|whenever|routinely|"
        rf"at least (once|twice|{NUMBER_WORD} times|\d+ times|every|daily|weekly|monthly|annually|"
        r"yearly))\b",
        re.I,
    ),
    "duration": re.compile(
        rf"\b((\d+|{NUMBER_WORD}|a few|several)(\s*(-|–|to)\s*\d+)?(\s*|-)"  # "12 weeks", "12-week"
        r"(minutes?|days?|weeks?|months?|years?|hours?)|"
        r"short|brief|lifelong|long-term|temporary|indefinitely)\b",
        re.I,
    ),
    "cutoff": re.compile(
        r"(score[sd]? (of|below|above) \d|≥\s*\d|>=\s*\d|\d+ or (more|higher|above|greater|over)|"
        r"\b\d+\s*(-|–|to)\s*\d+\b|cut-?points?|cut-?offs?|threshold)",
        re.I,
    ),
    "regimen": re.compile(
        rf"\d[\d.,]*\s*{UNIT}\b|\b(\d+|{NUMBER_WORD})\s*(days?|weeks?|months?)\b|\b(daily|twice|times a)\b",
        re.I,
    ),
    # "What is the MME conversion factor for X?": a factor stated as one ("conversion factor
    # 1.5", "multiply by 2.4"), not any number near X ("patients receiving >=90 MME/day")
    "factor": re.compile(
        r"\b(conversion factors?|factors?|multipl\w*( by)?|ratios?)\b[^.;]{0,40}?\d+(\.\d+)?|"
        r"\d+(\.\d+)?\s*(×|x)\b",
        re.I,
    ),
    # a number that is not a year ("In 2018, ..." gives no conversion factor)
    "quantity": re.compile(r"(?<![\d.])(?!(?:19|20)\d\d\b)\d+(?:\.\d+)?"),
    "prevalence": re.compile(
        r"\d+(\.\d+)?\s*%|\b(one|two) in (two|three|four|five|six|ten|\d+)\b|\b(half|a third|a quarter|"
        r"most|majority|minority)\b|\bprevalence\b|\bcommon\b",
        re.I,
    ),
    "safety": re.compile(
        r"\b(safe|safety|side[- ]effects?|adverse|harms?|risks?|tolerat\w*|caution|"
        r"contraindicat\w*|interactions?|well tolerated|serious|infections?|transmi(t|ssion)\w*|"
        r"complications?|long-term effects|deaths?|fatal|overdose|dependence|withdrawal)\b",
        re.I,
    ),
    # "how fast should the taper be?": a pace (10% per month, slower, over weeks)
    "rate": re.compile(
        r"\d+(\.\d+)?\s*%\s*(per|a|each|every)\s*(day|week|month)|"
        r"\b(per (day|week|month)|slower|faster|slowly|quickly|rapid|rapidly|gradual|gradually|"
        r"abrupt|abruptly|pace|rate)\b",
        re.I,
    ),
    "timing": re.compile(
        r"\b(before|after|when|during|within|at (the )?(start|end|age)|until|\d+\s*(days?|weeks?|months?|years?))\b",
        re.I,
    ),
}
PROPERTY_NAME = {
    "dose": "dose",
    "frequency": "frequency",
    "duration": "duration",
    "cutoff": "cut-off",
    "regimen": "regimen",
    "factor": "conversion factor",
    "quantity": "figure",
    "prevalence": "frequency figure",
    "timing": "timing",
    "rate": "rate",
    "safety": "safety information",
}

# The words a passage giving each property tends to use, searched with the question's subject
# ("IBS: prevalence, affects an estimated % of people") so that the passage stating it joins the
# pool even when the question's own words ("How common is IBS?") match a hundred others better.
PROPERTY_SEARCH = {
    "dose": "dose in mg, daily dose",
    "frequency": "how often, times a day, daily, weekly",
    "duration": "how long, duration in weeks or months",
    "cutoff": "cut-off score, threshold",
    "regimen": "regimen, dose and duration",
    "factor": "conversion factor, multiply by",
    "quantity": "how many, number",
    "prevalence": "prevalence, affects an estimated % of people",
    "timing": "when, before, after, within",
    "rate": "rate per week or month",
    "safety": "safety, side effects, risks, adverse effects",
}


# Properties also answered in words that give no amount ("The restriction stage is meant to be
# short"): shown, but the property itself ("how long") is not given.
_AMOUNT = re.compile(rf"\d|\b({NUMBER_WORD}|a few|several)\b", re.I)
_VAGUE_KINDS = frozenset({"duration"})


def gives_amount(kind: str, sentence: str) -> bool:
    """The sentence gives the property as an amount ("12 weeks"), not only in words such as
    "short" or "lifelong" (properties without such words: whenever it gives the property)."""
    pat = PROPERTY_ANSWER.get(kind)
    if pat is None or kind not in _VAGUE_KINDS:
        return True
    return any(_AMOUNT.search(m.group(0)) for m in pat.finditer(sentence))


def property_query(kind: str, phrases: tuple[str, ...] | list[str]) -> str:
    """A second search for a property question: its subject and the property's usual words."""
    return f"{', '.join(phrases)}: {PROPERTY_SEARCH.get(kind, PROPERTY_NAME.get(kind, kind))}"
