"""Simulated API users, their OAuth tokens and the demo vault."""

import secrets
from datetime import timedelta

from django.contrib.auth.hashers import check_password, make_password
from django.db import transaction
from django.utils import timezone

from simulators.demo_data import CUSTOMERS
from simulators.paytrace.instruments import card_parse
from simulators.paytrace.models import PtAccount, PtCustomer, PtToken
from simulators.paytrace.selectors import token_digest
from simulators.paytrace.services.customers import pt_customer_create

# The sandbox's documented test Visa; it is only ever parsed, never stored.
DEMO_CARD_NUMBER = "4012000098765439"


def sandbox_paytrace_account_ensure(
    *,
    username: str,
    password: str,
    integrator_id: str = "",
    tz_name: str = "America/Los_Angeles",
    token_lifetime_seconds: int = 7200,
) -> PtAccount:
    account, _ = PtAccount.objects.update_or_create(
        username=username,
        defaults={
            "password_hash": make_password(password),
            "integrator_id": integrator_id,
            "tz_name": tz_name,
            "token_lifetime_seconds": token_lifetime_seconds,
        },
    )
    return account


def pt_token_issue(*, username: str, password: str) -> tuple[str, PtToken] | None:
    """A fresh bearer token for a valid login; None for a bad one (the view answers invalid_grant)."""
    account = PtAccount.objects.filter(username=username).first()
    if account is None or not check_password(password, account.password_hash):
        return None
    # Looks like PayTrace's: three colon-separated chunks.
    token = ":".join(secrets.token_hex(16) for _ in range(3))
    now = timezone.now()
    issued = PtToken.objects.create(
        account=account,
        token_digest=token_digest(token),
        created_at=now,
        expires_at=now + timedelta(seconds=account.token_lifetime_seconds),
    )
    return token, issued


def sandbox_paytrace_tokens_expire(*, username: str) -> int:
    """Expire every token of the account now, as two idle hours would."""
    return PtToken.objects.filter(account__username=username).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )


@transaction.atomic
def sandbox_paytrace_seed(*, username: str) -> int:
    """Vault the demo customers (customer_id = the ERP customer number) once; returns how many were added."""
    account = PtAccount.objects.get(username=username)
    today = timezone.localdate()
    card = card_parse(
        {"number": DEMO_CARD_NUMBER, "expiration_month": 12, "expiration_year": today.year + 3},
        csc="999",
        today=today,
    )
    existing = set(PtCustomer.objects.filter(account=account).values_list("customer_id", flat=True))
    added = 0
    for demo in CUSTOMERS:
        if demo.number in existing:
            continue
        pt_customer_create(
            account=account,
            customer_id=demo.number,
            card=card,
            billing_address={
                "name": demo.name,
                "street_address": demo.street,
                "city": demo.city,
                "state": demo.state,
                "zip": demo.postal_code,
                "country": demo.country,
            },
            email=demo.email,
            phone=demo.phone,
        )
        added += 1
    return added
