"""Synonyms of the verifier: words that paraphrase each other in clinical writing."""

from __future__ import annotations

from citeline.text import stem

# Words that paraphrase each other in clinical writing (each row one meaning).
_SYNONYM_ROWS = """
recommend advise advocate endorse
suggest propose
use usage utilisation utilization administration
treat treatment therapy manage management
patient people person individual adult
improve alleviate relieve ameliorate ease benefit help
reduce lower decrease diminish cut lessen
increase raise elevate rise boost
symptom complaint
effective efficacious beneficial useful helpful
evidence data
study trial research
risk odd likelihood chance
common frequent prevalent
rare uncommon infrequent
physician doctor clinician practitioner
child children paediatric pediatric
drug medication medicine agent
diet dietary
show demonstrate find found indicate report
cause induce trigger
prevent avert
assess evaluate examine measure
consider weigh
offer provide give
associate link relate correlate tie
before prior
after following
""".strip().splitlines()


def norm(tok: str) -> str:
    """A stem that also joins "advise" and "advised", "reduce" and "reduces"."""
    s = stem(tok)
    return s[:-1] if len(s) > 4 and s.endswith("e") else s


SYNONYMS: dict[str, int] = {
    norm(w + end): i
    for i, row in enumerate(_SYNONYM_ROWS)
    for w in row.split()
    for end in ("", "s", "d", "ed", "ing")
}


def key(tok: str) -> str:
    """What two words share when they mean the same: a synonym row, else the stem."""
    s = norm(tok)
    return f"#{SYNONYMS[s]}" if s in SYNONYMS else s
