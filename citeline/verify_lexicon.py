"""Synonyms of the verifier: words that paraphrase each other in clinical writing."""

from __future__ import annotations

from functools import lru_cache

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


@lru_cache(maxsize=65536)
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


@lru_cache(maxsize=65536)
def key(tok: str) -> str:
    """What two words share when they mean the same: a synonym row, else the stem."""
    s = norm(tok)
    return f"#{SYNONYMS[s]}" if s in SYNONYMS else s


# Conditions, symptoms, organs, substances and tests common enough to be whole words of the
# embedding model's vocabulary (rarer names, such as most drugs and organisms, are told apart
# by not being in it: `is_rare`).
COMMON_TERMS = frozenset(
    """depression depressive dementia anxiety anxious obesity obese diabetes diabetic asthma
    schizophrenia bipolar psychosis autism epilepsy arthritis cancer tumour tumor stroke pain
    infection infections fever nausea vomiting fatigue headache headaches cough ulcer ulcers
    heart lung lungs liver kidney kidneys brain blood bowel bowels stomach gut skin bone bones
    muscle muscles colon rectum oesophagus esophagus throat chest abdomen abdominal insulin
    antibiotic antibiotics antidepressant antidepressants vitamin vitamins iron calcium sugar
    glucose fat fats protein fibre fiber alcohol smoking nicotine caffeine cannabis tobacco
    virus bacteria bacterial viral fungal covid flu influenza hiv aids malaria tuberculosis
    pneumonia sepsis ultrasound biopsy scan scans surgery transplant vaccine vaccines vaccination
    weight sleep stress suicide suicidal trauma addiction overdose withdrawal allergy allergies
    inflammation inflammatory hormone hormones serotonin dopamine cortisol microbiota microbiome
    stool diet exercise yoga hypnosis placebo""".split()
)
_vocabulary: frozenset[str] | None = None


def vocabulary() -> frozenset[str]:
    """Whole-word entries of the packaged embedding model's WordPiece vocabulary (empty when the
    model is not installed: then every word outside the general list counts as a term)."""
    global _vocabulary
    if _vocabulary is None:
        try:
            from citeline.embeddings import packaged_model_path

            path = packaged_model_path() / "vocab.txt"
            words = path.read_text(encoding="utf-8").split("\n")
            _vocabulary = frozenset(w for w in words if w.isalpha())
        except Exception:  # no model package: the strict rule applies to every word
            _vocabulary = frozenset()
    return _vocabulary


def is_rare(word: str) -> bool:
    """Not a whole word of the model's vocabulary: a drug, organism or test name, mostly."""
    vocab = vocabulary()
    w = word.lower().strip("'")
    return not vocab or (
        w.isalpha() and len(w) >= 4 and w not in vocab and w.rstrip("s") not in vocab
    )
