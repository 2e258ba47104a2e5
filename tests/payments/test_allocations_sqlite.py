"""The embedded default runs on SQLite, whose SQL arithmetic on decimals is floating point: balances must
still come out exact (89.99 − 50 − 39.99 = 0.00, not −7e-15 refused by the balance check)."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
from datetime import date
from decimal import Decimal
from customers.models import Customer
from integrations.models import Connection
from payments.models import Invoice, Transaction
from payments.services.allocations import payment_apply
from django.utils import timezone

paytrace = Connection.objects.create(name="pt", system="paytrace", base_url="http://x")
erp = Connection.objects.create(name="erp", system="sage_300", base_url="http://x")
customer = Customer.objects.create(name="Birch", email="b@example.com")
invoice = Invoice.objects.create(connection=erp, invoice_number="INV-1", customer=customer,
                                 amount=Decimal("89.99"), balance=Decimal("89.99"),
                                 issued_on=date(2026, 1, 1))
for number, amount in (("1", "50.00"), ("2", "39.99")):
    payment = Transaction.objects.create(connection=paytrace, transaction_id=number, transaction_type="sale",
                                         status="approved", amount=Decimal(amount), customer=customer,
                                         occurred_at=timezone.now())
    payment_apply(payment=payment, erp_connection=erp)
invoice.refresh_from_db()
payment.refresh_from_db()
print(invoice.balance, invoice.status, payment.amount_applied)
"""


def test_partial_payments_leave_an_exact_balance_on_sqlite(tmp_path):
    env = {
        **{k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"},
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'embedded.sqlite3'}",
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
    assert result.stdout.split() == ["0.00", "paid", "39.99"]
