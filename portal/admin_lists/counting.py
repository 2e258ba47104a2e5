"""Counting a list without scanning it: PostgreSQL's planner estimates how many rows a query returns (from
pg_class.reltuples and the column statistics) for the price of planning it. Where the estimate is small the
list is counted exactly; where it is large, the estimate is shown, and said to be one ("about 1,000,000")."""

from functools import cached_property

from django.core.paginator import Paginator
from django.db import connections
from django.db.models import QuerySet

# Below this many rows an exact count costs a few milliseconds; above it, it costs a scan.
EXACT_COUNT_BELOW = 100_000


def queryset_rows_estimate(*, queryset: QuerySet) -> int | None:
    """The planner's estimate of the rows `queryset` returns, or None where the database gives none."""
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return None
    sql, params = queryset.order_by().query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    return int(plan[0]["Plan"]["Plan Rows"])


class EstimatedCountPaginator(Paginator):
    """`estimated` is True once `count` is the planner's figure rather than an exact count."""

    estimated = False

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        estimate = queryset_rows_estimate(queryset=queryset) if isinstance(queryset, QuerySet) else None
        if estimate is None or estimate < EXACT_COUNT_BELOW:
            return super().count
        self.estimated = True
        return estimate
