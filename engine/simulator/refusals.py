"""What the simulated cluster refuses: a configuration that funds another wallet than its
record, and transactions a node refuses before or instead of landing them (its JSON-RPC face,
`rpc_server`, words each as a node does)."""

from __future__ import annotations

from engine.domain.errors import InsufficientFunds
from engine.simulator.execution import Outcome, Runs
from engine.simulator.message import Message


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


def preflight_check(runs: Runs, message: Message, now: int, lamports: int, *, simulate: bool,
              bytecode: bool) -> None:
    """What a node refuses before it forwards a transaction (raises `PreflightFailed`): a
    wallet that cannot pay its fee (dropped, preflight or not), one that cannot pay its swaps
    (with a preflight, the simulation's error; without one it lands, fails and pays its fee),
    and with the programs, any failure of the preflight simulation. Nothing is charged."""
    if runs.shortfall(message) is not None:
        if lamports < message.fee:
            raise PreflightFailed(Outcome(err="InsufficientFundsForFee",
                                          code=InsufficientFunds.code))
        if simulate:
            raise PreflightFailed(runs.run(message, now, dry=True))
    if simulate and bytecode:  # the programs run it first, as a node's preflight does
        simulated = runs.run(message, now, dry=True)
        if simulated.err is not None:
            raise PreflightFailed(simulated)
