"""The verifier's trained reader (citeline/verify_nli.py, `python -m train nli`): the shipped
weights match their manifest, run offline through ONNX without torch in the process and agree
with the training network, a missing or altered file means rules only, and the reader never
overrides a contradiction or overstatement rule."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from citeline import verify_nli
from citeline.config import PROJECT_ROOT
from citeline.verify import NOT_FOUND, SUPPORTED, analyse, verify, with_reader
from train.__main__ import main as train_main

MANIFEST = verify_nli.MODEL_DIR / verify_nli.MANIFEST_FILE
WEIGHTS = verify_nli.MODEL_DIR / verify_nli.WEIGHTS_FILE
SCIFACT = PROJECT_ROOT.parent / "shared" / "data" / "scifact" / "original"
TRIAL = (
    "In this randomised trial of 400 adults, daily walking lowered systolic blood pressure by "
    "5 mmHg compared with usual care."
)
PAIRS = [
    ("Walking every day lowers blood pressure.", TRIAL),
    ("Daily walking has no effect on blood pressure.", TRIAL),
]


def test_shipped_weights_match_their_manifest() -> None:
    manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
    assert manifest["weights"]["file"] == WEIGHTS.name
    assert verify_nli.file_sha256(WEIGHTS) == manifest["weights"]["sha256"]
    assert WEIGHTS.stat().st_size < 50 * 1024 * 1024
    assert manifest["command"].startswith("python -m train nli")
    assert len(manifest["commit"]) == 40
    params, held = manifest["parameters"], manifest["metrics"]["held_out_accept_rates"]
    assert 0.0 < params["threshold"] < 1.0
    assert held["CONTRADICT"] <= params["max_contradict"] and held["NEI"] <= params["max_nei"]
    assert verify_nli.read_manifest() is not None


def test_the_manifest_names_the_scifact_train_files_it_was_trained_on() -> None:
    if not (SCIFACT / "claims_train.jsonl").is_file():
        pytest.skip(f"SciFact not found in {SCIFACT} (see ../shared/data/README.md)")
    data = json.loads(MANIFEST.read_text(encoding="utf-8"))["data"]
    for name in ("claims_train.jsonl", "corpus.jsonl"):
        assert verify_nli.file_sha256(SCIFACT / name) == data[f"scifact/original/{name}"], name
    assert not any("dev" in k or "test" in k for k in data)


def test_the_reader_runs_offline_without_torch_and_matches_training(tmp_path: Path) -> None:
    code = (
        "import sys, json; from pathlib import Path; from citeline import verify_nli as m; "
        f"r = m.Reader(cache=Path({str(tmp_path)!r})); "
        f"print(json.dumps(r.probabilities({PAIRS!r}).tolist())); "
        "assert 'torch' not in sys.modules"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600
    )
    assert out.returncode == 0, out.stderr
    got = np.array(json.loads(out.stdout.strip().splitlines()[-1]))
    assert got.shape == (2, 3) and np.allclose(got.sum(axis=1), 1.0, atol=1e-4)
    import torch
    from safetensors.torch import load_file
    from transformers import AutoTokenizer

    from citeline.packaged_model import packaged_model_path
    from train.nli_net import Reader

    net = Reader(packaged_model_path())
    net.load_state_dict({k: v.float() for k, v in load_file(str(WEIGHTS)).items()}, strict=False)
    net.eval()
    tok = AutoTokenizer.from_pretrained(str(packaged_model_path()), local_files_only=True)
    enc = tok([c for c, _ in PAIRS], [e for _, e in PAIRS], truncation="longest_first",
              max_length=128, padding=True, return_tensors="pt")  # fmt: skip
    with torch.no_grad():
        want = torch.softmax(net(**enc), -1).numpy()
    assert np.abs(got - want).max() < 2e-3
    # The finding reads as more entailed than its negation.
    assert got[0, verify_nli.ENTAILED] > got[1, verify_nli.ENTAILED]


def test_a_missing_or_altered_file_means_rules_only(tmp_path: Path, caplog) -> None:  # type: ignore[no-untyped-def]
    with caplog.at_level(logging.WARNING, logger="citeline.verify_nli"):
        assert verify_nli.read_manifest(tmp_path) is None
    assert "not found" in caplog.text and "rules only" in caplog.text
    for f in (WEIGHTS, MANIFEST):
        shutil.copy2(f, tmp_path / f.name)
    assert verify_nli.read_manifest(tmp_path) is not None
    with (tmp_path / WEIGHTS.name).open("ab") as fh:
        fh.write(b"\0")
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="citeline.verify_nli"):
        assert verify_nli.read_manifest(tmp_path) is None
    assert "does not match its manifest" in caplog.text


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


class _Always:
    """A reader that finds every claim entailed."""

    threshold = 0.5

    def entailment(self, claim: str, evidence: str) -> float:
        return 1.0


def test_the_reader_judges_only_what_the_rules_leave_open(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    passage = "Probiotics improve global symptoms in people with irritable bowel syndrome."
    rng = np.random.default_rng(0)
    svec = _unit(rng.normal(size=384)).reshape(1, -1)
    cvec = _unit(svec[0] + 0.6 * _unit(rng.normal(size=384)))
    open_claim = (
        "Probiotics ease the daily discomfort felt by those living with irritable bowel syndrome."
    )
    ruled, evidence = analyse(open_claim, cvec, passage, svec, [passage])
    assert ruled.label == NOT_FOUND and evidence == passage
    monkeypatch.setattr(verify_nli, "default_reader", lambda: _Always())
    got = verify(open_claim, cvec, passage, svec, [passage])
    assert got.label == SUPPORTED and got.detail == "reader" and got.score == 1.0
    for closed in (
        "Probiotics do not improve global symptoms in people with irritable bowel syndrome.",
        "Probiotics worsen global symptoms in people with irritable bowel syndrome.",
        "Probiotics improve global symptoms in all people with irritable bowel syndrome.",
        "Rifaximin improves global symptoms in people with irritable bowel syndrome.",
        "Probiotics improve global symptoms in children with irritable bowel syndrome.",
        "Probiotics cure irritable bowel syndrome in three of four people.",
    ):
        _, evidence = analyse(closed, cvec, passage, svec, [passage])
        assert evidence is None, closed
        assert verify(closed, cvec, passage, svec, [passage]).label != SUPPORTED, closed
    monkeypatch.setattr(verify_nli, "default_reader", lambda: None)
    assert verify(open_claim, cvec, passage, svec, [passage]) == ruled


def test_the_reader_score_follows_the_support_threshold() -> None:
    ruled, _ = analyse("Probiotics ease discomfort.", None, "Probiotics help.", None, None)
    at = verify_nli.SCORE_AT_OPERATING_POINT
    assert with_reader(ruled, 0.6, 0.6).score == pytest.approx(at)
    assert with_reader(ruled, 0.8, 0.6).score > at
    assert with_reader(ruled, 0.59, 0.6) == ruled
    assert with_reader(ruled, None, 0.6) == ruled


def test_train_nli_without_scifact_says_so(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert train_main(["nli", "--scifact", str(tmp_path), "--out", str(tmp_path)]) == 1
    assert "SciFact train claims not found" in capsys.readouterr().out
    assert not (tmp_path / verify_nli.WEIGHTS_FILE).exists()
