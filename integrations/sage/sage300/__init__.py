"""Sage 300 (Accpac) over its Web API: `Sage300Connector` is what the registry builds."""

from integrations.sage.sage300.connector import Sage300Connector

__all__ = ["Sage300Connector"]
