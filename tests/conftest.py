import pytest

from tests import pci_capture


def pytest_configure(config):
    pci_capture.install()


def pytest_collection_modifyitems(session, config, items):
    # The PCI scan reads what every other test wrote, so it must run last.
    items.sort(key=lambda item: item.get_closest_marker("pci_scan") is not None)


@pytest.fixture
def sandbox_base(live_server) -> str:
    """Base URL of the simulators, served over real HTTP by the live test server."""
    return f"{live_server.url}/sandbox"
