"""The small pure parts of `bench/admin_scale.py`: the INSERT ... SELECT it writes from a model, the
column it sorts by, and the figures it reports per page."""

from datetime import date
from decimal import Decimal

import pytest

from bench.admin_scale import Run, column_name, database_name, page_result, sort_index
from bench.admin_scale_data import Sizes, probe_values
from bench.scale_sql import column_default_sql, insert_select_sql, sql_literal
from customers.models import Customer
from integrations.models import ErpPostingAttempt
from payments.models import Transaction


def test_literals_are_quoted_for_postgresql():
    assert sql_literal(None) == "NULL"
    assert sql_literal(True) == "true"
    assert sql_literal(Decimal("0.00")) == "0.00"
    assert sql_literal("O'Brien") == "'O''Brien'"
    assert sql_literal({"a": "it's"}) == """'{"a": "it''s"}'::jsonb"""
    assert sql_literal([]) == "'[]'::jsonb"
    assert sql_literal(date(2026, 3, 1)) == "'2026-03-01'"


def test_a_column_not_named_gets_what_django_would_write():
    fields = {field.name: field for field in Transaction._meta.concrete_fields}
    assert column_default_sql(fields["created_at"]) == "now()"  # auto_now_add
    assert column_default_sql(fields["updated_at"]) == "now()"  # auto_now
    assert column_default_sql(fields["decision_pending"]) == "false"
    assert column_default_sql(fields["amount_refunded"]) == "0"
    assert column_default_sql(fields["description"]) == "''"  # blank text
    assert column_default_sql(fields["settled_at"]) == "NULL"
    assert column_default_sql(fields["raw"]) == "'{}'::jsonb"
    with pytest.raises(ValueError, match="Transaction.amount has no default"):
        column_default_sql(fields["amount"])


def test_insert_select_names_every_column_once_and_refuses_unknown_ones():
    sql = insert_select_sql(
        ErpPostingAttempt,
        columns={"posting_id": "p.id", "number": "1", "started_at": "now()", "outcome": "'posted'"},
        source="FROM integrations_erpposting p",
    )
    head, select = sql.split("\nSELECT ")
    columns = head.removeprefix("INSERT INTO integrations_erppostingattempt (").rstrip(")").split(", ")
    assert "id" not in columns and len(columns) == len(set(columns)) == len(select.split(",\n    "))
    assert "posting_id" in columns and "p.id" in select and "'{}'::jsonb" in select
    assert sql.endswith("FROM integrations_erpposting p")
    with pytest.raises(ValueError, match="no column customer"):
        insert_select_sql(Customer, columns={"customer": "1"}, source="")


def test_sort_index_is_the_admins_o_parameter():
    def amount_column():
        pass

    amount_column.admin_order_field = "-amount"
    columns = ["action_checkbox", "transaction_id", amount_column, "occurred_at"]
    assert column_name(amount_column) == "amount"
    assert sort_index(columns=columns, wanted=("amount", "total")) == 2
    assert sort_index(columns=columns, wanted=("created_at", "occurred_at")) == 3
    assert sort_index(columns=columns, wanted=("balance",)) is None


def test_page_result_is_the_median_run_and_its_slowest_query():
    runs = [
        Run(ms=300.0, queries=[(250.0, "SELECT slow"), (1.0, "SELECT 1")]),
        Run(ms=100.0, queries=[(60.0, "SELECT\n   count(*)  FROM t"), (2.0, "SELECT 2")]),
        Run(ms=120.0, queries=[(90.0, "SELECT " + "x" * 300), (1.0, "SELECT 3")]),
    ]
    result = page_result(label="p", runs=runs)
    assert (result.median_ms, result.queries, result.slowest_ms) == (120.0, 2, 90.0)
    assert len(result.slowest_sql) == 120
    assert page_result(label="p", runs=runs[1:2]).slowest_sql == "SELECT count(*) FROM t"


def test_sizes_follow_the_issues_proportions_and_probes_name_rows_the_world_holds():
    sizes = Sizes(1_000_000)
    assert (sizes.customers, sizes.invoices, sizes.batches) == (100_000, 100_000, 2_000)
    probes = probe_values(sizes=Sizes(10_000))
    assert probes.transaction_id == "100005010" and len(probes.last4) == 4
    assert probes.invoice_number == "INV-100500" and probes.email.endswith("500@example.com")
    assert database_name(rows=1000, keep=True) == "paysage_admin_scale_1000"
