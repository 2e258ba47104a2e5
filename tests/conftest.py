import pytest


@pytest.fixture
def sandbox_base(live_server) -> str:
    """Base URL of the simulators, served over real HTTP by the live test server."""
    return f"{live_server.url}/sandbox"
