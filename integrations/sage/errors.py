"""Error classification every ERP shares: an answer, a timeout or a lost connection becomes
`ErpTransientError` (retry later; `maybe_applied` when a write may have landed) or `ErpPermanentError`.

An ERP subclasses `ErpErrors` with what is its own: the codes it sends, how its error bodies read, and
which of its failed answers can follow an applied write. The rules for HTTP statuses and transport
failures are written here once."""

from dataclasses import dataclass
from typing import Any

import requests

from integrations.http import HttpTransport, TransportError
from integrations.sage.base import ErpError, ErpPermanentError, ErpTransientError


@dataclass(frozen=True)
class ErrorParts:
    """What an ERP's error answer says, read by its own `response_parts`."""

    code: str
    message: str
    raw: Any = None


class ErpErrors:
    transient_codes: frozenset[str] = frozenset()  # "try again later", whatever the status
    permanent_codes: frozenset[str] = frozenset()  # the request itself is wrong, even dressed as a 5xx
    transient_statuses: frozenset[int] = frozenset({429})  # besides every 5xx
    not_applied_statuses: frozenset[int] = frozenset({503})  # answered before anything was written
    transport_code: str = "TransportError"

    # --- what each ERP may override ---------------------------------------------------------------

    def response_parts(self, response: requests.Response) -> ErrorParts:
        """The ERP's code and message in a failed answer; by default its text."""
        text = (response.text or response.reason or "").strip()[:500]
        return ErrorParts(code="", message=text or f"HTTP {response.status_code}", raw=text)

    def is_transient(self, *, code: str, status: int | None, message: str, raw: Any) -> bool:
        return (
            code in self.transient_codes
            or status in self.transient_statuses
            or ((status or 0) >= 500 and code not in self.permanent_codes)
        )

    def maybe_applied(self, *, status: int, write: bool) -> bool:
        """A transient answer to a write that the ERP may have applied all the same."""
        return write and status >= 500 and status not in self.not_applied_statuses

    def transport_error_code(self, error: TransportError) -> str:
        return self.transport_code

    def transport_maybe_applied(self, error: TransportError, *, write: bool) -> bool:
        return error.maybe_applied

    # --- the classification -----------------------------------------------------------------------

    def error(
        self,
        message: str,
        *,
        code: str = "",
        http_status: int | None = None,
        raw: Any = None,
        maybe_applied: bool = False,
    ) -> ErpError:
        details = {"code": code, "http_status": http_status, "raw": raw}
        if self.is_transient(code=code, status=http_status, message=message, raw=raw):
            return ErpTransientError(message, maybe_applied=maybe_applied, **details)
        return ErpPermanentError(message, **details)

    def from_response(self, response: requests.Response, *, write: bool) -> ErpError:
        parts = self.response_parts(response)
        status = response.status_code
        return self.error(
            parts.message,
            code=parts.code,
            http_status=status,
            raw=parts.raw,
            maybe_applied=self.maybe_applied(status=status, write=write),
        )

    def from_transport(self, error: TransportError, *, write: bool) -> ErpTransientError:
        return ErpTransientError(
            str(error),
            code=self.transport_error_code(error),
            maybe_applied=self.transport_maybe_applied(error, write=write),
        )

    def request(
        self, transport: HttpTransport, method: str, path: str, *, missing_ok: bool = False, **kwargs: Any
    ) -> requests.Response | None:
        """One HTTP call: a 2xx answer is returned, a 404 is None when `missing_ok`, anything else raises
        the ERP's typed error."""
        write = method != "GET"
        try:
            response = transport.request(method, path, **kwargs)
        except TransportError as exc:
            raise self.from_transport(exc, write=write) from exc
        if missing_ok and response.status_code == 404:
            return None
        if not response.ok:
            raise self.from_response(response, write=write)
        return response
