"""The transformations of the perturbation suite (eval/perturb.py): faithful and corrupting."""

from __future__ import annotations

import random
import re

CORRUPTION_TYPES = (
    "negation",
    "recommendation",
    "direction",
    "comparands",
    "quantity",
    "scope",
    "population",
    "hedge",
    "entity",
)
_PARA = {
    "recommended": "advised", "recommend": "advise", "recommends": "advises",
    "patients": "people", "physicians": "doctors", "medications": "medicines",
    "medication": "medicine", "reduce": "lower", "reduces": "lowers", "reduced": "lowered",
    "common": "frequent", "treatment": "therapy", "assess": "evaluate", "before": "prior to",
    "effective": "efficacious", "demonstrated": "shown",
    "frequently": "often", "approximately": "about", "individuals": "people",
}  # fmt: skip
_ANTONYM = {
    "higher": "lower", "lower": "higher", "increase": "decrease", "decrease": "increase",
    "increased": "decreased", "decreased": "increased", "increases": "decreases",
    "decreases": "increases", "more": "less", "less": "more", "greater": "smaller",
    "reduce": "increase", "reduced": "increased", "reduces": "increases", "reducing":
    "increasing", "increasing": "reducing", "improve": "worsen", "improved": "worsened",
    "improves": "worsens", "superior": "inferior", "inferior": "superior", "better": "worse",
    "worse": "better", "above": "below", "below": "above", "fewer": "more", "elevated":
    "reduced", "decline": "rise", "high": "low", "low": "high",
}  # fmt: skip
_NUMBER_WORDS = {"two": "four", "three": "six", "four": "eight", "five": "ten", "six": "three",
                 "seven": "three", "eight": "four", "nine": "three", "ten": "five",
                 "twice": "three times", "threefold": "sixfold", "twofold": "fourfold",
                 "half": "a quarter", "third": "fifth", "double": "triple"}  # fmt: skip
_POP = {"children": "adults", "adults": "children", "adult": "child", "child": "adult",
        "women": "men", "men": "women", "pregnancy": "childhood", "pregnant": "older",
        "older": "younger", "infants": "adolescents", "adolescents": "infants"}  # fmt: skip
ENTITIES = (
    "amitriptyline nortriptyline citalopram sertraline fluoxetine loperamide linaclotide "
    "rifaximin omeprazole vancomycin fidaxomicin metronidazole buprenorphine methadone "
    "naloxone morphine oxycodone fentanyl tramadol gabapentin ibuprofen",
    "depression anxiety insomnia constipation diarrhoea dyspepsia obesity diabetes asthma "
    "migraine dementia schizophrenia hypertension",
    "IBS IBD GERD PTSD COPD",
    "colonoscopy endoscopy ultrasound biopsy radiography",
    "SSRIs SNRIs TCAs NSAIDs PPIs benzodiazepines opioids antibiotics probiotics",
    "CBT FMT MRI",
)
_AUX = r"\b(is|are|was|were|should|can|will|does|do|must|could|has|have)\b"


def _sub(s: str, word: str, repl: str) -> str:
    """Replace the first whole-word `word` (any case), keeping a leading capital."""

    def fix(m: re.Match[str]) -> str:
        return repl[0].upper() + repl[1:] if m.group(0)[0].isupper() else repl

    return re.sub(rf"(?<![\w-]){re.escape(word)}(?![\w-])", fix, s, count=1, flags=re.I)


def _has(s: str, word: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", s, flags=re.I) is not None


def paraphrases(s: str, abbrevs: dict[str, set[str]]) -> list[tuple[str, str]]:
    out = []
    syn, n = s, 0
    for w, r in _PARA.items():
        if n < 2 and _has(syn, w):
            syn, n = _sub(syn, w, r), n + 1
    if syn != s:
        out.append(("synonym", syn))
    m = re.search(
        r",\s+(which|including|such as|for example|particularly|especially|as well as)\b", s
    )
    if m and len(s[: m.start()].split()) >= 6:
        out.append(("drop clause", s[: m.start()] + "."))
    else:
        p = re.sub(r"\s*\((?![^()]*\b(?:not|no|but|except|only)\b)[^()]{3,80}\)", "", s)
        if p != s and len(p.split()) >= 6:
            out.append(("drop parenthetical", p))
    m = re.match(r"(In|For|Among|During|After|Before) ([^,]{3,60}), (\w)(.*?)\.?$", s)
    if m and not re.search(r"\b(not|no)\b", m.group(2)):
        out.append(
            ("reorder", f"{m.group(3).upper()}{m.group(4)} {m.group(1).lower()} {m.group(2)}.")
        )
    else:
        m2 = re.search(
            r"(?:^|[,(]|\b(?:of|with|for|in|on|to|and|the)) ([a-z]{4,}) and ([a-z]{4,})(?=[,.;)]| (?:of|in|for|with|are|is|were|was|have|has)\b)",
            s,
        )
        if m2 and m2.group(1) != m2.group(2):
            out.append(
                ("reorder", s[: m2.start(1)] + f"{m2.group(2)} and {m2.group(1)}" + s[m2.end(2) :])
            )
    for abbr in abbrevs:
        if abbr.isalpha() and len(abbr) <= 6 and _has(s, abbr):
            long = _long_form(abbr, s) or ""
            if long:
                out.append(("abbreviation", s.replace(f"{long} ({abbr.upper()})", abbr.upper())))
                break
    return out


def _long_form(abbr: str, s: str) -> str | None:
    m = re.search(rf"((?:[A-Za-z\-]+ ){{1,6}})\({re.escape(abbr.upper())}s?\)", s)
    if not m:
        return None
    words = m.group(1).split()
    take = words[-len(abbr) :] if len(words) >= len(abbr) else words
    return " ".join(take)


def corruptions(s: str, passage: str, rng: random.Random) -> list[tuple[str, str, str]]:
    out: list[tuple[str, str, str]] = []

    def add(kind: str, op: str, claim: str | None) -> None:
        if claim and claim != s and kind not in {k for k, _, _ in out}:
            out.append((kind, op, claim))

    if re.search(r"\b(not|no|never)\b", s):
        add(
            "negation",
            "negation removed",
            re.sub(r"\b(not|never) ", "", s, count=1)
            if re.search(r"\b(not|never) ", s)
            else re.sub(r"\bno ", "", s, count=1),
        )
    elif re.search(_AUX, s):
        add("negation", "not inserted", re.sub(_AUX, r"\1 not", s, count=1))
    if re.search(r"\bnot (be )?recommended\b", s):
        add(
            "recommendation",
            "against -> for",
            re.sub(
                r"\bnot (be )?recommended", lambda m: (m.group(1) or "") + "recommended", s, count=1
            ),
        )
    elif _has(s, "recommended") or _has(s, "recommends"):
        add(
            "recommendation",
            "recommended -> suggested",
            _sub(_sub(s, "recommended", "suggested"), "recommends", "suggests"),
        )
    elif re.search(r"\bshould\b", s):
        add(
            "recommendation",
            "should -> may be considered",
            re.sub(r"\bshould (\w+)", r"may be considered to \1", s, count=1),
        )
    elif re.search(r"\b(suggest|suggested|considered)\b", s):
        add(
            "recommendation",
            "weak -> strong",
            re.sub(r"\b(suggested|considered)\b", "strongly recommended", s, count=1),
        )
    for w, r in _ANTONYM.items():
        if _has(s, w):
            add("direction", f"{w} -> {r}", _sub(s, w, r))
    add("comparands", "comparands swapped", swap(s))
    add("quantity", "number changed", _number(s))
    add("scope", "quantifier changed", _scope(s))
    for w, r in _POP.items():
        if _has(s, w) and not _has(passage, r):
            add("population", f"{w} -> {r}", _sub(s, w, r))
    if not any(k == "population" for k, _, _ in out) and not re.search(
        r"\b(child|children|adults?)\b", passage, re.I
    ):
        add("population", "children added", s.rstrip(".") + " in children.")
    add("hedge", "hedge removed", _unhedge(s))
    for row in ENTITIES:
        terms = row.split()
        present = [t for t in terms if _has(s, t)]
        if present:
            others = [t for t in terms if not _has(passage, t)]
            if others:
                add("entity", f"{present[0]} swapped", _sub(s, present[0], rng.choice(others)))
    return out


def swap(s: str) -> str | None:
    m = re.search(
        r"\b([A-Za-z][\w\-]*(?: [A-Za-z][\w\-]*)?) (over|rather than|instead of|than|versus|compared with) ([A-Za-z][\w\-]*(?: [a-z][\w\-]*)?)",
        s,
    )
    if not m or m.group(1).lower() == m.group(3).lower():
        return None
    words = (m.group(1) + " " + m.group(3)).lower().split()
    if any(w in _NOT_COMPARAND or w in _ANTONYM or w in _NUMBER_WORDS for w in words):
        return None
    if m.group(2) == "over" and re.match(r"(the age|\d|time|years?)", m.group(3)):
        return None
    return s[: m.start()] + f"{m.group(3)} {m.group(2)} {m.group(1)}" + s[m.end() :]


_NOT_COMPARAND = frozenset(
    "a an the is are was were be been more less rather other than that this those these or and "
    "of in to for with as at by it its their his her quarter many much".split()
)


def _number(s: str) -> str | None:
    m = re.search(r"(?<![\w.])(\d+(?:\.\d+)?)(?![\w.])", s)
    if m:
        v = float(m.group(1))
        new = v * 2 if v else 3
        text = str(int(new)) if new == int(new) else f"{new:.1f}"
        return s[: m.start()] + text + s[m.end() :]
    for w, r in _NUMBER_WORDS.items():
        if _has(s, w):
            return _sub(s, w, r)
    return None


def _scope(s: str) -> str | None:
    for w in ("some", "certain", "specific", "selected", "many"):
        if _has(s, w):
            return _sub(s, w, "all")
    for w in ("routinely", "routine", "only"):
        if _has(s, w):
            return re.sub(rf"\s*\b{w}\b", "", s, count=1, flags=re.I).strip()
    m = re.search(r"\b(is|are|should|can|may|will) ", s)
    return s[: m.end()] + "always " + s[m.end() :] if m else None


def _unhedge(s: str) -> str | None:
    for pat, repl in (
        (r"\bmay be associated with\b", "causes"),
        (r"\b(may|might|could) (\w+)", r"will \2"),
        (r"\bsuggests that\b", "proves that"),
        (r"\bsuggest that\b", "prove that"),
        (r"\bpossibly\b", "definitely"),
        (r"\bis associated with\b", "causes"),
        (r"\bare associated with\b", "cause"),
    ):
        if re.search(pat, s):
            return re.sub(pat, repl, s, count=1)
    return None
