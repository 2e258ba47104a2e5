"""GL rules by product category: an order line's category picks the revenue rule keyed on it, the others
the any-category rule, and the account lands on the line when its sales order is built."""

from decimal import Decimal

import pytest

from integrations.models import GLAccountRule
from payments.erp.documents import sales_order_build
from payments.models import OrderLine
from tests.factories import ConnectionFactory, CustomerLinkFactory, ErpPostingFactory, OrderFactory

pytestmark = pytest.mark.django_db


def test_each_order_line_gets_the_revenue_account_of_its_category():
    erp = ConnectionFactory(system="sage_300")
    GLAccountRule.objects.create(erp="sage_300", purpose="revenue", account="4000")
    GLAccountRule.objects.create(erp="sage_300", purpose="revenue", product_category="tents", account="4010")
    order = OrderFactory(erp_connection=erp)
    CustomerLinkFactory(customer=order.customer, connection=erp, external_id="C1001")
    for number, (sku, category) in enumerate((("TENT-2P", "tents"), ("MUG-TI", "kitchen")), start=1):
        OrderLine.objects.create(
            order=order,
            line_number=number,
            sku=sku,
            quantity=Decimal("1"),
            unit_price=Decimal("10.00"),
            amount=Decimal("10.00"),
            category=category,
        )
    posting = ErpPostingFactory(
        connection=erp, document_type="sales_order", reference=order.order_id, transaction=None, order=order
    )
    built = sales_order_build(posting=posting, connector=None)
    assert [line.sku for line in built.lines] == ["TENT-2P", "MUG-TI"]
    assert dict(order.lines.values_list("sku", "gl_account")) == {"TENT-2P": "4010", "MUG-TI": "4000"}
