"""JSON-RPC errors and transaction errors as the engine acts on them: transient ones are
retried, a timeout may still land, a preflight failure or a failed landing names the program's
error in the engine's codes."""

from __future__ import annotations

from typing import Any

from engine.domain.errors import (
    BlockhashNotFound,
    EngineError,
    InsufficientFunds,
    NodeTimeout,
    NodeUnhealthy,
    OutOfCompute,
    PermanentError,
    RateLimited,
    SendTimeout,
    SlippageExceeded,
    TransientError,
)
from engine.solana import jsonrpc as codes
from engine.solana.jsonrpc import RpcError, RpcTimeout

SLIPPAGE_CODES = {30, 6005, 6003, 6104}  # AMM v4, CPMM, DLMM (and DLMM's exact out)
# SPL Token's InsufficientFunds (CPMM and DLMM find it in the transfer); AMM v4 checks first.
INSUFFICIENT_CODES = {1, 40}


class AlreadyProcessed(PermanentError):
    """A rebroadcast of a transaction that landed already."""

    code = "ALREADY_PROCESSED"


def translate(error: RpcError) -> EngineError:
    """JSON-RPC errors as the engine acts on them: transient ones are retried, a timeout may
    still land, a preflight failure names the program's error."""
    if isinstance(error, RpcTimeout):
        # Only a send may have done something: a read that timed out is just asked again.
        return SendTimeout(error.message) if error.method == "sendTransaction" else (
            NodeTimeout(error.message))
    if error.code == codes.RATE_LIMITED_HTTP:
        return RateLimited(error.message)
    if error.code == codes.NODE_UNHEALTHY:
        return NodeUnhealthy(error.message)
    err = error.transaction_error
    if error.code == codes.PREFLIGHT_FAILURE:
        if err == "BlockhashNotFound":
            return BlockhashNotFound(error.message)
        if err == "AlreadyProcessed":
            return AlreadyProcessed(error.message)
        code = error_code(err)
        if code == InsufficientFunds.code:
            return InsufficientFunds(error.message)
        if code == SlippageExceeded.code:  # the preflight ran the program and it refused
            return SlippageExceeded(f"{error.message} {err}")
        if code == OutOfCompute.code:
            return OutOfCompute(f"{error.message} {err}")
        return PermanentError(f"{error.message} {err}", code=code)
    if error.code == codes.SIGNATURE_VERIFICATION_FAILURE:
        return PermanentError(error.message, code="SIGNATURE_VERIFICATION_FAILED")
    return TransientError(error.message, code="RPC_ERROR") if error.code < -32000 else (
        PermanentError(error.message, code="RPC_INVALID_REQUEST"))


def error_code(err: Any) -> str:
    """The engine's code for a transaction error (`meta.err`)."""
    if err in ("AccountNotFound", "InsufficientFundsForFee"):  # the fee payer's SOL
        return InsufficientFunds.code
    if isinstance(err, dict) and "InstructionError" in err:
        _, failure = err["InstructionError"]
        custom = failure.get("Custom") if isinstance(failure, dict) else None
        if custom in SLIPPAGE_CODES:
            return "SLIPPAGE_EXCEEDED"
        if custom in INSUFFICIENT_CODES:
            return InsufficientFunds.code
        # A program that runs out of its units fails to complete (the budget's own error is
        # for the transaction's): both are the compute limit.
        if failure in ("ComputationalBudgetExceeded", "ProgramFailedToComplete"):
            return "COMPUTE_BUDGET_EXCEEDED"
    return "TRANSACTION_FAILED"
