import pytest

from tests import pci_capture


def pytest_configure(config):
    pci_capture.install()


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(session, config, items):
    # The PCI scan reads what every other test wrote, so it must run last, and in the order its file
    # defines (it plants before it scans), whatever order pytest-django gave the database tests.
    scan = [item for item in items if item.get_closest_marker("pci_scan") is not None]
    rest = [item for item in items if item.get_closest_marker("pci_scan") is None]
    items[:] = rest + sorted(scan, key=lambda item: (str(item.path), item.reportinfo()[1] or 0))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    """A live-server test with `available_apps` flushes the auth tables but re-creates only its own apps'
    permissions (Django emits post_migrate for those alone): once its flush is done, put every app's
    content types, permissions and roles back, so no test depends on which ran before it."""
    yield
    marker = item.get_closest_marker("django_db")
    if nextitem is None or marker is None or not marker.kwargs.get("available_apps"):
        return  # the last test's teardown has dropped the test database already
    from django.core.management.sql import emit_post_migrate_signal
    from pytest_django.plugin import blocking_manager_key

    with item.config.stash[blocking_manager_key].unblock():
        emit_post_migrate_signal(verbosity=0, interactive=False, db="default")


@pytest.fixture
def sandbox_base(live_server) -> str:
    """Base URL of the simulators, served over real HTTP by the live test server."""
    return f"{live_server.url}/sandbox"


@pytest.fixture
def paytrace_connection(sandbox_base):
    """A PayTrace connection to the live sandbox, with the demo account and its vault customers."""
    from simulators.paytrace.services.accounts import (
        sandbox_paytrace_account_ensure,
        sandbox_paytrace_seed,
    )
    from tests.factories import ConnectionFactory

    sandbox_paytrace_account_ensure(username="demo", password="demo-password", integrator_id="PAYSAGE01")
    sandbox_paytrace_seed(username="demo")
    return ConnectionFactory(
        name="paytrace-sandbox",
        system="paytrace",
        base_url=f"{sandbox_base}/paytrace",
        credentials={"username": "demo", "password": "demo-password", "integrator_id": "PAYSAGE01"},
        options={"timezone": "America/Los_Angeles", "timeout": 5},
    )


@pytest.fixture
def paytrace_client(paytrace_connection):
    from integrations.paytrace.client import PayTraceClient

    return PayTraceClient.from_connection(paytrace_connection)


@pytest.fixture
def demo_world(live_server):
    """The demo world of `make run`, its connections pointed at the live test server."""
    from portal import demo

    connections = demo.demo_connections_ensure(base_url=live_server.url)
    demo.demo_mappings_ensure()
    demo.demo_sandboxes_seed()
    customers = demo.demo_customers_ensure(connections=connections)
    demo.demo_invoices_ensure(connections=connections, customers=customers)
    return {"connections": connections, "customers": customers}
