"""No card number reaches a log, whichever logger writes it and whichever handler writes it out."""

import io
import logging

import pytest
from django.conf import settings
from django.core.servers.basehttp import WSGIRequestHandler
from django.utils.log import AdminEmailHandler

from portal.pci import CardNumberMaskingFilter

CARD = "4111 1111 1111 1111"
MASKED = "************1111"


def _all_handlers() -> set[logging.Handler]:
    loggers = [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]
    return {h for logger in loggers if isinstance(logger, logging.Logger) for h in logger.handlers}


def _ours(logger: logging.Logger) -> list[logging.Handler]:
    """A logger's handlers but those pytest adds while it runs."""
    return [h for h in logger.handlers if not type(h).__module__.startswith("_pytest")]


@pytest.fixture
def outputs():
    """Every stream handler of the process writes into a buffer of its own for the test."""
    buffers = {}
    for handler in _all_handlers():
        if isinstance(handler, logging.StreamHandler):
            buffers[handler] = io.StringIO()
            buffers[handler].previous = handler.setStream(buffers[handler])
    yield buffers
    for handler, buffer in buffers.items():
        handler.setStream(buffer.previous)


def _configured(name: str) -> logging.Handler:
    return next(h for h in _all_handlers() if h.name == name)


def _runserver_access_log(request_line: str) -> None:
    """What runserver's request handler logs for a request, query string and all."""
    handler = WSGIRequestHandler.__new__(WSGIRequestHandler)
    handler.request, handler.client_address = None, ("127.0.0.1", 5000)
    handler.log_message('"%s" %s %s', request_line, "200", "512")


def test_runserver_access_log_is_masked(outputs):
    # An admin search for a card number, as the browser sends it.
    _runserver_access_log("GET /admin/payments/transaction/?q=4111+1111+1111+1111 HTTP/1.1")
    written = outputs[_configured("django.server")].getvalue()
    assert f'"GET /admin/payments/transaction/?q={MASKED} HTTP/1.1" 200 512' in written
    assert all("4111+1111" not in buffer.getvalue() for buffer in outputs.values())


@pytest.mark.django_db
def test_django_request_log_is_masked(outputs, client):
    assert client.get("/nope/4111-1111-1111-1111/", {"card": CARD}).status_code == 404
    assert f"Not Found: /nope/{MASKED}/" in outputs[_configured("console")].getvalue()
    assert all("4111-1111" not in buffer.getvalue() for buffer in outputs.values())


def test_any_logger_its_arguments_and_its_exception_are_masked(outputs):
    try:
        raise ValueError(f"declined {CARD} 123")
    except ValueError:
        logging.getLogger("paysage.anything.at.all").exception("charging %s", "+1 4111 1111 1111 1111")
    # gunicorn's access log: a format of named atoms and one dict of them.
    logging.getLogger("gunicorn.access").info('"%(r)s" %(s)s', {"r": "GET /?q=4111+1111+1111+1111", "s": 200})
    written = outputs[_configured("console")].getvalue()
    assert f"charging +* {MASKED}" in written and f"ValueError: declined {MASKED} ***" in written
    assert f'"GET /?q={MASKED}" 200' in written
    assert all("1111 1111" not in buffer.getvalue() for buffer in outputs.values())
    assert all("1111+1111" not in buffer.getvalue() for buffer in outputs.values())


def test_every_configured_handler_masks_a_record_made_without_the_factory():
    for name in settings.LOGGING["handlers"]:
        handler = _configured(name)
        assert any(isinstance(f, CardNumberMaskingFilter) for f in handler.filters), name
        record = logging.makeLogRecord({"msg": "card %s", "args": (CARD,), "levelno": logging.INFO})
        record.server_time = "now"  # django.server's format names it
        assert handler.filter(record)
        assert MASKED in handler.format(record) and CARD not in handler.format(record)


def test_djangos_default_handlers_are_replaced():
    django_logger, server_logger = logging.getLogger("django"), logging.getLogger("django.server")
    assert (_ours(django_logger), django_logger.propagate) == ([], True)
    assert _ours(server_logger) == [_configured("django.server")]
    assert not any(isinstance(handler, AdminEmailHandler) for handler in _all_handlers())
