"""HTTP plumbing: the threaded server, the request handler, and the request and response objects."""
from __future__ import annotations

import json
import socket
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple

if TYPE_CHECKING:
    from .emulator import SentryEmulator


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: Optional[str] = "application/json"
    headers: List[Tuple[str, str]] = field(default_factory=list)


@dataclass
class Request:
    method: str
    path: str  # raw path (path_prefix included, percent-encoded as sent)
    api_path: str  # raw path below /api/0/ (percent-encoded)
    pairs: List[Tuple[str, str]]
    query: Dict[str, List[str]]
    headers: Any
    host: str  # the Host header, else the emulator's own host:port (for the Link URLs)

    def get(self, name: str, default: Optional[str] = None) -> Optional[str]:
        """Last value, like Django's QueryDict.get."""
        values = self.query.get(name)
        return values[-1] if values else default

    def getlist(self, name: str) -> List[str]:
        return list(self.query.get(name, []))

    def has(self, name: str) -> bool:
        return name in self.query


def json_body(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(", ", ": ")).encode("utf-8")


def internal_error() -> Response:
    """Sentry's answer to an unhandled exception."""
    return Response(500, json_body({"detail": "Internal Error", "errorId": uuid.uuid4().hex}))


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:  # quiet on client disconnects
        import sys

        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, socket.timeout, OSError)):
            return
        super().handle_error(request, client_address)


class Handler(BaseHTTPRequestHandler):
    emulator: SentryEmulator
    protocol_version = "HTTP/1.1"
    # Headers and body leave in two writes: with Nagle's algorithm the body waited for the client's
    # delayed ACK (some 40 ms per response on a kept-alive connection, as the connector's are).
    # Measured on 110 Explore pages: 11.4 s to read them, 4.6 s without the wait.
    disable_nagle_algorithm = True
    server_version = "nginx"
    sys_version = ""
    timeout = 60

    def log_message(self, format: str, *args: Any) -> None:  # silence the default stderr access log
        pass

    def _handle_any(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self.emulator.handle(self)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _handle_any

    def send(self, response: Response) -> None:
        self.send_status_and_headers(response)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def send_status_and_headers(self, response: Response) -> None:
        """The status line, the response's headers and its Content-Type; not Content-Length."""
        self.send_response(response.status)
        for name, value in response.headers:
            self.send_header(name, value)
        if response.content_type:
            self.send_header("Content-Type", response.content_type)

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass
