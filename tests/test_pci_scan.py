"""PCI proof: after the whole suite, no card number is in the database, its writes, or the logs."""

import os
import re
import subprocess

import pytest
from django.db import connection

from portal.pci import luhn_valid
from tests import pci_capture

# Stricter than the log mask: a number standing alone, so hex digests and ids inside words don't count.
_STANDALONE_DIGITS = re.compile(r"(?<![\w.])\d{13,19}(?![\w.])")


def _card_numbers(texts) -> set[str]:
    return {m for text in texts for m in _STANDALONE_DIGITS.findall(text) if luhn_valid(m)}


@pytest.mark.pci_scan
@pytest.mark.django_db
def test_no_card_number_written_to_the_database_during_the_suite():
    assert pci_capture.WRITTEN_VALUES, "the capture saw no writes: it is not installed"
    assert _card_numbers(pci_capture.WRITTEN_VALUES) == set()


@pytest.mark.pci_scan
def test_no_card_number_in_the_logs():
    assert _card_numbers(pci_capture.LOG_LINES) == set()


@pytest.mark.pci_scan
@pytest.mark.django_db
def test_no_card_number_in_a_dump_of_the_test_database():
    settings = connection.settings_dict
    env = {**os.environ, "PGPASSWORD": settings.get("PASSWORD") or ""}
    dump = subprocess.run(
        [
            "pg_dump",
            "--data-only",
            "-h",
            settings.get("HOST") or "127.0.0.1",
            "-p",
            str(settings.get("PORT") or 5432),
            "-U",
            settings.get("USER") or "postgres",
            settings["NAME"],
        ],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    assert "COPY public." in dump.stdout
    assert _card_numbers(dump.stdout.splitlines()) == set()
