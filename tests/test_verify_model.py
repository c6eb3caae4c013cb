"""The verifier's trained head (citeline/verify_model.py, `python -m train verifier`): the shipped
weights match their manifest, load offline without torch, a missing file means rules only, and
the head never overrides a rule."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from citeline import verify_model
from citeline.config import PROJECT_ROOT
from citeline.verify import NOT_FOUND, SUPPORTED, analyse, verify
from train.__main__ import main as train_main

MANIFEST = verify_model.MODEL_DIR / verify_model.MANIFEST_FILE
SCIFACT = PROJECT_ROOT.parent / "shared" / "data" / "scifact" / "original"


def test_shipped_weights_match_their_manifest() -> None:
    manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
    path = verify_model.MODEL_DIR / manifest["file"]
    assert verify_model.file_sha256(path) == manifest["sha256"]
    assert tuple(manifest["features"]) == verify_model.FEATURES
    assert manifest["command"].startswith("python -m train verifier")
    assert set(manifest["data"]) == {"claims_train.jsonl", "corpus.jsonl"}
    assert all(len(d["sha256"]) == 64 for d in manifest["data"].values())
    assert len(manifest["commit"]) == 40
    cv = manifest["metrics"]["cross_validated_accept_rates"]
    assert cv["CONTRADICT"] <= manifest["parameters"]["max_contradict"]
    assert cv["NEI"] <= manifest["parameters"]["max_nei"]
    assert path.stat().st_size < 50 * 1024 * 1024
    head = verify_model.load()
    assert head is not None and head.weights.shape == (len(verify_model.FEATURES),)


def test_the_manifest_names_the_scifact_train_file_it_was_trained_on() -> None:
    if not (SCIFACT / "claims_train.jsonl").is_file():
        pytest.skip(f"SciFact not found in {SCIFACT} (see ../shared/data/README.md)")
    manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
    for name, entry in manifest["data"].items():
        assert verify_model.file_sha256(SCIFACT / name) == entry["sha256"], name


def test_the_head_loads_offline_without_torch() -> None:
    code = (
        "import sys; from citeline import verify_model as m; "
        "assert m.load() is not None; assert 'torch' not in sys.modules; print('ok')"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_a_missing_or_altered_file_means_rules_only(tmp_path: Path, caplog) -> None:  # type: ignore[no-untyped-def]
    with caplog.at_level(logging.WARNING, logger="citeline.verify_model"):
        assert verify_model.load(tmp_path) is None
    assert "not found" in caplog.text and "rules only" in caplog.text
    for name in (verify_model.HEAD_FILE, verify_model.MANIFEST_FILE):
        (tmp_path / name).write_bytes((verify_model.MODEL_DIR / name).read_bytes())
    assert verify_model.load(tmp_path) is not None
    with (tmp_path / verify_model.HEAD_FILE).open("ab") as f:
        f.write(b"\0")
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="citeline.verify_model"):
        assert verify_model.load(tmp_path) is None
    assert "does not match its manifest" in caplog.text


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


def test_the_head_judges_only_what_the_rules_leave_open(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    passage = "Probiotics improve global symptoms in people with irritable bowel syndrome."
    rng = np.random.default_rng(0)
    svec = _unit(rng.normal(size=384)).reshape(1, -1)
    cvec = _unit(svec[0] + 0.6 * _unit(rng.normal(size=384)))
    open_claim = (
        "Probiotics ease the daily discomfort felt by those living with irritable bowel syndrome."
    )
    ruled, align = analyse(open_claim, cvec, passage, svec, [passage])
    assert ruled.label == NOT_FOUND and align is not None
    # A head that accepts everything: it may only turn what the rules left open into supported.
    always = verify_model.Head(np.zeros(2), np.ones(2), np.zeros(2), 10.0)
    monkeypatch.setattr(verify_model, "default_head", lambda: always)
    assert verify(open_claim, cvec, passage, svec, [passage]).detail == "model"
    for closed in (
        "Probiotics do not improve global symptoms in people with irritable bowel syndrome.",
        "Probiotics worsen global symptoms in people with irritable bowel syndrome.",
        "Probiotics improve global symptoms in all people with irritable bowel syndrome.",
        "Rifaximin improves global symptoms in people with irritable bowel syndrome.",
        "Probiotics improve global symptoms in children with irritable bowel syndrome.",
    ):
        _, align = analyse(closed, cvec, passage, svec, [passage])
        assert align is None, closed
        assert verify(closed, cvec, passage, svec, [passage]).label != SUPPORTED, closed
    monkeypatch.setattr(verify_model, "default_head", lambda: None)
    assert verify(open_claim, cvec, passage, svec, [passage]) == ruled


def test_train_verifier_without_scifact_says_so(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert train_main(["verifier", "--scifact", str(tmp_path), "--out", str(tmp_path)]) == 1
    assert "SciFact train claims not found" in capsys.readouterr().out
    assert not (tmp_path / verify_model.HEAD_FILE).exists()
