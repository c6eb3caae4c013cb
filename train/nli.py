"""The verifier's reader (citeline/verify_nli.py): a cross-encoder from SciFact train claims only.

`python -m train nli [--scifact DIR] [--out models/verifier] [--seed 16] [--epochs 5]`:

1. SciFact **train** claims (``../shared/data/scifact/original/claims_train.jsonl``; dev and
   test are never read), split by claim (seeded): a fifth is held out to choose the operating
   point, the rest trains. Pairs (train/nli_data.py): each claim with its rationale sentences
   (entailed or contradicted, as annotated), and with the sentences of its cited abstracts
   that share most words with it but are no rationale (neither).
2. The network: the packaged all-MiniLM-L6-v2 reads claim and evidence as one BERT pair, mean
   pooling, a linear layer to three logits; class-weighted cross-entropy, AdamW, linear decay,
   batches of similar length. The word embeddings stay frozen at the packaged model's values.
3. Operating point: on the held-out claims, the verifier as the product runs it (rules first,
   the reader only for the claims they leave open) accepts claims at each probability
   threshold; of the thresholds at which at most MAX_CONTRADICT of CONTRADICT and MAX_NEI of
   NEI claims are accepted, the one with the most SUPPORT accepted beyond CONTRADICT and NEI is
   kept (of equals, the strictest).
4. `nli.safetensors` (fp16, the tensors training changed) and `nli.json` (data hashes,
   commit, parameters, held-out accept rates, the file's SHA-256) are written to --out.

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

from citeline import verify_nli
from citeline.config import PROJECT_ROOT
from train.common import backward_step, commit, optimiser
from train.nli_data import Pair, held_out_claims, load, pairs_for

SCIFACT = PROJECT_ROOT.parent / "shared" / "data" / "scifact" / "original"
SEED = 16
HELD_OUT = 0.2
MAX_CONTRADICT = 0.08  # the ceiling is 10%: a margin for claims not seen
MAX_NEI = 0.08
THRESHOLDS = tuple(round(0.3 + 0.025 * i, 3) for i in range(27))  # 0.3 .. 0.95


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--scifact", type=Path, default=SCIFACT, help="original SciFact folder")
    p.add_argument("--out", type=Path, default=verify_nli.MODEL_DIR, help="model folder")
    p.add_argument("--seed", type=int, default=SEED)
    p.add_argument("--epochs", type=float, default=5.0)
    p.add_argument("--lr", type=float, default=8e-5)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--max-len", type=int, default=128)
    p.add_argument("--threads", type=int, default=2)


def _batches(pairs: list[Pair], steps: int, size: int, rng: random.Random) -> list[list[Pair]]:
    """`steps` batches over shuffled epochs; within 32 batches, pairs of similar length."""
    order: list[Pair] = []
    while len(order) < steps * size:
        epoch = list(pairs)
        rng.shuffle(epoch)
        order += epoch
    order = order[: steps * size]
    out = []
    for i in range(0, len(order), 32 * size):
        group = sorted(order[i : i + 32 * size], key=lambda p: len(p[0]) + len(p[1]))
        out += [group[j : j + size] for j in range(0, len(group), size)]
    rng.shuffle(out)
    return out


def run(args: argparse.Namespace) -> int:
    import torch
    from safetensors.torch import save_file
    from transformers import AutoTokenizer

    from citeline.packaged_model import packaged_model_path
    from train.nli_net import Reader

    if not (args.scifact / "claims_train.jsonl").is_file():
        print(f"SciFact train claims not found in {args.scifact} (see ../shared/data/README.md)")
        return 1
    started = time.time()
    torch.manual_seed(args.seed)
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.set_num_threads(args.threads)
    corpus, claims = load(args.scifact, "train")
    held = held_out_claims(claims, HELD_OUT, args.seed)
    rng = random.Random(args.seed)
    pairs = [p for c in claims if c["id"] not in held for p in pairs_for(c, corpus)]
    counts = np.bincount([p[2] for p in pairs], minlength=3)
    print(f"{len(pairs)} pairs from {len(claims) - len(held)} claims {counts.tolist()}", flush=True)
    model_dir = packaged_model_path()
    tok = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
    net = Reader(model_dir)
    weight = torch.tensor(len(pairs) / (3 * counts), dtype=torch.float32)
    steps = max(1, int(len(pairs) * args.epochs) // args.batch)
    opt, sched, params = optimiser(net, args.lr, steps)
    net.train()
    loss_sum = 0.0
    for step, batch in enumerate(_batches(pairs, steps, args.batch, rng)):
        enc = tok([c for c, _, _ in batch], [e for _, e, _ in batch], truncation="longest_first",
                  max_length=args.max_len, padding=True, return_tensors="pt")  # fmt: skip
        logits = net(**enc)
        target = torch.tensor([y for _, _, y in batch])
        loss = torch.nn.functional.cross_entropy(logits, target, weight=weight)
        loss_sum += backward_step(loss, opt, sched, params)
        if (step + 1) % 50 == 0 or step + 1 == steps:
            print(f"step {step + 1}/{steps} loss {loss_sum / 50:.4f} "
                  f"{time.time() - started:.0f}s", flush=True)  # fmt: skip
            loss_sum = 0.0
    state = net.trained_state()
    net.load_state_dict({k: v.float() for k, v in state.items()}, strict=False)  # as shipped
    net.eval()
    from train.nli_select import accept_rates, choose

    held_items = [c for c in claims if c["id"] in held]
    rates = accept_rates(held_items, corpus, net, tok, args.max_len, THRESHOLDS)
    threshold = choose(rates, MAX_CONTRADICT, MAX_NEI)
    print("held out:", json.dumps(rates[threshold]), "at", threshold, flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    weights = args.out / verify_nli.WEIGHTS_FILE
    save_file(state, str(weights))
    manifest: dict[str, Any] = {
        "model": "verifier reader: cross-encoder from all-MiniLM-L6-v2 (packaged), mean pooling, linear head to entailed / contradicted / neither",
        "command": f"python -m train nli --seed {args.seed}",
        "commit": commit(),
        "weights": {"file": weights.name, "sha256": verify_nli.file_sha256(weights), "dtype": "float16"},
        "data": {
            "scifact/original/claims_train.jsonl": verify_nli.file_sha256(args.scifact / "claims_train.jsonl"),
            "scifact/original/corpus.jsonl": verify_nli.file_sha256(args.scifact / "corpus.jsonl"),
            "splits": f"SciFact train claims only; {len(held)} of {len(claims)} held out (seeded) to choose the threshold",
        },
        "parameters": {
            "seed": args.seed, "epochs": args.epochs, "lr": args.lr, "batch": args.batch,
            "max_len": args.max_len, "steps": steps, "held_out": HELD_OUT, "pairs": counts.tolist(),
            "max_contradict": MAX_CONTRADICT, "max_nei": MAX_NEI, "threshold": threshold,
            "frozen": "word embeddings (the packaged model's, merged back at load)",
        },
        "metrics": {"held_out_accept_rates": rates[threshold], "by_threshold": rates},
        "seconds": round(time.time() - started, 1),
        "threads": args.threads,
    }  # fmt: skip
    (args.out / verify_nli.MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n")
    return 0
