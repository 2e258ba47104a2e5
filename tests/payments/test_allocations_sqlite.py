"""The embedded default runs on SQLite, whose SQL arithmetic on decimals is floating point: balances must
still come out exact (89.99 − 50 − 39.99 = 0.00, not −7e-15 refused by the balance check)."""

from tests.sqlite_embedded import sqlite_shell_run

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
    result = sqlite_shell_run(tmp_path=tmp_path, script=SCRIPT)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split() == ["0.00", "paid", "39.99"]
