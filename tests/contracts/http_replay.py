"""A replay stub: a local HTTP server that answers each request with what a test put up for its method and
path (a recorded answer: its status, content type and body bytes, never our simulator's) and keeps every
request it received, so a test can hold our client's requests against the recorded ones too."""

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit


@dataclass(frozen=True)
class Answer:
    body: bytes
    status: int = 200
    content_type: str = "application/json; charset=utf-8"


@dataclass(frozen=True)
class Received:
    method: str
    path: str  # without the leading slash and the query: "v1/transactions/void", "api/customers/C1001"
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes


Reply = Answer | Callable[[Received], Answer]
NOT_PUT_UP = Answer(b'{"error":"no answer put up for this request"}', status=404)


@dataclass
class ReplayStub:
    url: str = ""
    answers: dict[tuple[str, str], Reply] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)

    def answer(self, path: str, reply: Reply, *, method: str = "POST") -> None:
        self.answers[(method, path)] = reply

    def calls(self, path: str) -> list[Received]:
        return [request for request in self.received if request.path == path]

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        received = Received(
            method=handler.command,
            path=unquote(parts.path).lstrip("/"),
            query={name: values[-1] for name, values in parse_qs(parts.query).items()},
            headers=dict(handler.headers.items()),
            body=handler.rfile.read(length),
        )
        self.received.append(received)
        reply = self.answers.get((received.method, received.path), NOT_PUT_UP)
        answer = reply(received) if callable(reply) else reply
        handler.send_response(answer.status)
        handler.send_header("Content-Type", answer.content_type)
        handler.send_header("Content-Length", str(len(answer.body)))
        handler.end_headers()
        handler.wfile.write(answer.body)


@contextmanager
def replay_stub() -> Iterator[ReplayStub]:
    stub = ReplayStub()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            stub._handle(self)

        do_GET = do_PUT = do_POST  # noqa: N815

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - keep the test output quiet
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    stub.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield stub
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
