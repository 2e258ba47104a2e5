"""Fault injection shared by the four simulators.

A simulator view calls `fault_before(system=, account=)` on entry: it may sleep (latency), hang past
the client's timeout without doing anything, or ask the view to answer with the system's own transient
error. After a write is applied, `fault_after_write(...)` may hang so the client times out although
the document exists: the "applied but the answer timed out" case a connector must survive.
"""

import random
import time
from enum import Enum

from django.db import transaction
from django.db.models import F, Q

from simulators.models import FaultProfile


class Fault(Enum):
    NONE = "none"
    ERROR = "error"


def _profile(*, system: str, account: str) -> FaultProfile | None:
    return (
        FaultProfile.objects.filter(Q(account=account) | Q(account=""), system=system)
        .order_by("-account")
        .first()
    )


def _consume(profile: FaultProfile, counter: str) -> bool:
    with transaction.atomic():
        updated = FaultProfile.objects.filter(pk=profile.pk, **{f"{counter}__gt": 0}).update(
            **{counter: F(counter) - 1}
        )
    return updated == 1


def fault_before(*, system: str, account: str) -> Fault:
    profile = _profile(system=system, account=account)
    if profile is None:
        return Fault.NONE
    if profile.latency_ms:
        time.sleep(profile.latency_ms / 1000)
    if _consume(profile, "timeout_next") or random.random() < profile.timeout_rate:
        time.sleep(profile.hang_seconds)
        return Fault.ERROR
    if _consume(profile, "error_next") or random.random() < profile.error_rate:
        return Fault.ERROR
    return Fault.NONE


def fault_after_write(*, system: str, account: str) -> None:
    profile = _profile(system=system, account=account)
    if profile is None:
        return
    if _consume(profile, "applied_timeout_next") or random.random() < profile.applied_timeout_rate:
        time.sleep(profile.hang_seconds)
