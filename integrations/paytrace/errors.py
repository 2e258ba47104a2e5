"""Typed failures of the PayTrace v1 API.

Every exception carries PayTrace's own `response_code` and a redacted copy of the body, so the outbox
attempt log can show what PayTrace said without ever holding a secret. Its messages have their card
numbers masked as the exception is made, so whoever stores or logs one holds none."""

from typing import TYPE_CHECKING, Any

from portal.pci import card_numbers_mask

if TYPE_CHECKING:
    from integrations.paytrace.types import TransactionResult


class PayTraceError(Exception):
    def __init__(
        self,
        message: str,
        *,
        http_status: int | None = None,
        response_code: int | None = None,
        body: Any = None,
    ):
        message = card_numbers_mask(message)
        super().__init__(message)
        self.message = message
        self.http_status = http_status
        self.response_code = response_code
        self.body = body


class PayTraceAuthenticationError(PayTraceError):
    """Bad API login (`invalid_grant`), missing permission (981) or login failure (998)."""


class PayTraceValidationError(PayTraceError):
    """PayTrace refused the request (`response_code` 1): retrying it unchanged cannot succeed.

    `errors` is PayTrace's map `{"817": ["Only settled transactions ..."]}`; `codes` the same keys as ints."""

    def __init__(self, message: str, *, errors: dict[str, list[str]], **kwargs: Any):
        super().__init__(message, **kwargs)
        self.errors = {code: [card_numbers_mask(str(t)) for t in texts] for code, texts in errors.items()}
        self.codes = frozenset(int(code) for code in errors if str(code).isdigit())

    def __str__(self) -> str:
        details = "; ".join(f"{code}: {' '.join(messages)}" for code, messages in self.errors.items())
        return f"{self.message} ({details})" if details else self.message


class PayTraceDeclined(PayTraceError):
    """The processor said no. A declined transaction still has a PayTrace transaction id."""

    def __init__(self, result: "TransactionResult", **kwargs: Any):
        super().__init__(result.status_message or "declined", response_code=result.response_code, **kwargs)
        self.result = result


class PayTraceTransientError(PayTraceError):
    """Worth retrying later: timeout, connection error, 5xx, 429. When `maybe_applied` is True PayTrace
    may have acted on the request, so look the transaction up before sending it again."""

    def __init__(self, message: str, *, maybe_applied: bool, **kwargs: Any):
        super().__init__(message, **kwargs)
        self.maybe_applied = maybe_applied
