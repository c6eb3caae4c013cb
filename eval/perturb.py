"""The verifier's perturbation suite: guideline sentences with faithful paraphrases and corruptions.

Sentences come from the bundled corpus (`corpus/`) and the CDC PDFs in ../shared/data/guidelines,
chunked by the app's own loaders and chunker; each claim is checked against the chunk its sentence
came from, as in an answer. For each sentence, every transformation that applies is generated:

- faithful: synonyms, reordering (a leading phrase moved to the end, "A and B" swapped), a
  trailing clause dropped, an abbreviation the passage defines used for its long form;
- corruptions, with their type recorded: negation, recommendation, direction, comparands,
  quantity, scope, population, hedge, entity.

The suite is generated, deterministic (seeded sampling), and never stored: the sentences of
../shared/data stay there. Rates per type come from `evaluate()`.
"""

from __future__ import annotations

import random
import re
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from citeline.config import PROJECT_ROOT
from citeline.embeddings import Embedder
from citeline.verify import SUPPORTED, abbreviations, verify
from eval import perturb_ops as ops

GUIDELINES = PROJECT_ROOT.parent / "shared" / "data" / "guidelines"
CDC_PDFS = (
    "cdc_2022_opioid_prescribing_guideline_rr7103a1-H.pdf",
    "cdc_2016_guide_infection_prevention_outpatient_settings.pdf",
)
SEED = 16
PER_SOURCE = {"corpus": 160, "cdc": 120}


@dataclass(frozen=True)
class Item:
    kind: str  # "faithful" or the corruption type
    op: str  # the transformation that made it
    claim: str
    original: str
    passage: str
    sentences: tuple[str, ...]
    source: str


def _chunks(paths: Sequence[Path]) -> Iterator[tuple[str, tuple[str, ...], str]]:
    from ingest.chunking import chunk_blocks
    from ingest.loaders import load

    for path in paths:
        doc = load(path)
        for ch in chunk_blocks(doc.meta, doc.blocks):
            yield ch.text, ch.sentences, path.name


def _usable(sentence: str) -> bool:
    n = len(sentence.split())
    return (
        8 <= n <= 45
        and sentence[0].isupper()
        and sentence.rstrip()[-1:] in ".)"
        and (not re.search(r"[|•]|\.{3}|https?:|www\.", sentence))
    )


def suite(
    corpus: Path = PROJECT_ROOT / "corpus", guidelines: Path = GUIDELINES, seed: int = SEED
) -> list[Item]:
    """Every item of the suite: the sampled sentences and all transformations that apply."""
    sources = {"corpus": sorted(p for p in corpus.glob("*.md") if p.name != "README.md")}
    pdfs = [guidelines / name for name in CDC_PDFS if (guidelines / name).is_file()]
    if pdfs:
        sources["cdc"] = pdfs
    rng = random.Random(seed)
    items: list[Item] = []
    for name, paths in sources.items():
        pool = [
            (s, text, sents, src)
            for text, sents, src in _chunks(paths)
            for s in sents
            if _usable(s)
        ]
        pool = list({s: (s, t, ss, src) for s, t, ss, src in pool}.values())
        rng.shuffle(pool)
        # Sentences with something to corrupt come first; every sentence gets its paraphrases.
        pool.sort(key=lambda row: -len(ops.corruptions(row[0], row[1], rng)))
        for s, text, sents, src in pool[: PER_SOURCE[name]]:
            items += _items_for(s, text, sents, f"{name}:{src}", rng)
        # Comparisons are rare in guideline prose: every other sentence with one adds its swap.
        for s, text, sents, src in pool[PER_SOURCE[name] :]:
            swapped = ops.swap(s)
            if swapped:
                items.append(Item("comparands", "comparands swapped", swapped, s, text, sents, src))
    return items


def _items_for(
    s: str, text: str, sents: tuple[str, ...], source: str, rng: random.Random
) -> list[Item]:
    out = []
    for op, claim in ops.paraphrases(s, abbreviations(text)):
        out.append(Item("faithful", op, claim, s, text, sents, source))
    for kind, op, claim in ops.corruptions(s, text, rng):
        out.append(Item(kind, op, claim, s, text, sents, source))
    return [i for i in out if i.claim != s or i.kind == "faithful"]


def evaluate(
    items: Sequence[Item], embedder: Embedder, threshold: float, examples: int = 3
) -> dict[str, Any]:
    """Accept rates per type (faithful: kept; corruptions: accepted = missed) with examples."""
    texts = list(dict.fromkeys([i.claim for i in items] + [s for i in items for s in i.sentences]))
    vecs = dict(zip(texts, embedder.embed(texts), strict=True)) if texts else {}
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    wrong: dict[str, list[dict[str, str]]] = defaultdict(list)
    for it in items:
        svecs = np.stack([vecs[s] for s in it.sentences])
        v = verify(it.claim, vecs[it.claim], it.passage, svecs, it.sentences)
        ok = v.label == SUPPORTED and v.score >= threshold
        counts[it.kind][0] += 1
        counts[it.kind][1] += ok
        if ok != (it.kind == "faithful") and len(wrong[it.kind]) < examples:
            wrong[it.kind].append(
                {"op": it.op, "claim": it.claim, "original": it.original, "verdict": v.detail}
            )
    order = ["faithful", *ops.CORRUPTION_TYPES]
    by_type = {
        k: {
            "items": counts[k][0],
            "accepted": counts[k][1],
            "accept_rate": round(counts[k][1] / counts[k][0], 4) if counts[k][0] else 0.0,
        }
        for k in order
        if counts[k][0]
    }
    return {
        "sentences": len({i.original for i in items}),
        "items": len(items),
        "by_type": by_type,
        "errors": dict(wrong),
    }


def summary_rows(result: dict[str, Any]) -> list[tuple[str, int, float]]:
    return [(k, r["items"], r["accept_rate"]) for k, r in result["by_type"].items()]
