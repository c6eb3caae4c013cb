"""`python -m eval verify [--json]`: the verifier (citeline/verify.py) measured.

(a) SciFact claims (``../shared/data/scifact/original``, annotated by SciFact's authors): SUPPORT
    and CONTRADICT claims against their rationale sentences, NEI claims against the whole
    abstract they cite. A claim is accepted when the verifier labels it `supported` (score at
    least CITELINE_SUPPORT_THRESHOLD) against any of its documents. Reported on dev; the rules
    were chosen on train (`--split train`), never on dev.
(b) The perturbation suite (eval/perturb.py): sentences of the bundled corpus and the CDC PDFs,
    each with faithful paraphrases and corruptions of recorded type; accept rates per type.

The SciFact accept rates of the verifier without its trained reader (rules only) and of the
previous scorer (cosine + word overlap >= 0.55) are printed beside the verifier's. Writes verify.json and verify.md to --out.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from citeline.config import PROJECT_ROOT, Settings
from citeline.embeddings import Embedder, get_embedder
from citeline.text import content_words, numbers
from citeline.verify import SUPPORTED, verify

SCIFACT = PROJECT_ROOT.parent / "shared" / "data" / "scifact" / "original"
LABELS = ("SUPPORT", "CONTRADICT", "NEI")
TARGETS = {"SUPPORT": (">=", 0.60), "CONTRADICT": ("<=", 0.10), "NEI": ("<=", 0.10)}
Item = tuple[str, str, list[list[str]]]  # claim, label, one sentence list per document


def scifact_items(folder: Path, split: str) -> list[Item]:
    """(claim, label, [sentences of each document]) for one split of the original SciFact."""
    corpus = {}
    with (folder / "corpus.jsonl").open(encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            corpus[d["doc_id"]] = d["abstract"]
    items: list[Item] = []
    with (folder / f"claims_{split}.jsonl").open(encoding="utf-8") as f:
        for line in f:
            c = json.loads(line)
            if not c["evidence"]:
                docs = [corpus[d] for d in c["cited_doc_ids"] if d in corpus]
                items.append((c["claim"], "NEI", docs))
                continue
            label = next(e["label"] for ev in c["evidence"].values() for e in ev)
            docs = []
            for doc_id, ev in c["evidence"].items():
                ids = sorted({i for e in ev for i in e["sentences"]})
                docs.append([corpus[int(doc_id)][i] for i in ids])
            items.append((c["claim"], label, docs))
    return items


def legacy_support(claim: str, cvec: np.ndarray, text: str, svecs: np.ndarray) -> float:
    """The scorer before the verifier: 0.5 cosine to the best sentence + 0.5 word overlap."""
    cw = set(content_words(claim))
    if not cw or not numbers(claim) <= numbers(text):
        return 0.0
    if claim.rstrip(".").lower() in text.lower():
        return 1.0
    overlap = len(cw & set(content_words(text))) / len(cw)
    return 0.5 * max(0.0, float(np.max(svecs @ cvec))) + 0.5 * overlap


def _embed_all(embedder: Embedder, texts: Sequence[str]) -> dict[str, np.ndarray]:
    uniq = list(dict.fromkeys(texts))
    return dict(zip(uniq, embedder.embed(uniq), strict=True)) if uniq else {}


def score_items(
    items: Sequence[Item], embedder: Embedder, threshold: float
) -> dict[str, dict[str, Any]]:
    """Accept rates per label for the verifier and the legacy scorer, with verifier details."""
    vecs = _embed_all(
        embedder, [c for c, _, _ in items] + [s for *_, ds in items for d in ds for s in d]
    )
    out: dict[str, dict[str, Any]] = {}
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    details: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for claim, label, docs in items:
        ok = legacy = rules_only = False
        for sents in docs:
            text = " ".join(sents)
            svecs = np.stack([vecs[s] for s in sents]) if sents else np.zeros((0, 384), np.float32)
            v = verify(claim, vecs[claim], text, svecs, sents)
            details[label][v.detail.split(":")[0]] += 1
            ok = ok or (v.label == SUPPORTED and v.score >= threshold)
            r = verify(claim, vecs[claim], text, svecs, sents, use_model=False)
            rules_only = rules_only or (r.label == SUPPORTED and r.score >= threshold)
            legacy = legacy or legacy_support(claim, vecs[claim], text, svecs) >= threshold
        row = counts[label]
        row[0] += 1
        row[1] += ok
        row[2] += legacy
        row[3] += rules_only
    for label in LABELS:
        n, acc, leg, rul = counts[label]
        out[label] = {
            "claims": n,
            "accepted": acc,
            "accept_rate": round(acc / n, 4) if n else None,
            "legacy_accept_rate": round(leg / n, 4) if n else None,
            "rules_only_accept_rate": round(rul / n, 4) if n else None,
            "decided_by": dict(sorted(details[label].items(), key=lambda kv: -kv[1])),
        }
    return out


def run(
    split: str = "dev",
    scifact: Path = SCIFACT,
    embedder: Embedder | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    from eval import perturb

    embedder = embedder or get_embedder(Settings.from_env().embed_model)
    threshold = Settings.from_env().support_threshold
    result: dict[str, Any] = {"split": split, "threshold": threshold}
    t0 = time.perf_counter()
    if (scifact / f"claims_{split}.jsonl").is_file():
        result["scifact"] = score_items(scifact_items(scifact, split), embedder, threshold)
    else:
        result["scifact"] = None
        log(f"skipped SciFact: {scifact} not found (see ../shared/data/README.md)")
    result["perturbation"] = perturb.evaluate(perturb.suite(), embedder, threshold)
    result["seconds"] = round(time.perf_counter() - t0, 1)
    return result


def markdown(result: dict[str, Any]) -> str:
    lines = [f"# Verifier ({result['split']} split, threshold {result['threshold']})", ""]
    sf = result.get("scifact")
    if sf:
        lines += [
            "| SciFact label | claims | accepted | target | rules only | legacy scorer |",
            "|---|---|---|---|---|---|",
        ]
        for label in LABELS:
            r = sf[label]
            op, t = TARGETS[label]
            lines.append(
                f"| {label} | {r['claims']} | {r['accept_rate']:.1%} | {op} {t:.0%} "
                f"| {r['rules_only_accept_rate']:.1%} | {r['legacy_accept_rate']:.1%} |"
            )
        lines.append("")
    pt = result["perturbation"]
    lines += ["| perturbation | items | accepted | target |", "|---|---|---|---|"]
    for kind, r in pt["by_type"].items():
        target = ">= 90% kept" if kind == "faithful" else "<= 5% (rejected >= 95%)"
        lines.append(f"| {kind} | {r['items']} | {r['accept_rate']:.1%} | {target} |")
    return "\n".join(lines) + "\n"


def summary(result: dict[str, Any]) -> str:
    return markdown(result)


def write(result: dict[str, Any], out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "verify.json", out / "verify.md"]
    paths[0].write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    paths[1].write_text(markdown(result), encoding="utf-8")
    return paths
