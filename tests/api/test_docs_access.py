"""/api/schema/ and /api/docs/ need an authenticated caller unless API_DOCS_PUBLIC is on (the dev
default; production-like environments default it off, see tests/portal/test_deploy_settings.py)."""

import pytest
from django.test import Client, override_settings

from tests.staff import staff_user

DOC_URLS = ("/api/schema/", "/api/docs/")

pytestmark = pytest.mark.django_db


@override_settings(API_DOCS_PUBLIC=False)
@pytest.mark.parametrize("url", DOC_URLS)
def test_private_docs_refuse_an_anonymous_caller(url):
    response = Client().get(url)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Token"
    assert b"openapi" not in response.content


@override_settings(API_DOCS_PUBLIC=False)
@pytest.mark.parametrize("url", DOC_URLS)
def test_private_docs_serve_a_token(api, url):
    assert api.get(url).status_code == 200


@override_settings(API_DOCS_PUBLIC=False)
@pytest.mark.parametrize("url", DOC_URLS)
def test_private_docs_serve_staff_logged_into_the_admin(url):
    client = Client()
    client.force_login(staff_user(role=None))
    assert client.get(url).status_code == 200


@override_settings(API_DOCS_PUBLIC=True)
@pytest.mark.parametrize("url", DOC_URLS)
def test_public_docs_serve_anyone(url):
    response = Client().get(url)
    assert response.status_code == 200
