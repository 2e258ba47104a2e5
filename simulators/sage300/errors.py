"""The Web API's error: `{"error":{"code":..,"message":{"lang":"en-US","value":..}}}`, as the Developer
Reference's example prints it (404 RecordNotFound); clients should act on `code`, never on the message
text. Codes are the Developer Reference's list, plus FieldInvalid: Sage 300 servers answer it (409) when
a business view refuses a value, though the list omits it (seen in support articles, not in an
artefact here)."""


class WebApiError(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def body(self) -> dict:
        return {"error": {"code": self.code, "message": {"lang": "en-US", "value": self.message}}}


def field_invalid(message: str) -> WebApiError:
    """What Sage 300 answers when a business view refuses a value (unknown customer, item, account,
    a date outside the fiscal calendar, an amount over a balance): 409 FieldInvalid."""
    return WebApiError(409, "FieldInvalid", message)


def not_found(message: str) -> WebApiError:
    return WebApiError(404, "RecordNotFound", message)


def invalid_payload(message: str) -> WebApiError:
    return WebApiError(400, "InvalidPayload", message)
