"""The ERP invoicing a sales order on its own: an invoice appears in the simulator's books carrying the
order's number, as each ERP's order entry would post it (none of our simulators turns an order into an AR
invoice by itself). Tests only."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from integrations.models import Connection, System


def erp_invoice_raise(erp: Connection, *, number: str, customer: str, amount: str, order_id: str) -> None:
    today = timezone.localdate()
    amount_ = Decimal(amount)
    if erp.system == System.SAGE_300:
        from simulators.sage300.models import Company, OpenDocument

        OpenDocument.objects.create(
            company=Company.objects.get(code=erp.options["company"].upper()),
            customer_number=customer,
            document_number=number,
            document_type="Invoice",
            document_date=today,
            due_date=today + timedelta(days=30),
            original_amount=amount_,
            balance=amount_,
            order_number=order_id,
            last_activity_date=today,
        )
    elif erp.system == System.SAGE_X3:
        from simulators.x3.models import X3Customer, X3Folder, X3Invoice

        folder = X3Folder.objects.get(folder=erp.options["folder"])
        X3Invoice.objects.create(
            folder=folder,
            num=number,
            customer=X3Customer.objects.get(folder=folder, bpcnum=customer),
            cur="USD",
            invref=order_id,
            invdat=today,
            duddat=today + timedelta(days=30),
            amtati=amount_,
        )
    else:
        from simulators.sagepro.models import SproCustomer, SproInvoice

        customer_ = SproCustomer.objects.get(custno=customer)
        SproInvoice.objects.create(
            site=customer_.site,
            invno=number,
            customer=customer_,
            invdate=today,
            duedate=today + timedelta(days=30),
            invamt=amount_,
            balance=amount_,
            ponum=order_id,
        )
