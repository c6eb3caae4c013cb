"""Errors meant for people: each message says what went wrong and what to do."""

from __future__ import annotations


class CitelineError(Exception):
    """Base of every error shown to a user (the app uses st.error, the CLIs one line + exit code)."""

    exit_code = 1


class ConfigError(CitelineError):
    """A setting is missing or invalid."""

    exit_code = 2


class IndexMissingError(CitelineError):
    """No index exists yet under CITELINE_HOME."""


class StoreUnavailableError(CitelineError):
    """The Chroma server or the index folder cannot be used."""


class ChromaServerError(StoreUnavailableError):
    """The Chroma server named by CITELINE_CHROMA_URL cannot be reached or failed a request."""

    def __init__(self, url: str, message: str) -> None:
        super().__init__(message)
        self.url = url


class ChromaCredentialsError(ChromaServerError):
    """The Chroma server (or the authenticating proxy in front of it) refused the credentials:
    HTTP 401/403. The message names the URL (masked) and the settings to check, never a secret."""

    def __init__(self, url: str, message: str, status: int) -> None:
        super().__init__(url, message)
        self.status = status


class IngestLockedError(CitelineError):
    """Another ingest holds the writer lock."""


class LoaderError(CitelineError):
    """One input file cannot be read; the message names the reason."""


class UploadTooLargeError(CitelineError):
    """An uploaded file is over CITELINE_MAX_UPLOAD_MB; nothing of it was kept."""


class LLMError(CitelineError):
    """The language model gave no usable answer (unreachable, timeout, unusable output);
    `reason` is the short why shown to users. The pipeline falls back to the extractive answer
    with a notice."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
