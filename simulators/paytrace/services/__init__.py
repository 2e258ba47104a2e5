"""Writes of the PayTrace simulator. The three `sandbox_paytrace_*` functions are its public API for
tests, `make run` and the demo command."""

from simulators.paytrace.services.accounts import (
    sandbox_paytrace_account_ensure,
    sandbox_paytrace_seed,
    sandbox_paytrace_tokens_expire,
)

__all__ = ["sandbox_paytrace_account_ensure", "sandbox_paytrace_seed", "sandbox_paytrace_tokens_expire"]
