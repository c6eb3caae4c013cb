"""An authenticating reverse proxy on a free loopback port, in front of a real `chroma run`: the
stand-in for the Envoy (or similar) that a deployment puts before its Chroma server.

It accepts a request only when the expected header carries the token (`Authorization: Bearer
TOKEN`, `X-Chroma-Token: TOKEN`, or HTTP basic auth), answers 401 (no credentials there) or 403
(wrong ones) with a plain-text body as such proxies do, strips the credentials and forwards
everything else to the Chroma server. It logs one line per request (method, path, status) to
`log`, never a header, so a test can read that log for leaked secrets too.
"""

from __future__ import annotations

import base64
import hmac
import http.client
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
}


class AuthProxy:
    """`scheme`: "bearer" (Authorization: Bearer TOKEN), "x-chroma-token" or "basic"
    (`token` is then "user:password")."""

    def __init__(self, upstream_port: int, token: str, scheme: str, log: Path) -> None:
        self.upstream_port, self.token, self.scheme, self.log = upstream_port, token, scheme, log
        self.refused: list[int] = []  # status of every refused request
        self.forwarded = 0
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            owner: ClassVar[AuthProxy] = proxy

            def log_message(self, format: str, *args: object) -> None:
                pass  # the proxy's own log below names no header

            def _handle(self) -> None:
                self.owner.handle(self)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> AuthProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=10)

    # -- one request --------------------------------------------------------------------------
    def _verdict(self, headers: dict[str, str]) -> int:
        """200 when the credentials are right, 401 when there are none, 403 when wrong."""
        if self.scheme == "x-chroma-token":
            got = headers.get("x-chroma-token")
            want = self.token
        else:
            prefix = "Bearer " if self.scheme == "bearer" else "Basic "
            raw = headers.get("authorization")
            got = raw[len(prefix) :] if raw is not None and raw.startswith(prefix) else None
            want = (
                self.token
                if self.scheme == "bearer"
                else base64.b64encode(self.token.encode()).decode()
            )
        if got is None:
            return 401
        return 200 if hmac.compare_digest(got.encode(), want.encode()) else 403

    def handle(self, req: BaseHTTPRequestHandler) -> None:
        headers = {k.lower(): v for k, v in req.headers.items()}
        length = int(headers.get("content-length") or 0)
        body = req.rfile.read(length) if length else b""
        verdict = self._verdict(headers)
        if verdict != 200:
            with self._lock:
                self.refused.append(verdict)
            self._reply(req, verdict, {"content-type": "text/plain"}, b"Unauthorized\n")
            return
        forward = {
            k: v
            for k, v in req.headers.items()
            if k.lower() not in HOP_BY_HOP | {"authorization", "x-chroma-token"}
        }
        conn = http.client.HTTPConnection("127.0.0.1", self.upstream_port, timeout=120)
        try:
            conn.request(req.command, req.path, body=body or None, headers=forward)
            resp = conn.getresponse()
            data = resp.read()
            out = {k: v for k, v in resp.getheaders() if k.lower() not in HOP_BY_HOP}
            status = resp.status
        except (OSError, http.client.HTTPException):
            status, out, data = 502, {"content-type": "text/plain"}, b"Bad gateway\n"
        finally:
            conn.close()
        with self._lock:
            self.forwarded += 1
        self._reply(req, status, out, data)

    def _reply(
        self, req: BaseHTTPRequestHandler, status: int, headers: dict[str, str], data: bytes
    ) -> None:
        with self._lock, self.log.open("a", encoding="utf-8") as log:
            log.write(f"{req.command} {req.path} {status}\n")
        try:
            req.send_response(status)
            for k, v in headers.items():
                req.send_header(k, v)
            req.send_header("Content-Length", str(len(data)))
            req.end_headers()
            if req.command != "HEAD":
                req.wfile.write(data)
        except (TimeoutError, BrokenPipeError, ConnectionResetError):
            req.close_connection = True
