"""Training lists for the answer reranker, from train splits only.

Each list is (question, [positive, negative, ...]): the first sentence answers the question, the
others do not (or less). Three third-party sets, never their reported splits:

- **PubMedQA PQA-L**, the 500 questions *outside* the official test split
  (``test_ground_truth.json``): the positive is a sentence of the abstract's conclusion
  (LONG_ANSWER); the negatives are sentences of its background, objective and methods, which
  share the question's words without answering it (the hard case), and sentences of other
  abstracts. Results sentences are left out: many of them answer too.
- **SciFact**, its train claims only (``claims_train.jsonl``): a claim reads like a yes/no
  question; the positive is one of its rationale sentences (supporting or contradicting: both
  answer it), the negatives the other sentences of the same abstract.
- **MedQuAD**, the answers *not* among the 200 questions `python -m eval medquad` asks
  (`eval.medquad.select_questions`) nor among the next 100 of that order (the dev questions on
  which the reranker's weight in the answer score is chosen: `eval medquad --split dev`): the
  positive is one of the first sentences of the question's own answer; the negatives are
  opening sentences of answers to other questions, the same subject first (what causes X does
  not answer how X is treated).

No text is stored in the repository: the lists are built at training time from
``../shared/data``.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import defaultdict
from pathlib import Path

from citeline.text import split_sentences

Example = tuple[str, list[str]]  # question, [positive, negatives...]

PUBMEDQA_NEGATIVE_LABELS = {
    "BACKGROUND", "OBJECTIVE", "OBJECTIVES", "PURPOSE", "INTRODUCTION", "AIMS", "AIM",
    "METHODS", "METHOD", "DESIGN", "STUDY DESIGN", "SETTING", "MATERIALS AND METHODS",
    "PATIENTS AND METHODS", "SUBJECTS", "PATIENTS", "PARTICIPANTS", "METHODS AND MATERIALS",
}  # fmt: skip
MIN_CHARS = 40
MAX_CHARS = 400


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _usable(sentence: str) -> bool:
    s = sentence.strip()
    return MIN_CHARS <= len(s) <= MAX_CHARS and not s.endswith(":")


def _sentences(text: str) -> list[str]:
    out = []
    for line in text.splitlines():
        line = line.strip().lstrip("-•* ").strip()
        if line:
            out += [s for s in split_sentences(line) if _usable(s)]
    return out


def pubmedqa(folder: Path) -> list[tuple[str, list[str], list[str]]]:
    """(question, conclusion sentences, non-answering sentences) of the non-test questions."""
    data = json.loads((folder / "ori_pqal.json").read_text())
    test = set(json.loads((folder / "test_ground_truth.json").read_text()))
    out = []
    for pmid in sorted(data):
        if pmid in test:
            continue
        row = data[pmid]
        positives = _sentences(row.get("LONG_ANSWER", ""))
        negatives = []
        for label, ctx in zip(row["LABELS"], row["CONTEXTS"], strict=False):
            if label.upper() in PUBMEDQA_NEGATIVE_LABELS:
                negatives += _sentences(ctx)
        if positives:
            out.append((row["QUESTION"], positives, negatives))
    return out


def medquad(path: Path) -> list[tuple[str, str, list[str]]]:
    """(question, focus, opening sentences of its answer) of the questions eval does not ask."""
    return [row[1:] for row in medquad_rows(path)]


def medquad_rows(path: Path) -> list[tuple[str, str, str, list[str]]]:
    """(row id, question, focus, opening sentences) of the rows outside the test and dev
    questions of `python -m eval medquad`."""
    from eval.medquad import DEFAULT_LIMIT, DEV_QUESTIONS, load_medquad, select_questions

    qas = load_medquad(path)
    asked = {qa.id for qa in select_questions(qas, DEFAULT_LIMIT + DEV_QUESTIONS)}
    out = []
    for qa in qas:
        if qa.id in asked:
            continue
        sents = _sentences(qa.answer)[:3]
        if sents:
            out.append((qa.id, qa.question, qa.focus.lower(), sents))
    return out


def scifact(folder: Path) -> list[tuple[str, list[str], list[str]]]:
    """(claim, rationale sentences, other sentences of its abstracts) of the train claims."""
    corpus = {}
    with (folder / "corpus.jsonl").open() as fh:
        for line in fh:
            d = json.loads(line)
            corpus[str(d["doc_id"])] = d["abstract"]
    out = []
    with (folder / "claims_train.jsonl").open() as fh:
        for line in fh:
            d = json.loads(line)
            positives, negatives = [], []
            for doc_id, sets in d.get("evidence", {}).items():
                abstract = corpus.get(str(doc_id), [])
                marked = {i for e in sets for i in e["sentences"]}
                positives += [abstract[i] for i in sorted(marked) if i < len(abstract)]
                negatives += [s for i, s in enumerate(abstract) if i not in marked]
            positives = [s for s in positives if _usable(s)]
            if positives:
                out.append((d["claim"], positives, [s for s in negatives if _usable(s)]))
    return out


def build(data: Path, seed: int, negatives: int) -> list[Example]:
    """Every training list, shuffled with `seed`; each has one positive and `negatives`
    negatives (hard ones first, topped up with sentences of other questions)."""
    rng = random.Random(seed)
    pq = pubmedqa(data / "pubmedqa") + scifact(data / "scifact" / "original")
    mq = medquad(data / "medquad" / "medquad_subset.jsonl")
    pool = [s for _, pos, neg in pq for s in pos + neg] + [s for _, _, ss in mq for s in ss]
    examples: list[Example] = []

    def top_up(hard: list[str], exclude: set[str]) -> list[str]:
        chosen = rng.sample(hard, min(len(hard), negatives - 2)) if hard else []
        while len(chosen) < negatives:
            s = rng.choice(pool)
            if s not in exclude and s not in chosen:
                chosen.append(s)
        return chosen

    for question, positives, hard in pq:
        own = set(positives) | set(hard)
        for pos in positives[:2]:
            examples.append((question, [pos, *top_up(hard, own)]))
    by_focus: dict[str, list[int]] = defaultdict(list)
    for i, (_, focus, _) in enumerate(mq):
        by_focus[focus].append(i)
    for i, (question, focus, sents) in enumerate(mq):
        same = [s for j in by_focus[focus] if j != i for s in mq[j][2]]
        for pos in sents[:2]:
            examples.append((question, [pos, *top_up(same, set(sents))]))
    rng.shuffle(examples)
    return examples
