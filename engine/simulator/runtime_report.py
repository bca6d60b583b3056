"""What the programs' runtime reports, as a node reports it: a transaction's error in a node's
JSON (`meta.err`), the engine's name for it with a one-line reason, and inner instructions as
getTransaction's meta lists them."""

from __future__ import annotations

from solders.transaction import VersionedTransaction
from solders.transaction_metadata import TransactionMetadata
from solders.transaction_status import InstructionErrorCustom, TransactionErrorInstructionError

from engine.domain import base58
from engine.solana.programs import EXCEEDED_MAXIMUM_IN, EXCEEDED_SLIPPAGE, PROGRAMS

# SPL Token's "insufficient funds" and AMM v4's own: a wallet short of its input.
SHORT_OF_FUNDS = {("token", 1), ("amm_v4", 40)}


def node_error(error: object) -> object:
    """solders' error as a node's JSON: {"InstructionError": [2, {"Custom": 6005}]}, or a
    transaction-level name such as "InsufficientFundsForFee"."""
    if isinstance(error, TransactionErrorInstructionError):
        inner = error.err
        detail: object = ({"Custom": int(inner.code)} if isinstance(inner, InstructionErrorCustom)
                          else _name(inner))
        return {"InstructionError": [int(error.index), detail]}
    return _name(error)


def _name(error: object) -> str:
    """A fieldless error's variant name (`TransactionErrorFieldless.AccountNotFound`)."""
    return str(error).rsplit(".", 1)[-1].split("(")[0]


def engine_code(err: object, transaction: VersionedTransaction,
                 logs: tuple[str, ...]) -> tuple[str, str]:
    """The engine's name for a program's error, and a one-line reason."""
    if not isinstance(err, dict):
        return ("INSUFFICIENT_FUNDS" if "InsufficientFunds" in str(err) else "TRANSACTION_ERROR",
                str(err))
    index, detail = err["InstructionError"]
    keys = transaction.message.account_keys
    program = keys[transaction.message.instructions[index].program_id_index]
    kind = next((k for k, p in PROGRAMS.items() if p == program), "token"
                if str(program).startswith("Tokenkeg") else str(program))
    reason = next((line for line in reversed(logs) if "Error Message" in line or "failed" in line),
                  str(detail))
    if isinstance(detail, dict):
        custom = int(detail["Custom"])
        if (kind, custom) in SHORT_OF_FUNDS:
            return "INSUFFICIENT_FUNDS", reason
        if custom in (EXCEEDED_SLIPPAGE.get(kind), EXCEEDED_MAXIMUM_IN.get(kind)):
            return "SLIPPAGE_EXCEEDED", reason
    if detail == "ComputationalBudgetExceeded" or "exceeded CUs" in reason:
        return "COMPUTE_BUDGET_EXCEEDED", reason
    return "PROGRAM_ERROR", reason


def inner_instructions(meta: TransactionMetadata) -> list[dict[str, object]]:
    """Inner instructions as getTransaction's meta lists them (programs and data, compiled)."""
    out: list[dict[str, object]] = []
    for index, group in enumerate(meta.inner_instructions()):
        if group:
            compiled = [(inner.instruction(), inner.stack_height) for inner in group]
            out.append({"index": index, "instructions": [
                {"programIdIndex": ix.program_id_index, "accounts": list(ix.accounts),
                 "data": base58.encode(bytes(ix.data)), "stackHeight": height()}
                for ix, height in compiled]})
    return out
