"""The short, fixed reasons a connection test or health check may give (how a failure maps to one is in
`integrations.connection_checks`).

A connection's base URL points wherever an integration admin typed, so what a check says must never carry
what the other side sent (its body is attacker-chosen and may be an internal page) nor tell an open port
from a closed one: a refused, reset or timed-out connection, a name that does not resolve, a handshake
with something that is not TLS and an answer that is not HTTP all read "unreachable". Only an HTTP answer
(its status, never its body) or a TLS certificate that is not trusted is told apart, because those are
what an admin needs to fix the connection.
"""

OK = "ok"
AUTHENTICATION_REFUSED = "authentication refused"
CREDENTIALS_MISSING = "credentials missing"
UNREACHABLE = "unreachable"
TLS_UNTRUSTED = "TLS error (certificate not trusted)"
UNEXPECTED_ANSWER = "unexpected answer"
DROP_FOLDER_UNUSABLE = "drop folder not usable"
EXPORT_MISSING = "no Sage Pro export yet"

# Every fixed reason; an HTTP status adds "unexpected answer (HTTP nnn)", which the database also accepts.
FIXED_REASONS = (
    OK,
    AUTHENTICATION_REFUSED,
    CREDENTIALS_MISSING,
    UNREACHABLE,
    TLS_UNTRUSTED,
    UNEXPECTED_ANSWER,
    DROP_FOLDER_UNUSABLE,
    EXPORT_MISSING,
)
HTTP_ANSWER_PATTERN = r"^unexpected answer \(HTTP [1-5][0-9][0-9]\)$"
