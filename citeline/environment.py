"""The process environment Citeline runs in, set in one place: offline by default (nothing may
reach a model hub, Chroma must not phone home, no tokenizer thread pools across forks).

`set_offline_defaults()` is called by every entry point (`python -m citeline`, `-m ingest`,
`-m eval`, `-m bench`, the app) and by the embedding adapter before it loads a model; a value
already in the environment always wins."""

from __future__ import annotations

import os

OFFLINE_DEFAULTS = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "ANONYMIZED_TELEMETRY": "False",
    "TOKENIZERS_PARALLELISM": "false",
}


def set_offline_defaults() -> None:
    for key, value in OFFLINE_DEFAULTS.items():
        os.environ.setdefault(key, value)
