"""Sage X3 connector: see `connector.X3Connector`."""

from integrations.sage.x3.connector import X3Connector

__all__ = ["X3Connector"]
