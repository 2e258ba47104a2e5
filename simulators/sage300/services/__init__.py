"""Writes of the Sage 300 simulator, one module per Sage module."""

from simulators.sage300.services.company import sandbox_sage300_company_ensure, sandbox_sage300_seed

__all__ = ["sandbox_sage300_company_ensure", "sandbox_sage300_seed"]
