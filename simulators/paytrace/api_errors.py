"""PayTrace's error answer: `response_code` 1 and a map of numeric-string codes to messages.

The body as ActiveMerchant's canned answers show it (tests/contracts/data/paytrace/activemerchant/):
`{"success": false, "response_code": 1, "status_message": "One or more errors has occurred.", "errors":
{"58": ["Please provide a valid Transaction ID."]}}`, plus `external_transaction_id` on the endpoints whose
answers carry it (failed_capture_response and failed_refund_response have it; failed_void_response and the
ACH errors, whose answers lack it, do not), and the card a refused customer profile was given
(failed_customer_creation_response). No artefact shows the HTTP status of an error: ours is 400."""

from typing import Any

ERRORS_MESSAGE = "One or more errors has occurred."

CUSTOMER_NOT_FOUND = "30"
CARD_NUMBER_INVALID = "35"
EXPIRATION_MONTH_INVALID = "43"
EXPIRATION_YEAR_INVALID = "44"
CHECK_ACCOUNT_INVALID = "45"
ROUTING_NUMBER_INVALID = "46"
TRANSACTION_ID_INVALID = "58"
CHECK_NOT_FOUND = "80"
CSC_INVALID = "148"
CUSTOMER_ID_NOT_UNIQUE = "171"
TRANSACTION_NOT_FOUND = "811"
CAPTURE_NOT_ALLOWED = "816"
REFUND_NOT_SETTLED = "817"
VOID_NOT_PENDING = "818"
# UNCERTAIN: PayTrace's numbers for these are not in our reference; chosen outside the known ranges.
AMOUNT_INVALID = "39"
DATE_INVALID = "836"
BATCH_NOT_FOUND = "837"
RECURRENCE_NOT_FOUND = "838"
REQUEST_INVALID = "839"


class PtApiError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.errors: dict[str, list[str]] = {code: [message]}
        self.extra: dict[str, Any] = {}

    def merge(self, other: "PtApiError") -> "PtApiError":
        for code, messages in other.errors.items():
            self.errors.setdefault(code, []).extend(messages)
        return self

    def as_body(self, *, external_id: bool) -> dict[str, Any]:
        """`external_id`: the endpoint's answer carries `external_transaction_id`, so its errors do too."""
        body = {
            "success": False,
            "response_code": 1,
            "status_message": ERRORS_MESSAGE,
            "errors": self.errors,
            **self.extra,
        }
        if external_id:
            body["external_transaction_id"] = ""
        return body
