"""The README's "add an ERP" recipe, followed in a test: a fourth ERP is registered at run time with
`erp_register`, its connector (`fake_erp.py`) subclasses `ErpConnector` and talks over real HTTP to a small
fake ERP, and the shared connector suite runs against it unchanged."""

from collections.abc import Iterator

import pytest

from integrations.erps import Erp, erp_get, erp_register, erp_unregister
from integrations.models import Connection
from integrations.sage.registry import connector_for
from tests.factories import ConnectionFactory
from tests.integrations.connectors.base import ConnectorSuite, ErpFacts, today
from tests.integrations.connectors.fake_erp import FakeConnector
from tests.integrations.connectors.fake_erp_server import FakeErpServer

pytestmark = pytest.mark.django_db

API_KEY = "fake-erp-key"
FAKE_ERP = Erp(
    member="FAKE_ERP",
    code="fake_erp",
    label="Fake ERP",
    connector="tests.integrations.connectors.fake_erp.FakeConnector",
    simulator="fake",
)


@pytest.fixture
def server() -> Iterator[FakeErpServer]:
    server = FakeErpServer(api_key=API_KEY, today=today()).start()
    yield server
    server.stop()


@pytest.fixture
def registered() -> Iterator[Erp]:
    erp_register(FAKE_ERP)
    yield FAKE_ERP
    erp_unregister(FAKE_ERP.code)


def _connection(server: FakeErpServer, **options) -> Connection:
    return ConnectionFactory(
        system=FAKE_ERP.code,
        base_url=server.url,
        credentials={"api_key": API_KEY},
        options={"timeout": 5, **options},
    )


@pytest.fixture
def make_erp(registered, server):
    return lambda **options: connector_for(_connection(server, **options))


@pytest.fixture
def erp(make_erp) -> FakeConnector:
    return make_erp()


class TestFakeErp(ConnectorSuite):
    """Every promise of `ErpConnector`, kept by an ERP that writes only its payloads and error mapping."""

    erp_facts = ErpFacts(
        secret=API_KEY,
        journal_accounts=("1000", "6100", "1050"),
        unknown_account="9999",
        refund_account="4100",
    )

    @pytest.fixture
    def faults(self, server) -> FakeErpServer:
        return server  # its faults live in the fake ERP, counted like the simulators'


def test_the_registered_erp_is_found_by_code_and_built_from_its_connection(registered, server):
    assert erp_get("fake_erp") == FAKE_ERP
    connector = connector_for(_connection(server, receipt_batch_size=3))
    assert type(connector) is FakeConnector
    assert connector.system == "fake_erp"
    assert (connector.receipt_batch_size, connector.settings.timeout) == (3, 5.0)
    assert connector_for(_connection(server)).receipt_batch_size == FakeConnector.default_receipt_batch_size


def test_an_unregistered_erp_has_no_connector(server):
    connection = _connection(server)
    with pytest.raises(ValueError, match="not an ERP connection"):
        connector_for(connection)


def test_a_wrong_key_fails_the_connection_test_with_the_erps_message(registered, server):
    connection = _connection(server)
    connection.credentials = {"api_key": "wrong"}
    check = connector_for(connection).connection_test()
    assert not check.ok and check.message == "[AUTH] Unknown API key"
