"""What the cluster's ledger answers, as a one-validator test cluster does: blocks (every slot is
one, its transactions with their metadata), the signatures that named an address, block
production, and the largest accounts it knows of."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction

from engine.domain import base58
from engine.simulator import commitment, rpc_params
from engine.simulator.blockhashes import blockhash_at
from engine.simulator.cluster import GENESIS_UNIX, SimChain
from engine.simulator.encoding import current_form, transaction_encoding, transaction_json
from engine.simulator.slots import SLOT_SECONDS
from engine.solana import jsonrpc as codes
from engine.solana.jsonrpc import RpcError
from engine.solana.pool_accounts import Account

MAX_BLOCK_RANGE = 500_000  # getBlocks, as a node bounds it
MAX_SIGNATURES = 1_000  # getSignaturesForAddress's limit
SEARCHED = 10_000  # signatures looked through for `before`/`until`
BLOCK_NOT_AVAILABLE = -32004
NO_SNAPSHOT = -32008
DETAILS = ("full", "accounts", "signatures", "none")
Handler = Callable[..., Awaitable[Any]]


class LedgerRpc:
    def __init__(self, chain: SimChain, identity: str,
                 known: Callable[[], Sequence[tuple[Pubkey, Account]]]) -> None:
        self._chain, self._identity, self._known = chain, identity, known

    def methods(self) -> dict[str, Handler]:
        return {"getBlock": self.get_block, "getBlocks": self.get_blocks,
                "getBlocksWithLimit": self.get_blocks_with_limit,
                "getSignaturesForAddress": self.get_signatures_for_address,
                "getBlockProduction": self.get_block_production,
                "getHighestSnapshotSlot": self.get_highest_snapshot_slot,
                "getInflationReward": self.get_inflation_reward,
                "getLargestAccounts": self.get_largest_accounts}

    async def get_block(self, slot: int, wrapper: dict[str, Any] | str | None = None
                        ) -> dict[str, Any]:
        slot = _slot(slot, "slot")
        config = current_form(wrapper)
        details = config.get("transactionDetails") or "full"
        if details not in DETAILS:
            raise rpc_params.unknown_variant(details, DETAILS)
        transaction_encoding(config)
        commitment.at_least_confirmed(config)
        if slot > commitment.seen(self._chain.block_height, config):  # finalized: rooted only
            raise RpcError(BLOCK_NOT_AVAILABLE, f"Block not available for slot {slot}")
        await self._chain.history.settled()
        landed = [(payload, meta) for _, payload, meta in self._chain.history.in_slots(slot, slot)]
        return block_json(slot, landed, config)

    async def get_blocks(self, start: int, end: int | dict[str, Any] | None = None,
                         config: dict[str, Any] | None = None) -> list[int]:
        """The slots from `start` to `end` (or the newest the commitment sees) that hold a
        block: every slot here. `end` may be left out with the configuration in its place."""
        if isinstance(end, dict):
            end, config = None, end
        start = _slot(start, "start_slot")
        commitment.at_least_confirmed(config)
        newest = commitment.seen(self._chain.block_height, config)
        last = newest if end is None else min(_slot(end, "end_slot"), newest)
        if last - start > MAX_BLOCK_RANGE:
            raise RpcError(codes.INVALID_PARAMS, f"Slot range too large; max {MAX_BLOCK_RANGE}")
        return list(range(start, last + 1))

    async def get_blocks_with_limit(self, start: int, limit: int,
                                    config: dict[str, Any] | None = None) -> list[int]:
        start, limit = _slot(start, "start_slot"), _slot(limit, "limit")
        commitment.at_least_confirmed(config)
        if limit > MAX_BLOCK_RANGE:
            raise RpcError(codes.INVALID_PARAMS, f"Limit too large; max {MAX_BLOCK_RANGE}")
        newest = commitment.seen(self._chain.block_height, config)
        return list(range(start, min(start + limit - 1, newest) + 1))

    async def get_signatures_for_address(self, address: str,
                                         config: dict[str, Any] | None = None
                                         ) -> list[dict[str, Any]]:
        rpc_params.pubkey(address)
        config = config if isinstance(config, dict) else {}
        limit = config.get("limit")
        limit = MAX_SIGNATURES if limit is None else limit
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= \
                MAX_SIGNATURES:
            raise RpcError(codes.INVALID_PARAMS, f"Invalid limit; max {MAX_SIGNATURES}")
        commitment.at_least_confirmed(config)
        await self._chain.history.settled()
        found = self._chain.history.naming(address, SEARCHED)
        before, until = config.get("before"), config.get("until")
        if before is not None:
            found = found[next((n + 1 for n, (s, _) in enumerate(found) if s == before),
                               len(found)):]
        if until is not None:
            found = found[:next((n for n, (s, _) in enumerate(found) if s == until), len(found))]
        height, out = self._chain.block_height, []
        newest = commitment.seen(height, config)  # finalized: what rooted blocks hold
        found = [(signature, slot) for signature, slot in found if slot <= newest]
        for signature, slot in found[:limit]:
            landed = await self._chain.status(signature)
            err = None
            if landed is not None and landed.err is not None:
                detail = await self._chain.transaction(signature)
                err = detail[2]["err"] if detail else landed.err
            out.append({"signature": signature, "slot": slot, "err": err,
                        "memo": _memo(landed.memo if landed else ""),
                        "blockTime": GENESIS_UNIX + int(slot * SLOT_SECONDS),
                        "confirmationStatus": "finalized" if slot <= commitment.root(height)
                        else "confirmed"})
        return out

    async def get_block_production(self, config: dict[str, Any] | None = None
                                   ) -> dict[str, Any]:
        height = self._chain.block_height
        return {"context": self._context(), "value": {
            "byIdentity": {self._identity: [height + 1, height + 1]},
            "range": {"firstSlot": 0, "lastSlot": height}}}

    async def get_highest_snapshot_slot(self) -> dict[str, Any]:
        raise RpcError(NO_SNAPSHOT, "No snapshot")  # a test validator takes none

    async def get_inflation_reward(self, addresses: list[str],
                                   config: dict[str, Any] | None = None) -> list[None]:
        if not isinstance(addresses, list) or not all(
                isinstance(a, str) and base58.is_public_key(a) for a in addresses):
            raise RpcError(codes.INVALID_PARAMS, "Invalid params: a list of addresses")
        return [None for _ in addresses]  # no epoch has paid rewards yet

    async def get_largest_accounts(self, config: dict[str, Any] | None = None
                                   ) -> dict[str, Any]:
        """The largest by lamports among the accounts this node keeps (its wallets, pools,
        vaults, programs and what transactions made), at most 20, as a node answers."""
        known = sorted(self._known(), key=lambda pair: pair[1].lamports, reverse=True)[:20]
        return {"context": self._context(), "value": [
            {"address": str(address), "lamports": account.lamports} for address, account in known]}

    def _context(self) -> dict[str, Any]:
        return {"slot": self._chain.block_height, "apiVersion": "2.2.0"}


def block_json(slot: int, landed: list[tuple[str, dict[str, Any]]],
               config: dict[str, Any]) -> dict[str, Any]:
    """A block as getBlock and blockSubscribe give it, with `transactionDetails` as asked."""
    details = config.get("transactionDetails") or "full"
    block: dict[str, Any] = {
        "blockHeight": slot, "blockTime": GENESIS_UNIX + int(slot * SLOT_SECONDS),
        "blockhash": blockhash_at(slot), "parentSlot": max(slot - 1, 0),
        "previousBlockhash": blockhash_at(max(slot - 1, 0))}
    if details == "full":
        block["transactions"] = [transaction_json(payload, meta, config)
                                 for payload, meta in landed]
    elif details == "accounts":
        block["transactions"] = [_accounts_only(payload, meta) for payload, meta in landed]
    elif details == "signatures":
        block["signatures"] = [str(VersionedTransaction.from_bytes(
            base64.b64decode(payload)).signatures[0]) for payload, _ in landed]
    if config.get("rewards") is not False:
        block["rewards"] = []
    return block


def vote_json(slot: int, vote_account: str) -> dict[str, Any]:
    """The one validator's vote on a slot, as voteSubscribe sends it."""
    signature = hashlib.sha512(f"vote {vote_account} {slot}".encode()).digest()
    return {"hash": blockhash_at(slot), "slots": [slot], "timestamp": GENESIS_UNIX + int(
        slot * SLOT_SECONDS), "signature": base58.encode(signature), "votePubkey": vote_account}


def _slot(value: Any, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise RpcError(codes.INVALID_PARAMS, f"Invalid params: {name} is a slot (u64)")
    return value


def _memo(text: str) -> str | None:
    """The memo as getSignaturesForAddress shows it: its length in brackets, then the text."""
    return f"[{len(text)}] {text}" if text else None


def _accounts_only(payload: str, meta: dict[str, Any]) -> dict[str, Any]:
    """transactionDetails "accounts": the signatures and account keys, and the meta's
    balances only."""
    tx = VersionedTransaction.from_bytes(base64.b64decode(payload))
    message = tx.message
    header, keys = message.header, message.account_keys
    signers = header.num_required_signatures

    def writable(n: int) -> bool:  # the header's rule: signers first, read-only ones last
        if n < signers:
            return n < signers - header.num_readonly_signed_accounts
        return n < len(keys) - header.num_readonly_unsigned_accounts

    return {"transaction": {"signatures": [str(s) for s in tx.signatures], "accountKeys": [
        {"pubkey": str(k), "signer": n < signers, "source": "transaction",
         "writable": writable(n)} for n, k in enumerate(keys)]},
        "meta": {k: meta[k] for k in ("err", "fee", "preBalances", "postBalances",
                                      "preTokenBalances", "postTokenBalances") if k in meta}}
