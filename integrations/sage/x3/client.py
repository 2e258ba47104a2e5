"""Wire layer of the X3 connector: SOAP calls and api1 REST reads over one `HttpTransport`, with
every failure read the way X3 writes it (`X3Errors`)."""

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import requests

from integrations.http import HttpTransport
from integrations.sage.base import ErpError, ErpPermanentError, ErpTransientError
from integrations.sage.errors import ErpErrors, ErrorParts
from integrations.sage.x3.adxml import XmlRefused
from integrations.sage.x3.soap import (
    MESSAGE_ERROR,
    SOAP_PATH,
    AdxResult,
    CallContext,
    Part,
    SoapFormatError,
    soap_envelope,
    soap_result_parse,
)

# The one list of X3 refusal texts that clear up on their own (a lock, a record another user is changing, a
# busy pool, a timeout): worth a retry although they arrive as status 0. X3 writes its messages in the
# call's codeLang, so each is listed in English and in French. Where each wording comes from:
_TRANSIENT_WORDINGS = (
    # Sage X3 online help, "Generic messages" (FCT/ERR_GEN): "Locked record" (a record locked by another
    # user) and "Change In Progress on another workstation" (another user is modifying it).
    r"\block(ed)?\b",
    r"change in progress",
    # The same two cases in French: "Fiche verrouillée", and "Fiche en cours de modification" (the text
    # reported in public X3 integration code; the French help page describes the case, not its wording).
    r"verrouill",
    r"en cours de modification",
    # Other English phrasings of a held record; no published X3 text shows them, kept as cheap insurance.
    r"\bin use\b",
    r"being modified",
    r"en cours d'utilisation",
    # Syracuse's classic SOAP pool with no free X3 client (a pool has a max size); the wording is our
    # simulator's, Syracuse's own text is not published.
    r"pool .*(busy|full|no client)",
    r"no .*client available",
    # Timeouts, English and French ("délai d'attente dépassé"): a bare "délai" is also payment terms, no.
    r"\btime[- ]?out\b|\btimed out\b",
    r"d[ée]lai d'attente|d[ée]lai .*d[ée]pass[ée]",
)
_TRANSIENT_TEXT = re.compile("|".join(_TRANSIENT_WORDINGS), re.I)
_TRANSIENT_SEVERITIES = {"transient"}
MESSAGE_CODE = "status0"  # an X3 refusal: HTTP 200 carrying status 0 and X3's messages


def _json_decimal(text: str) -> Any:
    return json.loads(text, parse_float=Decimal)


def _diagnoses_message(body: Any) -> tuple[str, str]:
    """(message, worst severity) from an SData `$diagnoses` body; empty when there is none."""
    diagnoses = body.get("$diagnoses") if isinstance(body, dict) else None
    if not isinstance(diagnoses, list) or not diagnoses:
        return "", ""
    messages = [str(d.get("$message", "")).strip() for d in diagnoses if isinstance(d, dict)]
    severities = {str(d.get("$severity", "")).lower() for d in diagnoses if isinstance(d, dict)}
    severity = "transient" if severities & _TRANSIENT_SEVERITIES else (sorted(severities) or [""])[0]
    return "; ".join(m for m in messages if m), severity


class X3Errors(ErpErrors):
    transient_statuses = frozenset({408, 429})
    transport_code = "transport"

    def response_parts(self, response: requests.Response) -> ErrorParts:
        """api1 and Syracuse explain an error in an SData `$diagnoses` body."""
        try:
            body = _json_decimal(response.text)
        except ValueError:
            body = None
        message = _diagnoses_message(body)[0]
        message = message or f"HTTP {response.status_code}: {response.text[:200].strip()}"
        return ErrorParts(code=str(response.status_code), message=message, raw=body)

    def is_transient(self, *, code: str, status: int | None, message: str, raw: Any) -> bool:
        """Besides the HTTP rules: a diagnosis marked transient, and refusals that clear up on their own
        (locks, busy pools) although they arrive as status 0."""
        return (
            _diagnoses_message(raw)[1] == "transient"
            or (code == MESSAGE_CODE and _TRANSIENT_TEXT.search(message) is not None)
            or super().is_transient(code=code, status=status, message=message, raw=raw)
        )

    def maybe_applied(self, *, status: int, write: bool) -> bool:
        # A 5xx may come after X3 applied a write; only a lookup can tell.
        return status not in (502, 503)


ERRORS = X3Errors()


def where_literal(value: str) -> str:
    """An SData string literal: single quotes, doubled inside."""
    return "'" + value.replace("'", "''") + "'"


@dataclass
class X3Client:
    transport: HttpTransport
    folder: str
    context: CallContext

    # --- errors ---------------------------------------------------------------------------------
    @staticmethod
    def message_error(message: str, *, raw: str = "") -> ErpError:
        """The error an X3 refusal message stands for: locks and busy pools pass, the rest stays."""
        return ERRORS.error(message, code=MESSAGE_CODE, raw=raw)

    @classmethod
    def result_error(cls, result: AdxResult) -> ErpError:
        """The error a status-0 result stands for, carrying X3's own message text."""
        texts = result.texts(MESSAGE_ERROR) or [m.message for m in result.messages] or ["X3 refused the call"]
        return cls.message_error("; ".join(texts), raw=result.result_xml)

    # --- SOAP ---------------------------------------------------------------------------------
    def soap(self, operation: str, parts: dict[str, Part]) -> AdxResult:
        """One SOAP call. HTTP and transport failures raise; the business result is returned."""
        envelope = soap_envelope(operation=operation, context=self.context, parts=parts)
        response = ERRORS.request(
            self.transport,
            "POST",
            SOAP_PATH,
            data=envelope.encode(),
            headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'},
        )
        try:
            return soap_result_parse(response.text)
        except XmlRefused as exc:  # no retry will make such a document acceptable
            raise ErpPermanentError(str(exc), code="xml_refused", http_status=200) from exc
        except SoapFormatError as exc:
            raise ErpTransientError(str(exc), code="format", http_status=200, maybe_applied=True) from exc

    def soap_ok(self, operation: str, parts: dict[str, Part]) -> AdxResult:
        result = self.soap(operation, parts)
        if not result.ok:
            raise self.result_error(result)
        return result

    # --- REST api1 ----------------------------------------------------------------------------
    def _rest_path(self, resource: str) -> str:
        return f"api1/x3/erp/{self.folder}/{resource}"

    def rest_get(self, url: str) -> dict[str, Any] | None:
        """GET one api1 URL; None on 404 (no such key)."""
        response = ERRORS.request(
            self.transport, "GET", url, missing_ok=True, headers={"Accept": "application/json"}
        )
        if response is None:
            return None
        try:
            return _json_decimal(response.text)
        except ValueError as exc:
            raise ErpTransientError(f"api1 answered non-JSON: {exc}", code="format", http_status=200) from exc

    def details(self, class_name: str, key: str) -> dict[str, Any] | None:
        quoted = quote(key.replace("'", "''"), safe="~")
        return self.rest_get(
            f"{self._rest_path(class_name)}('{quoted}')?representation={class_name}.$details"
        )

    def feed(
        self, class_name: str, *, where: str = "", order_by: str = "", count: int = 20
    ) -> Iterator[dict[str, Any]]:
        """Every resource of a `$query`, following `$links.$next.$url` until it is absent."""
        # Quotes stay literal: X3 rejects %27 in `where`.
        query = f"representation={class_name}.$query&count={count}"
        if where:
            query += "&where=" + quote(where, safe="'(),.@:~")
        if order_by:
            query += "&orderBy=" + quote(order_by, safe=",")
        url: str | None = f"{self._rest_path(class_name)}?{query}"
        while url:
            page = self.rest_get(url) or {}
            yield from page.get("$resources", [])
            url = ((page.get("$links") or {}).get("$next") or {}).get("$url")
