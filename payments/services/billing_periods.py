"""Billing-period arithmetic: when the period after a given one starts, in plain calendar logic.

Month-based intervals keep the subscription's anchor day: a subscription billed on the 31st is billed on
Feb 28 (29 in a leap year) and on Mar 31 again, never drifting to the 28th. A period that fell on a
shortened month end does not say which day it stands for, so the anchor is read from the history: the
latest period start that is not the last day of its month, else the largest month-end day seen."""

import calendar
from collections.abc import Sequence
from datetime import date, timedelta

from payments.models import Subscription

Interval = Subscription.Interval

DAYS = {Interval.DAILY: 1, Interval.WEEKLY: 7}
MONTHS = {Interval.MONTHLY: 1, Interval.QUARTERLY: 3, Interval.YEARLY: 12}


def _is_month_end(day: date) -> bool:
    return day.day == calendar.monthrange(day.year, day.month)[1]


def anchor_day_from(*, period_starts: Sequence[date]) -> int:
    """The day of month a subscription bills on, from its period starts, newest first (at least one)."""
    for start in period_starts:
        if not _is_month_end(start):
            return start.day
    return max(start.day for start in period_starts)


def months_add(*, day: date, months: int, anchor_day: int) -> date:
    """`day` moved by `months`, landing on `anchor_day` or the month's last day when it is shorter."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(anchor_day, calendar.monthrange(year, month + 1)[1]))


def period_after(*, period_start: date, interval: str, anchor_day: int) -> date:
    """The start of the period that follows the one starting on `period_start`."""
    if interval in DAYS:
        return period_start + timedelta(days=DAYS[interval])
    return months_add(day=period_start, months=MONTHS[interval], anchor_day=anchor_day)
