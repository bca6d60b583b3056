"""What the simulated cluster refuses: a configuration that funds another wallet than its
record, and transactions a node refuses before or instead of landing them (its JSON-RPC face,
`rpc_server`, words each as a node does)."""

from __future__ import annotations

from engine.simulator.execution import Outcome


class WalletMismatch(Exception):
    """The configuration funds another wallet than the cluster's record holds."""


class PreflightFailed(Exception):
    """The preflight simulation ran the transaction and it failed: a node answers -32002 with
    the program's error and logs, and nothing is charged."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome.message or str(outcome.err))
        self.outcome = outcome


class AlreadyProcessed(Exception):
    """A rebroadcast of a transaction that has landed: the cluster does not run it twice."""
