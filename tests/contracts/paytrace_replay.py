"""A replay stub of PayTrace: a local HTTP server that answers each path with a recorded answer (its
status, content type and body bytes as recorded, never our simulator's) and keeps every request it
received, so a test can hold our client's requests against the recorded ones too."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Answer:
    body: bytes
    status: int = 200
    content_type: str = "application/json; charset=utf-8"


@dataclass(frozen=True)
class Received:
    path: str  # without the leading slash, as PayTrace's paths are written: "v1/transactions/void"
    headers: dict[str, str]
    body: bytes


@dataclass
class PayTraceReplay:
    url: str = ""
    answers: dict[str, Answer] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)

    def answer(self, path: str, answer: Answer) -> None:
        self.answers[path] = answer

    def calls(self, path: str) -> list[Received]:
        return [request for request in self.received if request.path == path]

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        path = handler.path.lstrip("/")
        self.received.append(
            Received(path=path, headers=dict(handler.headers.items()), body=handler.rfile.read(length))
        )
        answer = self.answers.get(path) or Answer(b'{"error":"no recorded answer"}', status=404)
        handler.send_response(answer.status)
        handler.send_header("Content-Type", answer.content_type)
        handler.send_header("Content-Length", str(len(answer.body)))
        handler.end_headers()
        handler.wfile.write(answer.body)


@contextmanager
def paytrace_replay() -> Iterator[PayTraceReplay]:
    replay = PayTraceReplay()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            replay._handle(self)

        do_GET = do_POST  # noqa: N815 - /v1/ping

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - keep the test output quiet
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    replay.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield replay
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
