"""An experiment: an answer reranker, a cross-encoder from the packaged MiniLM.

Not used by the answer: on the eval suites it chose worse verdicts than the rules alone, and on
MedQuAD dev it moved the verdict's source by one question in 100 (eval/README.md, "The answer
reranker experiment"). Kept so that the measurement can be repeated and the recipe improved.

`python -m train reranker [--out reports/reranker] [--seed 7] [--layers 4] [--epochs 1.5]`:

1. Training lists (train/reranker_data.py): PubMedQA questions outside its official test split,
   SciFact train claims, and MedQuAD questions outside the 300 that `python -m eval medquad`
   asks (the 200 reported and the 100 of `--split dev`); each list is one
   sentence that answers the question and `--negatives` that do not (background, objectives
   and methods of the same abstract; other answers about the same subject; then other
   questions' sentences). A seeded tenth of the questions is held out for the metrics.
2. The network (train/reranker_net.py): the packaged all-MiniLM-L6-v2's first `--layers`
   layers read question and sentence as one pair; mean pooling and a linear unit give a
   correction added to the bi-encoder's cosine of the two (times a learnt scale).
   Listwise loss: softmax cross-entropy over each list, the answer first. AdamW, linear decay.
3. `reranker.safetensors` (fp16, the trained tensors without the frozen word embeddings) and
   `manifest.json` (data hashes, commit, parameters, metrics before and after, the file's
   SHA-256) are written to `--out`.

Seeded; on two CPU cores it takes about the time printed in the manifest (`seconds`).
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path
from typing import Any

import numpy as np

from citeline.config import PROJECT_ROOT
from train.common import backward_step, commit, optimiser
from train.reranker_data import Example, build, sha256

DATA = PROJECT_ROOT.parent / "shared" / "data"
MODEL_DIR = PROJECT_ROOT / "reports" / "reranker"  # reports/ is not committed
SEED = 7
HELD_OUT = 0.1


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", type=Path, default=DATA, help="the shared data folder")
    p.add_argument("--out", type=Path, default=MODEL_DIR, help="model folder")
    p.add_argument("--seed", type=int, default=SEED)
    p.add_argument("--layers", type=int, default=4, help="transformer layers kept (1-6)")
    p.add_argument("--epochs", type=float, default=1.5)
    p.add_argument("--negatives", type=int, default=3)
    p.add_argument("--batch", type=int, default=4, help="lists per step")
    p.add_argument("--lr", type=float, default=5e-5)
    p.add_argument("--max-len", type=int, default=96)
    p.add_argument("--threads", type=int, default=2)


def _split(examples: list[Example], seed: int) -> tuple[list[Example], list[Example]]:
    """Held out by question (a question's lists stay on one side)."""
    questions = sorted({q for q, _ in examples})
    random.Random(seed).shuffle(questions)
    held = set(questions[: int(len(questions) * HELD_OUT)])
    return [e for e in examples if e[0] not in held], [e for e in examples if e[0] in held]


def _encode(tok: Any, pairs: list[tuple[str, str]], max_len: int) -> dict[str, Any]:
    return tok(
        [q for q, _ in pairs],
        [s for _, s in pairs],
        truncation="longest_first",
        max_length=max_len,
        padding=True,
        return_tensors="pt",
    )


def _scores(
    net: Any, tok: Any, examples: list[Example], max_len: int, cos: dict[str, np.ndarray]
) -> list[np.ndarray]:
    import torch

    out = []
    with torch.no_grad():
        for q, sents in examples:
            enc = _encode(tok, [(q, s) for s in sents], max_len)
            out.append(net(**enc, cosine=_cosines(cos, [(q, sents)])).numpy())
    return out


def _vectors(examples: list[Example]) -> dict[str, np.ndarray]:
    """Every question and sentence embedded by the app's embedder (the bi-encoder cosine the
    reranker corrects is the one retrieval computes)."""
    from citeline.embeddings import get_embedder

    texts = sorted({t for q, sents in examples for t in (q, *sents)})
    vecs = get_embedder("").embed(texts)
    return dict(zip(texts, vecs, strict=True))


def _cosines(vecs: dict[str, np.ndarray], batch: list[Example]) -> Any:
    import torch

    rows = [float(vecs[q] @ vecs[s]) for q, sents in batch for s in sents]
    return torch.tensor(rows, dtype=torch.float32)


def metrics(scores: list[np.ndarray]) -> dict[str, float]:
    """Top-1 accuracy and MRR of the answer (index 0) in each list."""
    ranks = [1 + int((s[1:] > s[0]).sum()) for s in scores]
    return {
        "lists": len(ranks),
        "top1": round(float(np.mean([r == 1 for r in ranks])), 4),
        "mrr": round(float(np.mean([1 / r for r in ranks])), 4),
    }


def _cosine_baseline(examples: list[Example], vecs: dict[str, np.ndarray]) -> dict[str, float]:
    """The same lists ranked by the bi-encoder's cosine (what the rules start from)."""
    return metrics([np.array([vecs[q] @ vecs[s] for s in sents]) for q, sents in examples])


def run(args: argparse.Namespace) -> int:
    import torch
    from safetensors.torch import save_file
    from transformers import AutoTokenizer

    from citeline.packaged_model import packaged_model_path
    from train.reranker_net import Reranker

    started = time.time()
    torch.manual_seed(args.seed)
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.set_num_threads(args.threads)
    pubmedqa, medquad = args.data / "pubmedqa", args.data / "medquad" / "medquad_subset.jsonl"
    scifact = args.data / "scifact" / "original"
    examples = build(args.data, args.seed, args.negatives)
    train, held = _split(examples, args.seed)
    print(f"{len(examples)} lists: {len(train)} train, {len(held)} held out")
    model_dir = packaged_model_path()
    tok = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
    net = Reranker(model_dir, args.layers)
    vecs = _vectors(examples)
    print(f"{len(vecs)} texts embedded, {time.time() - started:.0f}s", flush=True)
    before = {
        "cosine": _cosine_baseline(held, vecs),
        "untrained": metrics(_scores(net.eval(), tok, held, args.max_len, vecs)),
    }
    print("before", before)
    steps = max(1, int(len(train) * args.epochs) // args.batch)
    opt, sched, params = optimiser(net, args.lr, steps)
    net.train()
    order = [train[i % len(train)] for i in range(steps * args.batch)]
    loss_sum = 0.0
    for step in range(steps):
        batch = order[step * args.batch : (step + 1) * args.batch]
        pairs = [(q, s) for q, sents in batch for s in sents]
        enc = _encode(tok, pairs, args.max_len)
        logits = net(**enc, cosine=_cosines(vecs, batch)).view(len(batch), -1)
        loss = torch.nn.functional.cross_entropy(logits, torch.zeros(len(batch), dtype=torch.long))
        loss_sum += backward_step(loss, opt, sched, params)
        if (step + 1) % 50 == 0 or step + 1 == steps:
            print(
                f"step {step + 1}/{steps} loss {loss_sum / 50:.4f} "
                f"scale {float(net.cosine_scale):.2f} {time.time() - started:.0f}s",
                flush=True,
            )
            loss_sum = 0.0
    net.eval()
    after = metrics(_scores(net, tok, held, args.max_len, vecs))
    print("after", after)
    args.out.mkdir(parents=True, exist_ok=True)
    weights = args.out / "reranker.safetensors"
    save_file(net.trained_state(), str(weights))
    manifest = {
        "model": "answer reranker: cross-encoder from all-MiniLM-L6-v2 (packaged), mean pooling, linear head",
        "command": f"python -m train reranker --seed {args.seed}",
        "commit": commit(),
        "weights": {"file": weights.name, "sha256": sha256(weights), "dtype": "float16"},
        "data": {
            "pubmedqa/ori_pqal.json": sha256(pubmedqa / "ori_pqal.json"),
            "pubmedqa/test_ground_truth.json (excluded)": sha256(pubmedqa / "test_ground_truth.json"),
            "medquad/medquad_subset.jsonl": sha256(medquad),
            "scifact/original/claims_train.jsonl": sha256(scifact / "claims_train.jsonl"),
            "scifact/original/corpus.jsonl": sha256(scifact / "corpus.jsonl"),
            "splits": "PubMedQA: the 500 questions outside test_ground_truth.json; SciFact: train claims only; MedQuAD: the 285 answers outside the 200 eval.medquad asks and the next 100 (dev, for the blend weight)",
        },
        "parameters": {
            "seed": args.seed, "layers": args.layers, "epochs": args.epochs,
            "negatives": args.negatives, "batch": args.batch, "lr": args.lr,
            "max_len": args.max_len, "steps": steps, "held_out": HELD_OUT,
            "frozen": "word embeddings (read from the packaged model at load)",
        },
        "metrics": {"held_out_before": before, "held_out_after": after, "train_lists": len(train)},
        "seconds": round(time.time() - started, 1),
        "threads": args.threads,
    }  # fmt: skip
    (args.out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    print(json.dumps(manifest["metrics"]))
    return 0
