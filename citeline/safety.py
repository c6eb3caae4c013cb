"""Safety screening of the question: crisis routing, red-flag symptoms, injection attempts."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from citeline import prompts

# Phrases suggesting suicidal intent or self-harm. Deliberately broad: a false alarm costs a
# kind message; a miss can cost a life.
_CRISIS = re.compile(
    r"\b(suicid\w*|kill(ing)?\s+my\s*self|end(ing)?\s+(it\s+all|my\s+life)|tak(e|ing)\s+my\s+(own\s+)?life|"
    r"want(ed|ing)?\s+to\s+die|wish\s+i\s+(was|were)\s+dead|better\s+off\s+dead|self[-\s]?harm\w*|"
    r"hurt(ing)?\s+my\s*self|cut(ting)?\s+my\s*self|overdos\w+\s+on\s+purpose|"
    r"no\s+reason\s+to\s+live|don'?t\s+want\s+to\s+(live|be\s+alive))\b",
    re.IGNORECASE,
)

# Alarm symptoms that need prompt medical review (NICE CG61 and NG12 list these for lower GI
# symptoms: rectal bleeding, unintentional weight loss, anaemia, a mass, change of bowel habit
# after 60, nocturnal symptoms; severe pain and vomiting blood are emergencies).
_RED_FLAGS = {  # name: (how a question reports it, how a source names it)
    "blood in the stool": (
        r"blood(y)?\s+(in|on)\s+(my\s+|the\s+)?(stool|poo|faeces|feces)|bloody\s+(stool|diarrh\w+)",
        r"\bblood|\bbleed",
    ),
    "rectal bleeding": (
        r"rectal\s+bleed\w*|bleeding\s+from\s+(my\s+|the\s+)?(bottom|rectum|back passage)",
        r"\bblood|\bbleed",
    ),
    "black stools": (
        r"black\s+(tarry\s+)?(stool|poo)s?|melaena|melena",
        r"\bblack\b|\bdark red\b|melaena|melena",
    ),
    "vomiting blood": (
        r"vomit\w*\s+blood|haematemesis|hematemesis",
        r"vomit\w*\s+blood|haematemesis|hematemesis",
    ),
    "unintended weight loss": (
        r"(unintend\w*|unintention\w*|unexplained|unexpected)\s+weight\s+loss|(losing|lost)\s+(a\s+lot\s+of\s+)?weight\s+without|"
        # "my daughter is losing weight", not "losing weight on a diet" or "trying to lose weight"
        r"\b(is|are|has(\s+been)?|have(\s+been)?|keeps?)\s+(losing|lost)\s+(\w+\s+){0,3}weight\b(?!\s+(on|by|with|since\s+starting)\b)",
        r"weight\s+loss|loss\s+of\s+(\w+\s+){0,3}weight|los(e|ing)\s+weight",
    ),
    "night-time symptoms": (
        r"(wak\w+|wake)\s+(me\s+)?(up\s+)?(at|during\s+the)\s+night|nocturnal|at\s+night\s+with\s+(pain|diarrh)",
        r"\bnight|nocturnal",
    ),
    "severe pain": (
        r"(severe|excruciating|unbearable|worst)\s+(\w+\s+)?pain",
        r"severe\s+(\w+\s+)?pain",
    ),
    "difficulty swallowing": (
        r"(difficulty|trouble|pain(ful)?)\s+swallow\w*|dysphagia",
        r"swallow|dysphagia",
    ),
    "a lump or mass": (
        r"\b(lump|mass)\s+in\s+(my\s+|the\s+)?(abdomen|tummy|stomach|belly)",
        r"\blumps?\b|\bmass(es)?\b|swelling",
    ),
    "anaemia": (
        r"\ban(a)?emi[ac]\b",
        r"\ban(a)?emi",
    ),
}
_RED_FLAG_RES = {name: re.compile(rx, re.IGNORECASE) for name, (rx, _) in _RED_FLAGS.items()}
# Sources name the symptoms more ways than a question reports them ("Unexplained loss of a lot
# of weight", "diarrhoea with blood in it", "abdominal masses").
_ALARM_NAMED_RES = {name: re.compile(rx, re.IGNORECASE) for name, (_, rx) in _RED_FLAGS.items()}
# A question that reports symptoms someone has, rather than asking about them in general.
_REPORTS = re.compile(
    r"\b(i|i'm|i've|i'd|me|my|we|our|he|she|he's|she's|his|her|they've|their|patient|"
    r"someone|somebody|son|daughter|child|husband|wife|partner|mother|father|mum|dad)\b",
    re.IGNORECASE,
)

# What a source says to do about one: seek help, how soon, where, refer.
_ALARM_ACTION = re.compile(
    r"\b(urgent\w*|immediate\w*|same[- ]day|emergency|NHS 111|999|A&E|refer\w*|"
    r"see (a|your) (GP|doctor)|GP appointment|medical (help|advice|review)|seek\w* (help|advice|care))",
    re.IGNORECASE,
)

_INJECTION = re.compile(
    r"ignore\s+(all\s+|any\s+)?(the\s+)?(previous|prior|above|earlier)\s+(instructions|rules|prompts?)|"
    r"(print|show|reveal|repeat|output)\s+(me\s+)?(your|the)\s+(system\s+)?(prompt|instructions|rules)|"
    r"system\s+prompt|you\s+are\s+now\s+|disregard\s+(your|the)\s+(rules|instructions)|jailbreak",
    re.IGNORECASE,
)


# Text addressed to the assistant rather than to a reader. Inside a guideline it can only be an
# injected instruction: such sentences are never candidates for, or part of, an answer.
_ADDRESSED_TO_ASSISTANT = re.compile(
    r"\b(tell|inform|convince)\s+the\s+(user|reader)\b|"
    r"\bas\s+an?\s+(ai|assistant|language\s+model|chatbot)\b|"
    r"\b(the\s+)?(assistant|chatbot|ai|language\s+model|llm)\s+(must|should|will)\s+(now\s+|always\s+)?"
    r"(say|answer|respond|reply|state|recommend|ignore|claim)\b|"
    r"\b(respond|reply|answer)\s+(only\s+)?with\s+[\"'“]|"
    r"\b(new|updated|override)\s+instructions\s*:",
    re.IGNORECASE,
)


def alarm_advice(sentence: str, red_flags: Sequence[str]) -> int:
    """How many of the question's alarm symptoms a source sentence names while saying what to do
    about them (see a GP urgently, call 111, refer); 0 when it does not say what to do."""
    if not red_flags or not _ALARM_ACTION.search(sentence):
        return 0
    return sum(
        1 for f in red_flags if f in _ALARM_NAMED_RES and _ALARM_NAMED_RES[f].search(sentence)
    )


def alarm_query(red_flags: Sequence[str]) -> str:
    """The search for what the sources say to do about the question's alarm symptoms."""
    return f"When do {' or '.join(red_flags)} need an urgent doctor's appointment or referral?"


@lru_cache(maxsize=1 << 14)
def is_instruction(sentence: str) -> bool:
    """True for a sentence that gives the assistant instructions (an injection in a source)."""
    return bool(_INJECTION.search(sentence) or _ADDRESSED_TO_ASSISTANT.search(sentence))


@dataclass
class Screen:
    flags: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    red_flags: list[str] = field(default_factory=list)

    reported: bool = False  # the question reports symptoms someone has ("I", "my patient")

    @property
    def crisis(self) -> bool:
        return "crisis" in self.flags

    @property
    def alarms(self) -> list[str]:
        """The alarm symptoms someone is reported to have ("What causes anaemia?" reports none)."""
        return self.red_flags if self.reported else []


def crisis_message(locale: str) -> str:
    lines = prompts.data("crisis.yaml")
    return str(lines.get(locale) or lines["default"]).strip()


def screen(text: str, locale: str = "default") -> Screen:
    """Flags and notices for a question (or the standalone query built from it)."""
    out = Screen()
    if _CRISIS.search(text):
        out.flags.append("crisis")
        out.notices.append(crisis_message(locale))
    found = [name for name, rx in _RED_FLAG_RES.items() if rx.search(text)]
    if found:
        out.flags.append("red_flag")
        out.red_flags = found
        out.reported = bool(_REPORTS.search(text))
        out.notices.append(prompts.render("red_flag.md", symptoms=", ".join(found)))
    if _INJECTION.search(text):
        # Recorded for audit only: behaviour never changes (passages and questions are data).
        out.flags.append("injection")
    return out
