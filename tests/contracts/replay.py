"""A replay stub: every HTTP request a client makes through `requests` is answered with one recorded (or
reconstructed) body, so the client's own code reads it exactly as it would read the vendor's answer, and
nothing leaves the machine."""

from dataclasses import dataclass, field

import pytest
import requests
from requests.adapters import HTTPAdapter


@dataclass
class Replay:
    body: bytes
    status: int = 200
    content_type: str = "text/xml; charset=utf-8"
    received: list[requests.PreparedRequest] = field(default_factory=list)

    def answer(self, request: requests.PreparedRequest) -> requests.Response:
        self.received.append(request)
        response = requests.Response()
        response.status_code, response._content = self.status, self.body
        response.headers["Content-Type"] = self.content_type
        response.encoding, response.url, response.request = "utf-8", request.url, request
        return response


def replay_serve(monkeypatch: pytest.MonkeyPatch, body: bytes, **answer) -> Replay:
    """From here to the end of the test, every request is answered with `body`."""
    replay = Replay(body=body, **answer)
    monkeypatch.setattr(HTTPAdapter, "send", lambda adapter, request, **kwargs: replay.answer(request))
    return replay
