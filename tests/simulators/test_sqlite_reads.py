"""On the embedded SQLite default the simulators share the portal's database file, and the portal reads an
ERP from inside its own write transaction (the webhook drain applies a payment against the ERP's balance
there). A simulator's read must not wait for the writer lock its own caller holds: it answered 500 after
the lock timeout, so a keyed invoice created in Sage 300 after the last invoice sync was never found and
the sale went on account."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

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
    env = {
        **{k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"},
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'embedded.sqlite3'}",
        "ALLOWED_HOSTS": "testserver",
        "SANDBOX": "true",
    }
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True, timeout=300
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-v0", "-c", SCRIPT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split()[-3:] == ["200", "True", "True"], result.stdout[-2000:]
