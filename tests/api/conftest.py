import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache
from rest_framework.test import APIClient

from payments.services.api_tokens import IssuedApiToken, api_token_create
from portal.roles import STOREFRONT
from tests.factories import UserFactory


@pytest.fixture(autouse=True)
def _fresh_cache(request):
    # Throttle counters and remembered SKUs live in the shared cache (a database table without Redis):
    # no test that uses the database sees another's.
    marked = request.node.get_closest_marker("django_db") is not None
    if not (marked or {"db", "transactional_db"} & set(request.fixturenames)):
        yield
        return
    cache.clear()
    yield
    cache.clear()


def storefront_user(username: str = "storefront"):
    """A storefront's user as made in the admin: in the Storefront group, no permission of its own."""
    user = UserFactory(username=username, is_staff=False)
    user.groups.add(Group.objects.get(name=STOREFRONT))
    return user


@pytest.fixture
def api_token(db) -> IssuedApiToken:
    """A storefront's token and its key."""
    return api_token_create(actor=None, user=storefront_user())


@pytest.fixture
def api(api_token) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token.key}")
    return client


def order_body(order_id: str = "WEB-9001", erp: str = "sage_300", **overrides) -> dict:
    body = {
        "order_id": order_id,
        "erp": erp,
        "currency": "USD",
        "customer": {
            "email": "ap@acme-outdoor.example",
            "name": "Acme Outdoor Supply",
            "phone": "206-555-0101",
            "billing_address": {
                "line1": "100 Pike St",
                "city": "Seattle",
                "state": "WA",
                "postal_code": "98101",
                "country": "US",
            },
        },
        "lines": [
            {"sku": "TENT-2P", "description": "Two-person tent", "quantity": "2", "unit_price": "249.00"},
            {"sku": "STOVE-1", "description": "Camp stove", "quantity": 1, "unit_price": "64.99"},
        ],
    }
    body.update(overrides)
    return body
