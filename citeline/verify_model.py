"""The verifier's trained head: does the sentence a claim is aligned with entail it?

A logistic model over the alignment the verifier computes anyway (cosine of the claim to its
sentence and the share of its content words that sentence covers), trained by
`python -m train verifier` on SciFact **train** claims only (models/verifier/, with a manifest
of data hashes, parameters and the metrics reached). It decides only "entailed vs unrelated"
for claims that no rule rejects: negation, grade, direction, comparison, quantity, scope, hedge
and a new term stay with the rules (`citeline/verify.py`). NumPy only: no torch, no ONNX.

Its probability is calibrated so that the operating point chosen on train sits at
``SCORE_AT_OPERATING_POINT`` (the default CITELINE_SUPPORT_THRESHOLD): a stricter threshold
makes the head stricter too. A missing or altered file logs one warning and the verifier runs
rules only.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from citeline.config import PROJECT_ROOT

log = logging.getLogger(__name__)

MODEL_DIR = PROJECT_ROOT / "models" / "verifier"
HEAD_FILE = "head.npz"
MANIFEST_FILE = "manifest.json"
SCORE_AT_OPERATING_POINT = 0.55
# Chosen by measurement (train/verifier.py, cross-validated on SciFact train): more features
# (best cosine in the passage, words missing, general words missing, a pair of sentences) gave
# no higher accept rate of SUPPORT at the same CONTRADICT and NEI rates.
FEATURES = (
    "cosine",  # cosine of the claim to the aligned sentence(s)
    "coverage",  # share of the claim's content words the aligned sentence(s) cover
)
# Below this coverage the head does not judge (its training rows hardly reach there): at least
# a quarter of a claim's content words must be in the sentence it rests on.
MIN_COVERAGE = 0.25


@dataclass(frozen=True)
class Alignment:
    """What the verifier knows about a claim and the sentence(s) it was aligned to."""

    cosine: float
    coverage: float

    def vector(self) -> np.ndarray:
        return np.array([self.cosine, self.coverage], dtype=np.float64)


@dataclass(frozen=True)
class Head:
    """Standardise, then a logistic unit; `bias` already holds the calibration shift."""

    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    bias: float

    def probability(self, a: Alignment) -> float:
        z = float(((a.vector() - self.mean) / self.scale) @ self.weights + self.bias)
        return float(1.0 / (1.0 + np.exp(-z)))


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def save(folder: Path, head: Head, manifest: dict[str, object]) -> None:
    """Write the head and its manifest (the manifest gets the weights' SHA-256)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / HEAD_FILE
    with path.open("wb") as f:
        np.savez(
            f,
            mean=head.mean,
            scale=head.scale,
            weights=head.weights,
            bias=np.array([head.bias]),
            features=np.array(FEATURES),
        )
    manifest = {**manifest, "file": HEAD_FILE, "sha256": file_sha256(path)}
    (folder / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def load(folder: Path = MODEL_DIR) -> Head | None:
    """The head in `folder`, or None (with one warning) when it is missing, altered or was
    trained on other features: the verifier then decides by rules only."""
    path, manifest_path = folder / HEAD_FILE, folder / MANIFEST_FILE
    if not path.is_file() or not manifest_path.is_file():
        log.warning(
            "verifier model not found in %s (run `python -m train verifier`): "
            "verifying with rules only",
            folder,
        )
        return None
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    if manifest.get("sha256") != file_sha256(path):
        log.warning("verifier model %s does not match its manifest: rules only", path)
        return None
    with np.load(path, allow_pickle=False) as z:
        if tuple(str(f) for f in z["features"]) != FEATURES:
            log.warning("verifier model %s has other features: rules only", path)
            return None
        return Head(z["mean"], z["scale"], z["weights"], float(z["bias"][0]))


@lru_cache(maxsize=1)
def default_head() -> Head | None:
    """The shipped head (models/verifier/), loaded once per process."""
    return load(MODEL_DIR)
