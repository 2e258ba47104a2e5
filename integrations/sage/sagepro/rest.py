"""Sage Pro over our REST integration gateway (contract in `contract.py`)."""

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import requests

from integrations.http import HttpTransport, TransportError
from integrations.sage.base import ErpError, ErpTransientError
from integrations.sage.sagepro.contract import error_from_body

# Answered before anything is written (contract): a retry cannot double-post.
NOT_APPLIED_STATUSES = frozenset({423, 429, 503})


class RestGateway:
    def __init__(
        self,
        *,
        base_url: str,
        api_key: str = "",
        username: str = "",
        password: str = "",
        timeout: float,
        page_size: int = 100,
    ):
        headers = {"Accept": "application/json"}
        if api_key:
            headers["X-Api-Key"] = api_key
        self.http = HttpTransport(
            base_url=base_url,
            timeout=timeout,
            headers=headers,
            auth=None if api_key else (username, password),
        )
        self.page_size = page_size

    def _call(self, method: str, path: str, *, body: Any = None, params: dict[str, Any] | None = None) -> Any:
        """Return the JSON of a 2xx answer; 404 on a GET returns None; anything else raises `ErpError`."""
        write = method != "GET"
        try:
            response = self.http.request(method, path, json=body, params=params)
        except TransportError as exc:
            code = "CONNECTION_ERROR" if str(exc).startswith("connection error") else "TIMEOUT"
            raise ErpTransientError(str(exc), code=code, maybe_applied=write and exc.maybe_applied) from exc
        content = _json(response)
        if response.ok:
            return content
        if response.status_code == 404 and not write:
            return None
        maybe_applied = (
            write and response.status_code >= 500 and response.status_code not in NOT_APPLIED_STATUSES
        )
        raise error_from_body(content, http_status=response.status_code, maybe_applied=maybe_applied)

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
