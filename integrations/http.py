"""One HTTP transport for every connector: timeouts, a transcript of redacted calls, transport errors.

Connectors map `TransportError` and HTTP statuses to their own typed errors; the transcript feeds the
outbox's attempt log (`ErpPostingAttempt.request/response`) without ever holding a secret. Every call's
outcome is also told to the registered call observers (connection health, `integrations.connection_health`).
"""

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests

from portal.pci import card_numbers_mask, redact

DEFAULT_TIMEOUT_SECONDS = 15.0
USER_AGENT = "Paysage/0.1 (+integration portal)"


@dataclass
class CallRecord:
    method: str
    url: str
    status: int | None
    duration_ms: int
    request: Any
    response: Any
    error: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "url": self.url,
            "status": self.status,
            "duration_ms": self.duration_ms,
            "request": self.request,
            "response": self.response,
            "error": self.error,
        }


class TransportError(Exception):
    """No HTTP answer. `maybe_applied` is True when the request left us (read timeout, reset after
    send): the other side may have acted on it, so a retry must look the document up first."""

    def __init__(self, message: str, *, maybe_applied: bool):
        super().__init__(message)
        self.maybe_applied = maybe_applied


logger = logging.getLogger(__name__)
# Told of every call: (the transport's base URL, the HTTP status or None, the TransportError or None).
CallObserver = Callable[[str, int | None, TransportError | None], None]
_OBSERVERS: list[CallObserver] = []


def call_observer_register(*, observer: CallObserver) -> None:
    """Called from an app's `ready()`."""
    if observer not in _OBSERVERS:
        _OBSERVERS.append(observer)


def _observe(base_url: str, status: int | None, error: TransportError | None) -> None:
    for observer in _OBSERVERS:
        try:
            observer(base_url, status, error)
        except Exception:  # an observer never breaks the call it watches
            logger.exception("call observer %s failed", getattr(observer, "__qualname__", observer))


@dataclass
class HttpTransport:
    base_url: str
    timeout: float = DEFAULT_TIMEOUT_SECONDS
    headers: dict[str, str] = field(default_factory=dict)
    auth: tuple[str, str] | None = None
    transcript: list[CallRecord] = field(default_factory=list)
    session: requests.Session = field(default_factory=requests.Session)

    def url_for(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        return f"{self.base_url.rstrip('/')}/{path.lstrip('/')}"

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        data: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> requests.Response:
        url = self.url_for(path)
        started = time.monotonic()
        sent_headers = {"User-Agent": USER_AGENT, **self.headers, **(headers or {})}
        snapshot = redact(json) if json is not None else _text_snapshot(data)
        try:
            response = self.session.request(
                method,
                url,
                json=json,
                data=data,
                params=params,
                headers=sent_headers,
                auth=self.auth,
                timeout=self.timeout,
            )
        except requests.ConnectTimeout as exc:
            self._record(method, url, None, started, snapshot, None, f"connect timeout: {exc}")
            error = TransportError(f"connect timeout after {self.timeout}s", maybe_applied=False)
            raise self._failed(error, exc) from exc
        except requests.ConnectionError as exc:
            # A refused connection never reached the server; a reset after sending might have.
            maybe = "Connection refused" not in str(exc) and "Name or service" not in str(exc)
            self._record(method, url, None, started, snapshot, None, f"connection error: {exc}")
            raise self._failed(TransportError(f"connection error: {exc}", maybe_applied=maybe), exc) from exc
        except requests.Timeout as exc:
            self._record(method, url, None, started, snapshot, None, f"read timeout: {exc}")
            error = TransportError(f"no answer within {self.timeout}s", maybe_applied=True)
            raise self._failed(error, exc) from exc
        self._record(method, url, response.status_code, started, snapshot, _response_snapshot(response), "")
        _observe(self.base_url, response.status_code, None)
        return response

    def _failed(self, error: TransportError, cause: Exception) -> TransportError:
        error.__cause__ = cause  # as `raise ... from` will: observers classify by the cause (TLS or not)
        _observe(self.base_url, None, error)
        return error

    def _record(
        self,
        method: str,
        url: str,
        status: int | None,
        started: float,
        request: Any,
        response: Any,
        error: str,
    ) -> None:
        self.transcript.append(
            CallRecord(
                method=method,
                url=card_numbers_mask(url),
                status=status,
                duration_ms=int((time.monotonic() - started) * 1000),
                request=request,
                response=response,
                error=card_numbers_mask(error),
            )
        )

    def transcript_take(self) -> list[dict[str, Any]]:
        """Return and clear the calls recorded since the last take."""
        calls = [call.as_dict() for call in self.transcript]
        self.transcript.clear()
        return calls


def _text_snapshot(data: Any) -> Any:
    if data is None:
        return None
    if isinstance(data, dict):
        return redact(data)
    text = data.decode(errors="replace") if isinstance(data, bytes) else str(data)
    return card_numbers_mask(text[:20000])


def _response_snapshot(response: requests.Response) -> Any:
    try:
        return redact(response.json())
    except ValueError:
        return card_numbers_mask(response.text[:20000])
