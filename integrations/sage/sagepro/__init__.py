"""Sage Pro connector: our REST gateway or CSV drop-folder contract (see `contract.py`)."""

from integrations.sage.sagepro.connector import SageProConnector

__all__ = ["SageProConnector"]
