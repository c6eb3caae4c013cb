"""Verifier latency: the claims of one answer against its 8 passages (`python -m bench.verify`).

For each of `--answers` answers, 8 chunks of the bundled corpus (consecutive chunks of one
document, the shape retrieval gives) and a draft of 8 claims citing them (a paraphrase or a
corruption of one sentence of each passage, eval/perturb_ops.py) are prepared; the time measured
is enforcement as `pipeline._enforce` runs it once the draft is embedded: `make_support_fn` +
`citations.enforce` (the verifier on every cited passage, re-attribution over the others when a
claim is rejected). Embedding the draft is the answerer's cost and is reported apart
(`verify_embed_p50_ms`). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from citeline.config import PROJECT_ROOT

PASSAGES = 8


def _answers(n: int, seed: int = 8) -> list[list[tuple[str, tuple[str, ...]]]]:
    from ingest.chunking import chunk_blocks
    from ingest.loaders import load

    rng = random.Random(seed)
    docs = []
    for path in sorted((PROJECT_ROOT / "corpus").glob("*.md")):
        if path.name == "README.md":
            continue
        doc = load(path)
        chunks = [(c.text, c.sentences) for c in chunk_blocks(doc.meta, doc.blocks)]
        if len(chunks) >= 2:
            docs.append(chunks)
    out = []
    for _ in range(n):
        picked: list[tuple[str, tuple[str, ...]]] = []
        while len(picked) < PASSAGES:
            picked += rng.choice(docs)[: PASSAGES - len(picked)]
        out.append(picked)
    return out


def _draft(passages: list[tuple[str, tuple[str, ...]]], rng: random.Random) -> list[Any]:
    from citeline.citations import DraftSentence
    from citeline.verify import abbreviations
    from eval import perturb_ops as ops

    draft = []
    for n, (text, sents) in enumerate(passages, start=1):
        s = rng.choice(sents)
        options = [c for _, c in ops.paraphrases(s, abbreviations(text))]
        options += [c for _, _, c in ops.corruptions(s, text, rng)]
        draft.append(DraftSentence(rng.choice(options or [s]), [n]))
    return draft


def measure(answers: int = 30, repeat: int = 3) -> dict[str, Any]:
    from citeline.citations import enforce, make_support_fn
    from citeline.config import Settings
    from citeline.embeddings import get_embedder

    settings = Settings.from_env()
    embedder = get_embedder(settings.embed_model)
    rng = random.Random(16)
    times: list[float] = []
    embed_times: list[float] = []
    claims = 0
    for passages in _answers(answers):
        texts = {n: t for n, (t, _) in enumerate(passages, start=1)}
        sents = {n: s for n, (_, s) in enumerate(passages, start=1)}
        svecs = {n: embedder.embed(list(s)) for n, s in sents.items()}
        draft = _draft(passages, rng)
        t0 = time.perf_counter()
        cvecs = embedder.embed([d.text for d in draft])
        embed_times.append((time.perf_counter() - t0) * 1000)
        vecs = dict(zip([d.text for d in draft], cvecs, strict=True))
        for _ in range(repeat):
            t0 = time.perf_counter()
            fn = make_support_fn(texts, svecs, vecs, sents)
            enforce(draft, list(texts), fn, settings.support_threshold)
            times.append((time.perf_counter() - t0) * 1000)
        claims += len(draft)
    times.sort()
    return {
        "verify_answers": answers,
        "verify_claims_per_answer": round(claims / answers, 1),
        "verify_passages_per_answer": PASSAGES,
        "verify_p50_ms": round(statistics.median(times), 2),
        "verify_p95_ms": round(times[int(0.95 * (len(times) - 1))], 2),
        "verify_embed_p50_ms": round(statistics.median(embed_times), 1),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.verify")
    p.add_argument("--answers", type=int, default=30)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    args = p.parse_args(argv)
    out = measure(args.answers, args.repeat)
    if args.out:
        args.out.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
