"""simulateTransaction as a node answers it: run the transaction against the current state
and change nothing, with its options: `sigVerify`, `replaceRecentBlockhash` (the latest
blockhash put in first; not with `sigVerify`), `accounts` (the named accounts as the
simulation left them), `innerInstructions`, and a blockhash the node does not know (or that
expired) answered as `BlockhashNotFound` rather than run."""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from typing import Any

from solders.hash import Hash
from solders.message import Message as LegacyMessage
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction

from engine.simulator import commitment
from engine.simulator.cluster import SimChain
from engine.simulator.encoding import (
    MAX_ACCOUNTS,
    encode_account,
    encoding_of,
    wire_transaction,
)
from engine.solana import jsonrpc as codes
from engine.solana.jsonrpc import RpcError
from engine.solana.transaction import Rejected

Handler = Callable[..., Awaitable[Any]]


class SimulationRpc:
    def __init__(self, chain: SimChain, context: Callable[[], dict[str, Any]],
                 rejected: Callable[[Rejected], RpcError]) -> None:
        self._chain, self._context, self._rejected = chain, context, rejected

    def methods(self) -> dict[str, Handler]:
        return {"simulateTransaction": self.simulate_transaction}

    async def simulate_transaction(self, tx: str,
                                   config: dict[str, Any] | None = None) -> dict[str, Any]:
        config = config if isinstance(config, dict) else {}
        tx = wire_transaction(tx, config)
        verify, replace = bool(config.get("sigVerify")), bool(config.get("replaceRecentBlockhash"))
        if verify and replace:
            raise RpcError(codes.INVALID_PARAMS,
                           "sigVerify may not be used with replaceRecentBlockhash")
        wanted = _wanted_accounts(config.get("accounts"))
        if wanted is not None and self._chain.execution != "bytecode":
            raise RpcError(codes.INVALID_PARAMS, "simulateTransaction's accounts need the "
                                                 "programs' runtime (start with --programs)")
        replacement = None
        bank = commitment.seen(self._chain.block_height, config)  # finalized unless asked
        if replace:
            latest = self._chain.latest_blockhash(bank)
            tx = _with_blockhash(tx, latest.hash)
            replacement = {"blockhash": latest.hash,
                           "lastValidBlockHeight": latest.last_valid_height}
        try:
            if not replace and not self._known_blockhash(tx, bank):
                self._chain.read(tx, verify=verify)  # sanitised first (its lookups resolved),
                return {"context": self._context(), "value": {  # as a node does; then not run
                    "err": "BlockhashNotFound", "logs": [], "accounts": None,
                    "unitsConsumed": 0, "returnData": None, "innerInstructions": None,
                    "replacementBlockhash": None}}
            message, outcome = self._chain.simulate(
                tx, verify=verify, detail=wanted is not None or bool(config.get(
                    "innerInstructions")))
        except Rejected as error:
            raise self._rejected(error) from None
        accounts = None
        if wanted is not None:
            post = outcome.post_accounts or {}
            accounts = [encode_account(post.get(address), wanted[1], "base64")
                        for address in wanted[0]]
        return {"context": self._context(), "value": {
            "err": outcome.err, "logs": outcome.logs, "accounts": accounts,
            "unitsConsumed": message.units if outcome.units is None else outcome.units,
            "returnData": None,
            "innerInstructions": outcome.inner if config.get("innerInstructions") else None,
            "replacementBlockhash": replacement}}

    def _known_blockhash(self, tx: str, bank: int) -> bool:
        try:
            blockhash = str(VersionedTransaction.from_bytes(base64.b64decode(tx))
                            .message.recent_blockhash)
        except ValueError:
            return True  # not a transaction: its parsing refuses it, as a node's does
        return self._chain.blockhash_valid(blockhash, bank)


def _wanted_accounts(option: Any) -> tuple[list[Pubkey], dict[str, Any]] | None:
    """`accounts: {addresses, encoding}`: the addresses and their encoding, or None."""
    if option is None:
        return None
    try:
        addresses = [Pubkey.from_string(a) for a in option["addresses"]]
    except (TypeError, KeyError, ValueError):
        raise RpcError(codes.INVALID_PARAMS, "Invalid params: accounts is "
                                             "{addresses: [base58 pubkeys], encoding}") from None
    if len(addresses) > MAX_ACCOUNTS:
        raise RpcError(codes.INVALID_PARAMS, f"Too many accounts provided; max {MAX_ACCOUNTS}")
    config = {"encoding": option.get("encoding") or "base64"}
    if encoding_of(config, "base64") in ("base58", "binary"):
        raise RpcError(codes.INVALID_PARAMS, "base58 encoding not supported")
    return addresses, config


def _with_blockhash(tx: str, blockhash: str) -> str:
    """The same transaction (its signatures kept, no longer valid) with another blockhash."""
    try:
        found = VersionedTransaction.from_bytes(base64.b64decode(tx))
    except ValueError:
        return tx  # its parsing refuses it
    message = found.message
    recent = Hash.from_string(blockhash)
    if isinstance(message, MessageV0):
        replaced: MessageV0 | LegacyMessage = MessageV0(
            message.header, list(message.account_keys), recent, list(message.instructions),
            list(message.address_table_lookups))
    else:
        replaced = LegacyMessage.new_with_compiled_instructions(
            message.header.num_required_signatures,
            message.header.num_readonly_signed_accounts,
            message.header.num_readonly_unsigned_accounts, list(message.account_keys), recent,
            list(message.instructions))
    return base64.b64encode(bytes(VersionedTransaction.populate(
        replaced, list(found.signatures)))).decode()
