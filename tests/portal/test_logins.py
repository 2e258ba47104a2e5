"""Admin logins: a username is locked out from an address after repeated wrong passwords (django-axes,
counted in the database), the lockout and every failure are audited, and weak passwords are refused."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from integrations.models import AuditEvent
from portal import demo
from tests.factories import UserFactory
from tests.staff import staff_user

PASSWORD = "Correct-horse-battery-staple-7"
ATTACKER, COLLEAGUE = "203.0.113.9", "198.51.100.4"

pytestmark = pytest.mark.django_db


def _login(client: Client, username: str, password: str, address: str = ATTACKER):
    return client.post(
        "/admin/login/?next=/admin/",
        {"username": username, "password": password, "next": "/admin/"},
        REMOTE_ADDR=address,
    )


def _logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_thirty_wrong_passwords_then_the_right_one_is_refused():
    UserFactory(username="finance", password=PASSWORD)
    client = Client()
    for attempt in range(30):
        response = _login(client, "finance", f"guess-{attempt}")
        assert not _logged_in(client)
    assert response.status_code == 429
    response = _login(client, "finance", PASSWORD)
    assert response.status_code == 429
    assert not _logged_in(client)
    assert b"Too many failed logins" in response.content
    assert f"Try again in {settings.AXES_COOLOFF_TIME.seconds // 60} minutes".encode() in response.content


def test_the_fifth_failure_locks_and_a_success_before_it_starts_the_count_again():
    UserFactory(username="finance", password=PASSWORD)
    below = settings.AXES_FAILURE_LIMIT - 1
    for attempt in range(below):
        assert _login(Client(), "finance", f"guess-{attempt}").status_code == 200  # the form, with its error
    assert AccessAttempt.objects.get(username="finance", ip_address=ATTACKER).failures_since_start == below
    assert _login(Client(), "finance", PASSWORD).status_code == 302
    for attempt in range(below):
        assert _login(Client(), "finance", f"guess-{attempt}").status_code == 200
    assert _login(Client(), "finance", "guess-last").status_code == 429


def test_a_lockout_holds_across_clients_and_is_per_user_and_address():
    UserFactory(username="finance", password=PASSWORD)
    UserFactory(username="auditor", password=PASSWORD)
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        _login(Client(), "finance", f"guess-{attempt}")
    # A fresh client (no cookie) from the same address is refused: the count lives in the database.
    assert _login(Client(), "finance", PASSWORD).status_code == 429
    # The same user from the colleague's address, and another user from the attacker's, log in.
    colleague = Client()
    assert _login(colleague, "finance", PASSWORD, address=COLLEAGUE).status_code == 302
    assert _logged_in(colleague)
    assert _login(Client(), "auditor", PASSWORD).status_code == 302


def test_the_lockout_ends_after_the_cool_off():
    UserFactory(username="finance", password=PASSWORD)
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        _login(Client(), "finance", f"guess-{attempt}")
    assert _login(Client(), "finance", PASSWORD).status_code == 429
    AccessAttempt.objects.update(
        attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME - timedelta(seconds=1)
    )
    client = Client()
    assert _login(client, "finance", PASSWORD).status_code == 302
    assert _logged_in(client)


def test_failures_and_the_lockout_are_audited():
    UserFactory(username="finance", password=PASSWORD)
    for attempt in range(settings.AXES_FAILURE_LIMIT + 2):
        _login(Client(), "finance", f"guess-{attempt}")
    failed = AuditEvent.objects.filter(action="login.failed")
    assert failed.count() == settings.AXES_FAILURE_LIMIT + 2
    locked = AuditEvent.objects.get(action="login.locked_out")  # once, as the lockout begins
    assert locked.subject_type == "accessattempt"
    assert locked.actor is None
    assert locked.data == {
        "username": "finance",
        "ip_address": ATTACKER,
        "failures": settings.AXES_FAILURE_LIMIT,
    }
    assert {event.data["ip_address"] for event in failed} == {ATTACKER}
    assert "guess" not in str(list(AuditEvent.objects.values_list("data", flat=True)))


def test_a_card_number_typed_as_username_is_masked_in_the_audit_and_in_axes_records():
    _login(Client(), "4111111111111111", "whatever-it-is")
    event = AuditEvent.objects.get(action="login.failed")
    assert "4111111111111111" not in event.data["username"]
    attempt = AccessAttempt.objects.get()
    assert attempt.username == "************1111"
    assert "4111111111111111" not in attempt.post_data + attempt.get_data


def test_unknown_usernames_are_locked_out_too():
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        _login(Client(), "no-such-user", f"guess-{attempt}")
    assert _login(Client(), "no-such-user", "guess").status_code == 429
    assert AuditEvent.objects.filter(action="login.locked_out", data__username="no-such-user").exists()


@pytest.mark.parametrize(
    "password",
    [
        "paysage2024",  # the attack's password: short, and the product's name
        "Paysage2024!!",  # the product's name with a year and symbols, 13 characters
        "2024paytrace2024",
        "Password12345!",  # a common password with digits and a symbol
        "Xk9#mQ2$vB7",  # random but 11 characters
        "839201746352",  # digits only
        "peanutbutter",  # on Django's common-password list
        "peanutbutter2025",  # the same with a year
    ],
)
def test_weak_passwords_are_refused(password):
    with pytest.raises(ValidationError):
        validate_password(password, user=UserFactory.build(username="finance"))


def test_a_long_random_password_is_accepted():
    validate_password("tangerine-Rocket-41-velvet", user=UserFactory.build(username="finance"))


def test_the_admin_refuses_to_set_a_weak_password():
    client = Client()
    client.force_login(staff_user(role=None))
    response = client.post(
        "/admin/auth/user/add/",
        {
            "username": "newcomer",
            "password1": "paysage2024",
            "password2": "paysage2024",
            "usable_password": "true",
        },
    )
    assert response.status_code == 200
    assert b"This password is too short. It must contain at least 12 characters." in response.content
    assert not type(staff_user(role=None)).objects.filter(username="newcomer").exists()


def test_the_demo_logins_pass_the_validators(tmp_path, monkeypatch):
    login_file = tmp_path / "admin-login.txt"
    login_file.write_text("admin: short\n")  # kept from an older demo, before the 12-character minimum
    monkeypatch.setattr(demo, "LOGIN_FILE", login_file)
    passwords = demo.demo_staff_ensure(login_file=login_file)
    user_model = type(UserFactory.build())
    for username, password in passwords.items():
        user = user_model.objects.get(username=username)
        validate_password(password, user=user)
        assert user.check_password(password)
    assert passwords["admin"] != "short"
    assert demo.demo_staff_ensure(login_file=login_file) == passwords  # kept once valid
