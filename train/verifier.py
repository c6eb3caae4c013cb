"""The verifier's head (citeline/verify_model.py), from SciFact train claims only.

`python -m train verifier [--scifact DIR] [--out models/verifier] [--seed 16]`:

1. SciFact **train** claims (``../shared/data/scifact/original/claims_train.jsonl``): SUPPORT
   and CONTRADICT claims against their rationale sentences, NEI claims against the abstracts
   they cite (the same items `python -m eval verify --split train` scores). Dev and test are
   never read.
2. Each claim is embedded with the app's embedder and judged by the rules; the (claim, document)
   pairs the rules leave open (no rule rejects them, but they are unaligned or bring a word the
   sentence lacks) become rows of alignment features, labelled 1 for SUPPORT, 0 otherwise.
3. A logistic regression (class-balanced, L2) is fitted; the operating point is chosen by
   5-fold cross-validation over claims (grouped, seeded): the probability at which at most
   MAX_CONTRADICT of CONTRADICT and MAX_NEI of NEI claims are accepted (the claims the rules
   accept counted too) and SUPPORT minus CONTRADICT minus NEI accept rates is highest. The final fit on all rows is shifted so that this point sits at
   probability 0.55 (verify_model.SCORE_AT_OPERATING_POINT).
4. head.npz and manifest.json (data hashes, commit, parameters, metrics reached) are written.

Runs in about two minutes on two cores (embedding the claims is most of it).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from citeline import verify_model
from citeline.config import PROJECT_ROOT, Settings

SCIFACT = PROJECT_ROOT.parent / "shared" / "data" / "scifact" / "original"
SEED = 16
FOLDS = 5
C_REGULARISATION = 1.0
MAX_CONTRADICT = 0.08  # the ceiling is 10%: a margin for claims not seen in training
MAX_NEI = 0.05
Row = tuple[int, int, np.ndarray]  # claim index, label (1 SUPPORT), features


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--scifact", type=Path, default=SCIFACT, help="original SciFact folder")
    p.add_argument("--out", type=Path, default=verify_model.MODEL_DIR, help="model folder")
    p.add_argument("--seed", type=int, default=SEED)


def rows_for(
    items: Sequence[tuple[str, str, list[list[str]]]], vecs: dict[str, np.ndarray]
) -> tuple[list[Row], dict[int, bool]]:
    """Feature rows of the pairs the rules leave open, and per claim whether the rules accept
    it against one of its documents."""
    from citeline.verify import SUPPORTED, analyse

    rows: list[Row] = []
    ruled: dict[int, bool] = defaultdict(bool)
    threshold = verify_model.SCORE_AT_OPERATING_POINT
    for i, (claim, label, docs) in enumerate(items):
        for sents in docs:
            svecs = np.stack([vecs[s] for s in sents])
            v, align = analyse(claim, vecs[claim], " ".join(sents), svecs, sents)
            ruled[i] |= v.label == SUPPORTED and v.score >= threshold
            if align is not None:
                rows.append((i, int(label == "SUPPORT"), align.vector()))
    return rows, ruled


def _fit(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    from sklearn.linear_model import LogisticRegression

    mean, scale = x.mean(0), x.std(0)
    scale[scale == 0] = 1.0
    m = LogisticRegression(C=C_REGULARISATION, class_weight="balanced", max_iter=5000)
    m.fit((x - mean) / scale, y)
    return mean, scale, m.coef_[0].astype(np.float64), float(m.intercept_[0])


def _prob(x: np.ndarray, fit: tuple[np.ndarray, np.ndarray, np.ndarray, float]) -> np.ndarray:
    mean, scale, w, b = fit
    return 1.0 / (1.0 + np.exp(-(((x - mean) / scale) @ w + b)))


def rates(
    labels: Sequence[str], rows: list[Row], p: np.ndarray, ruled: dict[int, bool], t: float
) -> dict[str, float]:
    """Claim-level accept rates per SciFact label when the head accepts at probability t."""
    accepted = {i: ruled[i] for i in range(len(labels))}
    for (i, _, _), q in zip(rows, p, strict=True):
        accepted[i] = accepted[i] or q >= t
    out = {}
    for lab in ("SUPPORT", "CONTRADICT", "NEI"):
        ids = [i for i, x in enumerate(labels) if x == lab]
        out[lab] = round(sum(accepted[i] for i in ids) / len(ids), 4) if ids else 0.0
    return out


def operating_point(
    labels: Sequence[str], rows: list[Row], p: np.ndarray, ruled: dict[int, bool]
) -> tuple[float, dict[str, float]]:
    """The probability whose accept rates keep CONTRADICT and NEI under their ceilings and gain
    most SUPPORT over CONTRADICT and NEI together (SUPPORT - CONTRADICT - NEI, highest first):
    the head accepts only where it adds more supported claims than it lets others through."""
    best: tuple[float, float, dict[str, float]] | None = None
    for t in np.round(np.arange(0.30, 1.00, 0.01), 2):
        r = rates(labels, rows, p, ruled, float(t))
        if r["CONTRADICT"] > MAX_CONTRADICT or r["NEI"] > MAX_NEI:
            continue
        gain = r["SUPPORT"] - r["CONTRADICT"] - r["NEI"]
        if best is None or gain > best[0] + 1e-9:
            best = (gain, float(t), r)
    if best is None:
        return 1.0, rates(labels, rows, p, ruled, 1.0)
    return best[1], best[2]


def cross_validated(rows: list[Row], n_claims: int, seed: int) -> np.ndarray:
    """Out-of-fold probabilities, folds drawn over claims (seeded)."""
    fold = np.random.default_rng(seed).integers(0, FOLDS, size=n_claims)
    x = np.stack([r[2] for r in rows])
    y = np.array([r[1] for r in rows])
    g = np.array([fold[r[0]] for r in rows])
    p = np.zeros(len(rows))
    for k in range(FOLDS):
        fit = _fit(x[g != k], y[g != k])
        p[g == k] = _prob(x[g == k], fit)
    return p


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True
        )
        return out.stdout.strip() or "unknown"
    except OSError:
        return "unknown"


def train(scifact: Path, out: Path, seed: int) -> dict[str, Any]:
    from citeline.embeddings import get_embedder
    from eval.verify import scifact_items

    t0 = time.perf_counter()
    items = scifact_items(scifact, "train")
    texts = list(
        dict.fromkeys([c for c, _, _ in items] + [s for *_, d in items for x in d for s in x])
    )
    embedder = get_embedder(Settings.from_env().embed_model)
    vecs = dict(zip(texts, embedder.embed(texts), strict=True))
    rows, ruled = rows_for(items, vecs)
    labels = [lab for _, lab, _ in items]
    t, cv_rates = operating_point(labels, rows, cross_validated(rows, len(items), seed), ruled)
    x = np.stack([r[2] for r in rows])
    mean, scale, w, b = _fit(x, np.array([r[1] for r in rows]))
    target = verify_model.SCORE_AT_OPERATING_POINT
    shift = np.log(target / (1 - target)) - np.log(t / (1 - t))
    head = verify_model.Head(mean, scale, w, b + float(shift))
    fit_rates = rates(labels, rows, _prob(x, (mean, scale, w, b)), ruled, t)
    manifest = {
        "model": "verifier head: logistic regression over alignment features",
        "features": list(verify_model.FEATURES),
        "command": f"python -m train verifier --seed {seed}",
        "commit": _commit(),
        "data": {
            name: {"sha256": _sha256(scifact / name)}
            for name in ("claims_train.jsonl", "corpus.jsonl")
        },
        "parameters": {
            "seed": seed,
            "folds": FOLDS,
            "C": C_REGULARISATION,
            "class_weight": "balanced",
            "max_contradict": MAX_CONTRADICT,
            "max_nei": MAX_NEI,
            "operating_probability": t,
            "calibrated_to": target,
        },
        "metrics": {
            "claims": len(items),
            "rows": len(rows),
            "support_rows": int(sum(r[1] for r in rows)),
            "cross_validated_accept_rates": cv_rates,
            "train_fit_accept_rates": fit_rates,
        },
        "seconds": round(time.perf_counter() - t0, 1),
    }
    verify_model.save(out, head, manifest)
    return manifest


def run(args: argparse.Namespace) -> int:
    if not (args.scifact / "claims_train.jsonl").is_file():
        print(f"SciFact train claims not found in {args.scifact} (see ../shared/data/README.md)")
        return 1
    manifest = train(args.scifact, args.out, args.seed)
    print(json.dumps(manifest["metrics"], indent=2))
    print(f"wrote {args.out / verify_model.HEAD_FILE} ({manifest['seconds']} s)")
    return 0
