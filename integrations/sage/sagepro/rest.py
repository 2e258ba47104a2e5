"""Sage Pro over our REST integration gateway (contract in `contract.py`)."""

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import requests

from integrations.http import TransportError
from integrations.sage.base import ErpError
from integrations.sage.connector import ConnectorSettings
from integrations.sage.errors import ErrorParts
from integrations.sage.sagepro.contract import SageProErrors, error_from_body, error_parts


class RestErrors(SageProErrors):
    """The contract's codes, as the gateway answers them over HTTP."""

    # Answered before anything is written (contract): a retry cannot double-post.
    not_applied_statuses = frozenset({423, 429, 503})

    def response_parts(self, response: requests.Response) -> ErrorParts:
        return error_parts(_json(response), http_status=response.status_code)

    def transport_error_code(self, error: TransportError) -> str:
        return "CONNECTION_ERROR" if str(error).startswith("connection error") else "TIMEOUT"

    def transport_maybe_applied(self, error: TransportError, *, write: bool) -> bool:
        return write and error.maybe_applied


ERRORS = RestErrors()


class RestGateway:
    def __init__(self, *, settings: ConnectorSettings):
        """Options: timeout, page_size; credentials: api_key, or username + password."""
        api_key = str(settings.credentials.get("api_key", ""))
        headers = {"Accept": "application/json"}
        if api_key:
            headers["X-Api-Key"] = api_key
        self.http = settings.http(headers=headers, auth=None if api_key else settings.basic_auth)
        self.page_size = int(settings.options.get("page_size", 100))

    def _call(self, method: str, path: str, *, body: Any = None, params: dict[str, Any] | None = None) -> Any:
        """Return the JSON of a 2xx answer; 404 on a GET returns None; anything else raises `ErpError`."""
        read = method == "GET"
        response = ERRORS.request(self.http, method, path, missing_ok=read, json=body, params=params)
        return None if response is None else _json(response)

    def ping(self) -> str:
        site = self._call("GET", "api/site")
        return f"Sage Pro site {site['SITE']} ({site['COMPANY']}), {site['VERSION']}"

    def entries(self, resource: str, **filters: str) -> Iterator[dict[str, Any]]:
        """Every record matching the filters, following `next` links page by page."""
        path: str | None = f"api/{resource}"
        params: dict[str, Any] | None = {**filters, "page_size": self.page_size}
        while path:
            page = self._call("GET", path, params=params)
            if page is None:
                raise ErpError(f"no resource {resource} on this gateway", code="NOT_FOUND", http_status=404)
            yield from page["results"]
            path, params = page.get("next"), None  # the next link carries the filters

    def entry(self, resource: str, key: str) -> dict[str, Any] | None:
        return self._call("GET", f"api/{resource}/{quote(key, safe='')}")

    def find(self, resource: str, reference: str) -> list[dict[str, Any]]:
        return list(self.entries(resource, reference=reference))

    def create(self, resource: str, records: list[dict[str, Any]]) -> list[dict[str, Any] | ErpError]:
        """Payments go as one array (each row answered on its own); other documents one POST each."""
        if resource != "payments":
            return [self._call("POST", f"api/{resource}", body=record) for record in records]
        answer = self._call("POST", "api/payments", body=records)
        return [
            row["record"] if row["status"] == "ok" else error_from_body(row["error"])
            for row in answer["results"]
        ]

    def update(self, resource: str, key: str, record: dict[str, Any]) -> dict[str, Any]:
        return self._call("PUT", f"api/{resource}/{quote(key, safe='')}", body=record)

    def transcript_take(self) -> list[dict[str, Any]]:
        return self.http.transcript_take()


def _json(response: requests.Response) -> Any:
    try:
        return json.loads(response.text, parse_float=Decimal)
    except ValueError:
        return response.text[:300]
