"""On the embedded SQLite default the simulators share the portal's database file, and the portal reads an
ERP from inside its own write transaction (the webhook drain applies a payment against the ERP's balance
there). A simulator's read must not wait for the writer lock its own caller holds: it answered 500 after
the lock timeout, so an invoice entered in Sage 300 since the last invoice sync was never found and
the sale went on account."""

from tests.sqlite_embedded import sqlite_shell_run

SCRIPT = """
import sqlite3
import time
from django.conf import settings
from django.test import Client
from simulators.sage300.services.company import sandbox_sage300_company_ensure, sandbox_sage300_seed

sandbox_sage300_company_ensure(company="SAMLTD", username="ADMIN", password="ADMIN")
sandbox_sage300_seed(company="SAMLTD")
writer = sqlite3.connect(settings.DATABASES["default"]["NAME"], isolation_level=None)
writer.execute("BEGIN IMMEDIATE")  # the portal's drain, mid-transaction
started = time.monotonic()
answer = Client().get(
    "/sandbox/sage300/Sage300WebApi/v1.0/-/SAMLTD/AR/ARPostedDocuments",
    {"$filter": "DocumentNumber eq 'INV-5001' and DocumentType eq 'Invoice'", "$top": "1"},
    CONTENT_TYPE="application/json",
    HTTP_AUTHORIZATION="Basic QURNSU46QURNSU4=",  # ADMIN:ADMIN
)
writer.execute("ROLLBACK")
print(answer.status_code, "INV-5001" in answer.content.decode(), time.monotonic() - started < 5)
"""


def test_a_sage300_read_does_not_wait_for_the_writer_lock_its_caller_holds(tmp_path):
    result = sqlite_shell_run(tmp_path=tmp_path, script=SCRIPT, ALLOWED_HOSTS="testserver", SANDBOX="true")
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split()[-3:] == ["200", "True", "True"], result.stdout[-2000:]
