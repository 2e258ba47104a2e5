"""The Sage 300 Web API over HTTP: Basic sign-on, the mandatory JSON Content-Type, OData paging, and the
server's errors read the way Sage 300 writes them (`Sage300Errors`), carrying Sage's own `code`."""

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urljoin

import requests

from integrations.http import HttpTransport
from integrations.sage.base import ErpPermanentError
from integrations.sage.errors import ErpErrors, ErrorParts
from integrations.sage.sage300.codec import dumps, loads
from portal.pci import redact

Record = dict[str, Any]

# Codes that say "try again later" whatever the HTTP status, and codes that say the request itself is
# wrong even when a server dresses them up as a 500.
TRANSIENT_CODES = frozenset({"TooManyRequests", "SessionError", "DBLinkError"})
PERMANENT_CODES = frozenset(
    {
        "FieldInvalid",
        "General",
        "RecordDuplicate",
        "RecordInvalid",
        "InvalidPayload",
        "InvalidParameters",
        "InvalidEntityKey",
        "InvalidAction",
        "MethodNotAllowed",
        "RecordNotFound",
        "ResourceNotFound",
        "Unauthorized",
        "Forbidden",
    }
)
# A gateway that gave up (502/504) may have let the request through to a server that applied it.
_MAYBE_APPLIED_STATUSES = frozenset({502, 504})
_QUERY_SAFE = "'(),$"


def literal(value: str) -> str:
    """An OData string literal: quotes kept literal, an embedded quote doubled."""
    return "'" + value.replace("'", "''") + "'"


def entry_path(resource: str, key: str) -> str:
    return f"{resource}({literal(key)})"


def query_path(resource: str, params: dict[str, Any]) -> str:
    """Build the query by hand: spaces as %20 (a `+` is not a space to every OData server) and quotes,
    parentheses and commas left as they are, the way Sage's own samples write `$filter`."""
    pairs = [
        f"{name}={quote(str(value), safe=_QUERY_SAFE)}" for name, value in params.items() if value is not None
    ]
    return f"{resource}?{'&'.join(pairs)}" if pairs else resource


def _error_parts(response: requests.Response) -> tuple[str, str]:
    """Sage 300 answers `{"error":{"code","message":{"lang","value"}}}`; some servers put the message in
    as a plain string, ASP.NET's own failures say `{"Message": ...}`, and IIS answers text/plain."""
    try:
        body = loads(response.content)
    except ValueError:
        return "", (response.text or response.reason or "").strip()[:500]
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        error = body["error"]
        message = error.get("message")
        if isinstance(message, dict):
            message = message.get("value")
        return str(error.get("code") or ""), str(message or "")
    if isinstance(body, dict):
        return "", str(body.get("ExceptionMessage") or body.get("Message") or body)[:500]
    return "", str(body)[:500]


class Sage300Errors(ErpErrors):
    transient_codes = TRANSIENT_CODES
    permanent_codes = PERMANENT_CODES

    def response_parts(self, response: requests.Response) -> ErrorParts:
        code, message = _error_parts(response)
        message = message or f"HTTP {response.status_code}"
        return ErrorParts(code=code, message=message, raw=redact(message))

    def maybe_applied(self, *, status: int, write: bool) -> bool:
        return write and status in _MAYBE_APPLIED_STATUSES


ERRORS = Sage300Errors()


class Sage300Client:
    def __init__(self, transport: HttpTransport):
        self.transport = transport

    def _call(self, method: str, path: str, *, body: Any = None) -> requests.Response:
        data = dumps(body).encode() if body is not None else None
        recorded = len(self.transport.transcript)
        try:
            return ERRORS.request(self.transport, method, path, data=data)
        finally:
            if body is not None and len(self.transport.transcript) > recorded:
                # The transport only saw encoded bytes (requests cannot encode Decimal): keep the attempt
                # log structured and JSON-storable, decoded the way the transport decodes responses.
                self.transport.transcript[-1].request = redact(json.loads(data))

    def get(self, path: str) -> Record:
        return loads(self._call("GET", path).content)

    def get_entry(self, path: str) -> Record | None:
        """One entry by key; None when Sage answers 404 RecordNotFound."""
        try:
            return self.get(path)
        except ErpPermanentError as error:
            if error.http_status == 404 and error.code in ("RecordNotFound", ""):
                return None
            raise

    def feed(self, resource: str, *, query: str | None = None, top: int | None = None) -> Iterator[Record]:
        """Every record of a feed, page after page: follows `@odata.nextLink` and the older
        `odata.nextLink`, stopping at `top` records when given."""
        path: str | None = query_path(resource, {"$filter": query, "$top": top})
        seen = 0
        while path:
            url = self.transport.url_for(path)
            page = self.get(url)
            for record in page.get("value", []):
                yield record
                seen += 1
                if top is not None and seen >= top:
                    return
            following = page.get("@odata.nextLink") or page.get("odata.nextLink")
            path = urljoin(url, following) if following else None

    def count(self, resource: str) -> int:
        page = self.get(query_path(resource, {"$top": 1, "$count": "true"}))
        return int(page.get("@odata.count", page.get("odata.count", len(page.get("value", [])))))

    def post(self, path: str, body: Record) -> Record:
        response = self._call("POST", path, body=body)
        return loads(response.content) if response.content else {}

    def patch(self, path: str, body: Record) -> None:
        self._call("PATCH", path, body=body)
