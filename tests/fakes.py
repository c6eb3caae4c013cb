"""Hand-written fakes for unit tests of logic (never a substitute for the integration tests)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

from citeline.text import content_words


class HashEmbedder:
    """Bag of content-word stems hashed into 64 dimensions, L2-normalised: texts sharing words
    are similar, which is all the retrieval and answer logic needs in a unit test."""

    name = "hash-embedder"
    dim = 64

    def __init__(self) -> None:
        self.calls = 0
        self.texts = 0

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        self.texts += len(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            for w in content_words(t):
                h = int(hashlib.md5(w.encode()).hexdigest(), 16)
                out[i, h % self.dim] += 1.0
            n = np.linalg.norm(out[i])
            if n:
                out[i] /= n
        return out


class FailingChatModel:
    """A chat model whose server never answers: `invoke` and `stream` raise `exc`."""

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc
        self.calls = 0

    def invoke(self, messages: object) -> object:
        self.calls += 1
        raise self.exc

    def stream(self, messages: object) -> object:
        self.calls += 1
        raise self.exc
