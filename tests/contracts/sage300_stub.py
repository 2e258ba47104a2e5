"""A replay stub of the Sage 300 Web API: a local HTTP server that answers each request with the body a
test put up for it (built from Sage's artefacts, never from our simulator) and keeps every request it
saw, so a test can hold the connector's requests against the artefacts too."""

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

PREFIX = "/Sage300WebApi/v1.0/-/SAMLTD/"


@dataclass
class Seen:
    method: str
    resource: str  # e.g. AR/ARCustomers('1200'), without the query
    query: dict[str, str]
    body: Any
    content_type: str


Answer = tuple[int, Any]  # status, body (None: no body)


@dataclass
class ReplayStub:
    routes: dict[tuple[str, str], Callable[[Seen], Answer]] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    url: str = ""

    def answer(self, method: str, resource: str, reply: Answer | Callable[[Seen], Answer]) -> None:
        self.routes[(method, resource)] = reply if callable(reply) else (lambda _seen: reply)

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        seen = Seen(
            method=handler.command,
            resource=unquote(parts.path).removeprefix(PREFIX),
            query={name: values[0] for name, values in parse_qs(parts.query).items()},
            body=json.loads(raw, parse_float=Decimal) if raw else None,
            content_type=handler.headers.get("Content-Type", ""),
        )
        self.seen.append(seen)
        route = self.routes.get((seen.method, seen.resource))
        status, body = route(seen) if route else (404, _not_found(seen.resource))
        data = b"" if body is None else json.dumps(body, default=float).encode()
        handler.send_response(status)
        if body is not None:
            handler.send_header("Content-Type", "application/json; charset=utf-8")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)


def _not_found(resource: str) -> dict[str, Any]:
    # The Developer Reference's error shape with one of its documented codes.
    return {"error": {"code": "ResourceNotFound", "message": {"lang": "en-US", "value": f"No {resource}."}}}


def stub_start() -> tuple[ReplayStub, ThreadingHTTPServer]:
    stub = ReplayStub()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            stub._handle(self)

        do_POST = do_PATCH = do_PUT = do_DELETE = do_GET  # noqa: N815

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    stub.url = f"http://127.0.0.1:{server.server_address[1]}"
    return stub, server
