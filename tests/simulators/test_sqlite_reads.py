"""On the embedded SQLite default the simulators share the portal's database file, and the portal reads an
ERP (and PayTrace) from inside its own write transaction: the webhook drain applies a payment against the
ERP's balance there, and reads a new vault customer from PayTrace. A simulator's read must not wait for
the writer lock its own caller holds: it answered 500 after the lock timeout, so an invoice entered in
Sage 300 since the last invoice sync was never found and the sale went on account."""

from tests.sqlite_embedded import sqlite_shell_run

SCRIPT = """
import sqlite3
import time
from django.conf import settings
from django.test import Client
from simulators.paytrace.services import sandbox_paytrace_account_ensure, sandbox_paytrace_seed
from simulators.sage300.services.company import sandbox_sage300_company_ensure, sandbox_sage300_seed

sandbox_sage300_company_ensure(company="SAMLTD", username="ADMIN", password="ADMIN")
sandbox_sage300_seed(company="SAMLTD")
sandbox_paytrace_account_ensure(username="demo", password="demo-password", integrator_id="PAYSAGE01")
sandbox_paytrace_seed(username="demo")
client = Client()
token = client.post(
    "/sandbox/paytrace/oauth/token",
    "grant_type=password&username=demo&password=demo-password",
    content_type="application/x-www-form-urlencoded",
).json()["access_token"]
writer = sqlite3.connect(settings.DATABASES["default"]["NAME"], isolation_level=None)
writer.execute("BEGIN IMMEDIATE")  # the portal's drain, mid-transaction
started = time.monotonic()
invoice = client.get(
    "/sandbox/sage300/Sage300WebApi/v1.0/-/SAMLTD/AR/ARPostedDocuments",
    {"$filter": "DocumentNumber eq 'INV-5001' and DocumentType eq 'Invoice'", "$top": "1"},
    CONTENT_TYPE="application/json",
    HTTP_AUTHORIZATION="Basic QURNSU46QURNSU4=",  # ADMIN:ADMIN
)
print("sage300", invoice.status_code, "INV-5001" in invoice.content.decode(), time.monotonic() - started < 5)
started = time.monotonic()
vault = client.post(
    "/sandbox/paytrace/v1/customer/export",
    {"customer_id": "C1001"},
    content_type="application/json",
    HTTP_AUTHORIZATION=f"Bearer {token}",
)
print("paytrace", vault.status_code, "C1001" in vault.content.decode(), time.monotonic() - started < 5)
writer.execute("ROLLBACK")
"""


def test_sage300_and_paytrace_reads_do_not_wait_for_the_writer_lock_their_caller_holds(tmp_path):
    result = sqlite_shell_run(tmp_path=tmp_path, script=SCRIPT, ALLOWED_HOSTS="testserver", SANDBOX="true")
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.strip().splitlines()[-2:]
    assert lines == ["sage300 200 True True", "paytrace 200 True True"], result.stdout[-2000:]
