"""/api/schema/ is a valid OpenAPI document, and every example it offers is valid against its own schema
(the defaults too): what Swagger UI pre-fills can be sent as it is."""

import pytest
import yaml
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate

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
    for name in ("OrderLineInputRequest", "RefundRequestRequest", "OrderInputRequest"):
        for field, prop in spec["components"]["schemas"][name]["properties"].items():
            if prop.get("format") == "decimal":
                assert _valid(spec, prop, "-16.") and not _valid(spec, prop, "16.5"), f"{name}.{field}"
