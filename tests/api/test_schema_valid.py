"""/api/schema/ is a valid OpenAPI document, and every example it offers is valid against its own schema
(the defaults too): what Swagger UI pre-fills can be sent as it is."""

import pytest
import yaml
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate

from tests.api.conftest import order_body
from tests.factories import ConnectionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def spec(client) -> dict:
    response = client.get("/api/schema/")
    assert response.status_code == 200
    return yaml.safe_load(response.content)


def _valid(spec: dict, schema: dict, value) -> list[str]:
    validator = OAS30Validator({**schema, "components": spec["components"]})
    return [error.message for error in validator.iter_errors(value)]


def test_the_schema_passes_openapi_spec_validator(spec):
    validate(spec)


def test_every_request_example_is_valid(spec):
    checked = 0
    for path in spec["paths"].values():
        for operation in path.values():
            for content in operation.get("requestBody", {}).get("content", {}).values():
                for name, example in content.get("examples", {}).items():
                    assert _valid(spec, content["schema"], example["value"]) == [], name
                    checked += 1
    assert checked >= 2


def test_every_default_is_valid_against_its_property(spec):
    for name, component in spec["components"]["schemas"].items():
        for field, prop in component.get("properties", {}).items():
            if "default" in prop:
                assert _valid(spec, prop, prop["default"]) == [], f"{name}.{field}"


def test_no_money_or_quantity_input_takes_a_sign(spec):
    checked = set()
    for name in ("OrderLineInputRequest", "RefundRequestRequest", "OrderInputRequest"):
        for field, prop in spec["components"]["schemas"][name]["properties"].items():
            if any(branch.get("format") == "decimal" for branch in prop.get("oneOf", [])):
                assert _valid(spec, prop, "-16.") and _valid(spec, prop, -16), f"{name}.{field}"
                assert not _valid(spec, prop, "16.5") and not _valid(spec, prop, 16.5), f"{name}.{field}"
                checked.add(field)
    assert checked == {"quantity", "unit_price", "amount", "total"}


def test_text_fields_take_strings_only(api):
    ConnectionFactory(system="sage_300", base_url="http://127.0.0.1:9/sandbox/sage300")
    response = api.post("/api/v1/orders/", order_body(invoice_number=0, order_id=1001), format="json")
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) >= {"invoice_number", "order_id"}
