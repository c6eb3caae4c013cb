"""The chromadb client of server mode: CITELINE_CHROMA_URL and its credentials
(CITELINE_CHROMA_TOKEN, _TOKEN_HEADER, _TENANT, _DATABASE) to an `HttpClient`, or a
`CloudClient` for Chroma Cloud, and chromadb's failures to one-line errors.

Chroma 1.x servers do not authenticate by themselves: a proxy in front of `chroma run` checks a
token (`Authorization: Bearer ...` or `X-Chroma-Token`), or HTTP basic auth from a user:password
in the URL. Secrets travel only in request headers: never in a message, a log line, a file name
or the URL chromadb is given, and an error built from a server's text is scrubbed of them. A URL
is shown with its user:password masked (`config.mask_url`).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlparse, urlunparse

from citeline.config import Settings, mask_url
from citeline.errors import ChromaCredentialsError, ChromaServerError, ConfigError


def _one_line(exc: BaseException) -> str:
    """The most specific message in an exception chain, on one line (for ChromaServerError)."""
    seen: list[BaseException] = []
    e: BaseException | None = exc
    while e is not None and e not in seen:
        seen.append(e)
        e = e.__cause__ or e.__context__
    for cand in reversed(seen):  # the root cause (e.g. "[Errno 111] Connection refused") first
        text = " ".join(str(cand).split())
        if text:
            return text[:300]
    return exc.__class__.__name__


@dataclass(frozen=True)
class Endpoint:
    """How to reach the Chroma server of CITELINE_CHROMA_URL (built by `endpoint`). `url` is the
    URL as it may be shown (user:password masked); secrets are in `headers` and `token` only."""

    url: str
    cloud: bool  # Chroma Cloud: chromadb.CloudClient with the token as its API key
    host: str  # the host name, or the whole URL (no user:password) behind a path prefix
    port: int
    ssl: bool
    tenant: str
    database: str
    header: str
    headers: dict[str, str] = field(repr=False)
    token: str = field(repr=False)

    def secrets(self) -> list[str]:
        return [s for s in (self.token, *self.headers.values()) if s]


CLOUD_DOMAIN = "trychroma.com"  # Chroma Cloud's API: https://api.trychroma.com


def endpoint(settings: Settings) -> Endpoint:
    """Client parameters from CITELINE_CHROMA_URL, _TOKEN, _TOKEN_HEADER, _TENANT, _DATABASE
    (ConfigError naming the variable when they do not fit)."""
    url = settings.chroma_url.strip()
    shown = mask_url(url)
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ConfigError(
            f"CITELINE_CHROMA_URL={shown!r} is not an http(s) URL such as http://127.0.0.1:8000"
        )
    try:
        port = parsed.port
    except ValueError:
        raise ConfigError(f"CITELINE_CHROMA_URL={shown!r} has an invalid port") from None
    token, header = settings.chroma_token, settings.chroma_token_header
    bearer = header.lower() == "authorization"
    headers: dict[str, str] = {}
    if "@" in parsed.netloc:  # user:password in the URL: HTTP basic auth, sent as a header
        if token and bearer:
            raise ConfigError(
                f"CITELINE_CHROMA_URL={shown!r} has a user:password and CITELINE_CHROMA_TOKEN "
                "is set for the same Authorization header: use one of them, or set "
                "CITELINE_CHROMA_TOKEN_HEADER to the header your proxy checks"
            )
        basic = f"{unquote(parsed.username or '')}:{unquote(parsed.password or '')}"
        headers["Authorization"] = "Basic " + base64.b64encode(basic.encode()).decode()
    if token:
        headers[header] = f"Bearer {token}" if bearer else token
    cloud = parsed.hostname == CLOUD_DOMAIN or parsed.hostname.endswith("." + CLOUD_DOMAIN)
    if cloud and not token:
        raise ConfigError(
            f"CITELINE_CHROMA_URL={shown} is Chroma Cloud: set CITELINE_CHROMA_TOKEN to its "
            "API key (and CITELINE_CHROMA_TENANT / CITELINE_CHROMA_DATABASE unless the key "
            "is scoped to one database)"
        )
    bare = urlunparse(parsed._replace(netloc=parsed.netloc.rsplit("@", 1)[-1])).rstrip("/")
    return Endpoint(
        url=shown,
        cloud=cloud,
        # Behind a reverse proxy under a path prefix chromadb takes the full URL as host (then
        # without a port in the URL the scheme's default port is used).
        host=bare if parsed.path.strip("/") and not cloud else parsed.hostname,
        port=port or (443 if cloud else 8000),
        ssl=parsed.scheme == "https",
        tenant=settings.chroma_tenant,
        database=settings.chroma_database,
        header="X-Chroma-Token" if cloud else header,
        headers=headers,
        token=token,
    )


def connect(settings: Settings) -> Any:
    """A chromadb client for CITELINE_CHROMA_URL (HttpClient, or CloudClient for Chroma Cloud)
    sending the configured credentials; ChromaCredentialsError when the server refuses them,
    ChromaServerError (with the masked URL) when it cannot be used."""
    ep = endpoint(settings)
    try:
        client = _open_client(ep)
    except Exception as exc:
        raise _connect_error(ep, exc) from None  # the chain may hold chromadb's settings
    _guard_session(client, ep)
    return client


def _open_client(ep: Endpoint) -> Any:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if ep.cloud:
        return chromadb.CloudClient(
            tenant=ep.tenant or None,
            database=ep.database or None,
            api_key=ep.token,
            settings=chroma_settings,
            cloud_host=ep.host,
            cloud_port=ep.port,
            enable_ssl=ep.ssl,
        )
    where = {"tenant": ep.tenant} if ep.tenant else {}
    if ep.database:
        where["database"] = ep.database
    return chromadb.HttpClient(
        host=ep.host,
        port=ep.port,
        ssl=ep.ssl,
        headers=dict(ep.headers) or None,
        settings=chroma_settings,
        **where,
    )


def _guard_session(client: Any, ep: Endpoint) -> None:
    """Bound chromadb's HTTP session (it has no timeout at all: a server that stops answering
    would hang every question), and make a 401/403 on any later request (a token rotated
    under a running replica) a ChromaCredentialsError. Private attributes: left alone if
    chromadb changes them."""
    session = getattr(getattr(client, "_server", None), "_session", None)
    if session is None:
        return
    import httpx

    if hasattr(session, "timeout"):
        session.timeout = httpx.Timeout(120.0, connect=10.0)

    def refuse(response: Any) -> None:
        if response.status_code in (401, 403):
            raise _refused(ep, response.status_code)

    hooks = getattr(session, "event_hooks", None)
    if isinstance(hooks, dict):
        session.event_hooks = {**hooks, "response": [*hooks.get("response", []), refuse]}


def _refused(ep: Endpoint, status: int) -> ChromaCredentialsError:
    if ep.cloud:
        check = "CITELINE_CHROMA_TOKEN (the Chroma Cloud API key, sent as X-Chroma-Token)"
    elif ep.token and ep.header.lower() == "authorization":
        check = (
            "CITELINE_CHROMA_TOKEN (sent as a bearer token; CITELINE_CHROMA_TOKEN_HEADER "
            "names another header)"
        )
    elif ep.token:
        check = (
            f"CITELINE_CHROMA_TOKEN (sent in the {ep.header} header: CITELINE_CHROMA_TOKEN_HEADER)"
        )
    elif "@" in ep.url:
        check = "the user:password in CITELINE_CHROMA_URL (or set CITELINE_CHROMA_TOKEN)"
    else:
        check = "CITELINE_CHROMA_TOKEN (none is set)"
    if ep.token and "@" in ep.url:
        check += " and the user:password in CITELINE_CHROMA_URL"
    if ep.cloud or ep.tenant or ep.database:
        check += " and CITELINE_CHROMA_TENANT / CITELINE_CHROMA_DATABASE"
    return ChromaCredentialsError(
        ep.url,
        f"The Chroma server at {ep.url} refused the credentials (HTTP {status}): check {check}",
        status,
    )


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    e: BaseException | None = exc
    while e is not None and e not in seen:
        seen.append(e)
        e = e.__cause__ or e.__context__
    return seen


def _connect_error(ep: Endpoint, exc: BaseException) -> ChromaServerError:
    import httpx
    from chromadb.errors import AuthorizationError, NotFoundError
    from chromadb.errors import ChromaAuthError as ChromaRefused

    chain = _chain(exc)
    for e in chain:
        if isinstance(e, ChromaServerError):
            return e
        if isinstance(e, (AuthorizationError, ChromaRefused)):
            return _refused(ep, e.code())
    unreachable = any(isinstance(e, httpx.TransportError) for e in chain)
    # A proxy's refusal is no Chroma error (a plain-text 401 becomes a bare Exception): ask once
    # more, the way chromadb's first request did, to read the status.
    status = None if unreachable else _refusal_status(ep)
    if status is not None:
        return _refused(ep, status)
    if any(isinstance(e, NotFoundError) for e in chain):
        return ChromaServerError(
            ep.url,
            f"The Chroma server at {ep.url} has no tenant {ep.tenant or 'default_tenant'!r} or "
            f"no database {ep.database or 'default_database'!r} in it: check "
            "CITELINE_CHROMA_TENANT and CITELINE_CHROMA_DATABASE",
        )
    return ChromaServerError(
        ep.url,
        f"Cannot reach the Chroma server at {ep.url} (CITELINE_CHROMA_URL): "
        f"{_scrub(_one_line(exc), ep)}. Start it (`chroma run --path DIR --host HOST "
        "--port PORT`) or unset CITELINE_CHROMA_URL to use the embedded index",
    )


def _refusal_status(ep: Endpoint) -> int | None:
    """401 or 403 when the server refuses these credentials for chromadb's first request."""
    import httpx
    from chromadb.api.base_http_client import BaseHTTPClient

    api = BaseHTTPClient.resolve_url(ep.host, ep.ssl, "/api/v2", ep.port)
    headers = {"X-Chroma-Token": ep.token} if ep.cloud else ep.headers
    try:
        status = httpx.get(f"{api}/auth/identity", headers=headers, timeout=10.0).status_code
    except httpx.HTTPError:
        return None
    return status if status in (401, 403) else None


def _scrub(text: str, ep: Endpoint) -> str:
    """`text` without any secret of `ep` (a server or proxy might echo one back)."""
    for secret in ep.secrets():  # a header value, and its credentials after "Bearer"/"Basic"
        for part in (secret, secret.split()[-1]):
            if len(part) >= 4:
                text = text.replace(part, "***")
    return text


def server_error(ep: Endpoint, message: str, exc: BaseException) -> ChromaServerError:
    """ChromaServerError: `message` and the exception's one-line cause, unless the chain holds
    a refusal of the credentials (that one, as it is)."""
    for e in _chain(exc):
        if isinstance(e, ChromaCredentialsError):
            return e
    return ChromaServerError(ep.url, f"{message}{_scrub(_one_line(exc), ep)}")
