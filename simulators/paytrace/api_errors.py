"""PayTrace's error answer: HTTP 400, `response_code` 1 and a map of numeric-string codes to messages."""

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

    def merge(self, other: "PtApiError") -> "PtApiError":
        for code, messages in other.errors.items():
            self.errors.setdefault(code, []).extend(messages)
        return self

    def as_body(self) -> dict[str, Any]:
        return {
            "success": False,
            "response_code": 1,
            "status_message": ERRORS_MESSAGE,
            "errors": self.errors,
            "external_transaction_id": "",
        }
