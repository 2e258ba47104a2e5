"""API tokens in the admin: listed by prefix, never by key; a key shown once, on the page after "Save";
only a superuser makes or revokes another user's token; revocation audited and effective."""

import pytest
from django.contrib.admin import helpers
from django.contrib.auth.models import Permission
from django.urls import reverse
from knox.models import AuthToken
from rest_framework.test import APIClient

from integrations.models import AuditEvent
from payments.services.api_tokens import api_token_create
from portal.roles import AUDITOR, INTEGRATION_ADMIN
from tests.api.conftest import storefront_user
from tests.factories import UserFactory
from tests.staff import staff_user

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:knox_authtoken_changelist")
ADD = reverse("admin:knox_authtoken_add")


def change_url(token: AuthToken) -> str:
    return reverse("admin:knox_authtoken_change", args=[token.pk])


def delete_url(token: AuthToken) -> str:
    return reverse("admin:knox_authtoken_delete", args=[token.pk])


@pytest.fixture
def root():
    return staff_user(role=None)


@pytest.fixture
def shop():
    return storefront_user()


def token_clerk():
    """A staff user holding the token model's own permissions, and no superuser rights."""
    clerk = UserFactory(username="clerk")
    clerk.user_permissions.add(*Permission.objects.filter(content_type__app_label="knox"))
    return clerk


def api_status(key: str) -> int:
    """404 for a storefront's working key (the order is unknown), 403 for a working key without the API's
    permissions, 401 for a key that does not authenticate."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client.get("/api/v1/orders/NOPE/").status_code


def secret_part(key: str) -> str:
    return key[15:]  # everything after the listed prefix


def test_a_listed_token_shows_its_prefix_user_and_dates_never_its_key(client, root, shop):
    issued = api_token_create(actor=root, user=shop)
    client.force_login(root)
    for page in (client.get(CHANGELIST), client.get(change_url(issued.token))):
        assert page.status_code == 200
        text = page.content.decode()
        assert f"{issued.token.token_key}…" in text and "storefront" in text
        assert secret_part(issued.key) not in text
    assert not client.get(change_url(issued.token)).context["has_change_permission"]


def test_a_key_is_shown_once_on_the_page_after_save_and_never_again(client, root, shop):
    client.force_login(root)
    form = client.get(ADD)
    assert "_continue" not in form.content.decode() and "_addanother" not in form.content.decode()

    shown = client.post(ADD, {"user": shop.pk})
    assert shown.status_code == 200
    assert "no-store" in shown["Cache-Control"]
    key = shown.context["key"]
    assert key in shown.content.decode() and api_status(key) == 404
    token = AuthToken.objects.get()
    assert token.user == shop and token.expiry is None

    for page in (client.get(CHANGELIST), client.get(change_url(token)), client.get(reverse("admin:index"))):
        assert secret_part(key) not in page.content.decode()
    event = AuditEvent.objects.get()
    assert (event.action, event.actor, event.data["user"]) == ("api_token_created", root, "storefront")


def test_the_integration_admin_cannot_make_a_token_for_the_superuser(client, root):
    client.force_login(staff_user(role=INTEGRATION_ADMIN))
    assert client.get(ADD).status_code == 403
    assert client.post(ADD, {"user": root.pk}).status_code == 403
    assert not AuthToken.objects.exists() and not AuditEvent.objects.exists()


def test_a_non_superuser_with_the_add_permission_makes_tokens_only_for_themselves(client, root):
    clerk = token_clerk()
    client.force_login(clerk)
    offered = client.get(ADD).context["adminform"].form.fields["user"].queryset
    assert list(offered) == [clerk]

    refused = client.post(ADD, {"user": root.pk})
    assert refused.status_code == 200 and refused.context["adminform"].form.errors["user"]
    assert not AuthToken.objects.exists()

    shown = client.post(ADD, {"user": clerk.pk})
    assert AuthToken.objects.get().user == clerk and api_status(shown.context["key"]) == 403
    assert AuditEvent.objects.get().actor == clerk


def test_a_non_superuser_sees_and_revokes_only_their_own_tokens(client, root, shop):
    clerk = token_clerk()
    theirs = api_token_create(actor=root, user=shop)
    own = api_token_create(actor=clerk, user=clerk)
    client.force_login(clerk)
    listed = client.get(CHANGELIST)
    assert list(listed.context["cl"].result_list) == [own.token]
    assert client.get(change_url(theirs.token)).status_code == 302  # "does not exist" to them

    client.post(delete_url(theirs.token), {"post": "yes"})
    client.post(
        CHANGELIST,
        {"action": "delete_selected", "post": "yes", helpers.ACTION_CHECKBOX_NAME: [theirs.token.pk]},
    )
    assert AuthToken.objects.filter(pk=theirs.token.pk).exists() and api_status(theirs.key) == 404

    client.post(delete_url(own.token), {"post": "yes"})
    assert list(AuthToken.objects.all()) == [theirs.token]


def test_an_auditor_lists_no_key(client, root, shop):
    issued = api_token_create(actor=root, user=shop)
    client.force_login(staff_user(role=AUDITOR))
    listed = client.get(CHANGELIST)
    # Refused outright once role groups hold no token permission; until then an auditor sees only their own.
    assert listed.status_code == 403 or issued.token.token_key not in listed.content.decode()
    assert secret_part(issued.key) not in listed.content.decode()


@pytest.mark.parametrize("bulk", [False, True], ids=["delete page", "delete action"])
def test_revocation_in_the_admin_is_audited_and_the_key_stops_working(client, root, shop, bulk):
    issued = api_token_create(actor=root, user=shop)
    assert api_status(issued.key) == 404
    client.force_login(root)
    if bulk:
        body = {"action": "delete_selected", "post": "yes", helpers.ACTION_CHECKBOX_NAME: [issued.token.pk]}
        client.post(CHANGELIST, body)
    else:
        client.post(delete_url(issued.token), {"post": "yes"})
    assert not AuthToken.objects.exists() and api_status(issued.key) == 401
    revoked = AuditEvent.objects.get(action="api_token_revoked")
    assert (revoked.actor, revoked.data["user"], revoked.data["token_prefix"]) == (
        root,
        "storefront",
        issued.key[:15],
    )


def test_a_staff_user_without_token_permissions_gets_403(client):
    client.force_login(UserFactory(username="plain-staff"))
    assert client.get(CHANGELIST).status_code == 403
    assert client.get(ADD).status_code == 403
