"""The Web API's error: `{"error":{"code":..,"message":{"lang":"en-US","value":..}}}`; clients should act
on `code`, never on the message text."""


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
