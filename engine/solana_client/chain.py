"""The `Chain` port over Solana JSON-RPC: sign swaps with the wallet's keypair, price them
from the cluster's recent fees, size them by simulation, send them, and read each fill back
from the cluster's own record of the transaction."""

from __future__ import annotations

import base64
import math
from collections.abc import Sequence
from typing import Any, Protocol

from loguru import logger
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from engine.domain.errors import (
    PermanentError,
    SlippageExceeded,
    TransientError,
)
from engine.domain.tokens import ATA_RENT_LAMPORTS, SOL_DECIMALS, WSOL_MINT
from engine.domain.transactions import (
    Blockhash,
    Landed,
    Memo,
    SignedTransaction,
    SwapInstruction,
    TokenBalance,
)
from engine.ports import Clock, SolanaRpc
from engine.solana.accounts import MINT_DECIMALS, MINT_SIZE
from engine.solana.instructions import writable
from engine.solana.jsonrpc import RpcError
from engine.solana.lookup_tables import lookupable
from engine.solana.programs import TOKEN, PoolInfo
from engine.solana.transaction import (
    MAX_TRANSACTION_BYTES,
    Decoded,
    Rejected,
    decode,
    sign,
    wire,
)
from engine.solana.transaction import swap_instructions as build_swaps
from engine.solana_client.lookup_tables import LookupTables, Memory
from engine.solana_client.rpc_errors import AlreadyProcessed, error_code, translate

MAX_UNITS = 1_400_000  # what a transaction may ask for; the draft that is simulated asks it
MIN_UNITS = 50_000  # the floor under simulated units
UNIT_MARGIN = 1.10
AUTO_FLOOR, HIGH_FLOOR = 1_000, 100_000  # µlamports per CU when the market shows nothing
Priority = str | int  # "auto", "high", or µlamports per compute unit
MAX_REMEMBERED = 10_000
FATE_REMINDER = 150  # failed looks at a sent transaction (about a minute) between warnings
FAILED_LOOK_PAUSE = 0.1  # seconds after a failed look, on top of the poll


class PoolDirectory(Protocol):
    """Which pool an id or an account address is (its program, mints, fee tier, active bin)."""

    def pool_info(self, pool_id: str) -> PoolInfo: ...

    def pool_at(self, address: Pubkey) -> PoolInfo | None: ...


class RpcChain:
    def __init__(self, rpc: SolanaRpc, keypair: Keypair, pools: PoolDirectory, clock: Clock, *,
                 poll_seconds: float, max_priority_fee: int, memory: Memory | None,
                 always_preflight: bool = False) -> None:
        """`memory`: where the wallet's lookup tables are kept across restarts (None: for
        this process only). `always_preflight`: the node's preflight for every send (see
        `send`)."""
        self._rpc, self._keypair, self._pools, self._clock = rpc, keypair, pools, clock
        self._poll, self._max_fee = poll_seconds, max_priority_fee
        self._tables = LookupTables(rpc, keypair, clock, memory, poll_seconds=poll_seconds)
        self.owner = keypair.pubkey()
        self._pairs: dict[str, tuple[str, str]] = {}  # signature -> (mint in, mint out)
        self._simulated: set[str] = set()  # signed after a simulation that succeeded
        self._always_preflight = always_preflight

    @property
    def address(self) -> str:
        return str(self.owner)

    async def close(self) -> None:
        await self._rpc.close()

    async def execution(self) -> str:
        """What runs the cluster's transactions, as its getVersion says: "bytecode" (the
        programs themselves), "model" (the simulation's Python), or "validator" (a real node,
        which does not say)."""
        version = await self._call(self._rpc.get_version())
        return str(version.get("execution", "validator"))

    async def genesis_hash(self) -> str:
        """The cluster's identity: its genesis block's hash."""
        return str(await self._call(self._rpc.get_genesis_hash()))

    async def health(self) -> None:
        await self._call(self._rpc.get_health())

    async def latest_blockhash(self) -> Blockhash:
        answer = await self._call(self._rpc.get_latest_blockhash())
        value = answer["value"]
        return Blockhash(value["blockhash"], int(value["lastValidBlockHeight"]))

    async def sign(self, instructions: Sequence[SwapInstruction], blockhash: Blockhash,
                   memo: Memo, priority: Priority = "auto") -> SignedTransaction:
        body = build_swaps(self.owner, instructions, self._pools.pool_info)
        price = await self.priority_fee([str(a) for a in writable(body)], priority)
        draft = sign(self.owner, None, body, blockhash.hash, memo.text, MAX_UNITS, price)
        tables = []
        if len(bytes(draft)) > MAX_TRANSACTION_BYTES:  # as aggregators do: look accounts up
            await self._tables.cover(lookupable(body))
            tables = self._tables.usable()
            draft = sign(self.owner, None, body, blockhash.hash, memo.text, MAX_UNITS, price,
                         tables)
            if len(bytes(draft)) > MAX_TRANSACTION_BYTES:
                raise PermanentError(f"the route's transaction is {len(bytes(draft))} bytes "
                                     f"even with lookup tables, over Solana's "
                                     f"{MAX_TRANSACTION_BYTES}", code="TRANSACTION_TOO_LARGE")
        simulated = (await self._call(self._rpc.simulate_transaction(wire(draft))))["value"]
        units = int(simulated.get("unitsConsumed") or 0)
        # A simulation that failed stopped early and says nothing of what the whole costs: the
        # most then, so that a landing fails for the program's reason, not for its budget.
        limit = (MAX_UNITS if simulated.get("err") is not None
                 else max(MIN_UNITS, math.ceil(units * UNIT_MARGIN)))
        tx = sign(self.owner, self._keypair, body, blockhash.hash, memo.text, limit, price,
                  tables)
        # What it swaps, so that reading its fill back needs no decoding (after a restart
        # the transaction itself is read).
        signature = str(tx.signatures[0])
        self._pairs[signature] = (instructions[0].mint_in, instructions[-1].mint_out)
        if len(self._pairs) > MAX_REMEMBERED:  # attempts that never landed: forget the oldest
            self._simulated.discard(forgotten := next(iter(self._pairs)))
            del self._pairs[forgotten]
        if simulated.get("err") is None:
            self._simulated.add(signature)
        return SignedTransaction(str(tx.signatures[0]), blockhash.last_valid_height, wire(tx))

    async def priority_fee(self, accounts: list[str], priority: Priority) -> int:
        """µlamports per compute unit: given, or from what recently landed on these accounts
        (auto: the 75th percentile; high: twice the 95th), never above --max-priority-fee."""
        if isinstance(priority, int):
            return min(priority, self._max_fee)
        recent = await self._call(self._rpc.get_recent_prioritization_fees(accounts))
        fees = sorted([f["prioritizationFee"] for f in recent if f["prioritizationFee"]])
        if priority == "high":
            fee = max(2 * fees[int(len(fees) * 0.95)] if fees else 0, HIGH_FLOOR)
        else:
            fee = max(fees[int(len(fees) * 0.75)] if fees else 0, AUTO_FLOOR)
        return min(fee, self._max_fee)

    async def send(self, tx: SignedTransaction) -> None:
        """Send it. One this process has just simulated, successfully, goes without the node's
        preflight, which would only run it again (RPC providers advise simulating first, then
        `skipPreflight`): a price that moves in between fails it on chain, for its fee, instead
        of at the node. Any other (a failed simulation, a rebroadcast after a restart), and
        every one with `always_preflight`, keeps the preflight, which refuses a failing
        transaction for nothing."""
        skip = tx.signature in self._simulated and not self._always_preflight
        try:
            await self._call(self._rpc.send_transaction(tx.payload, skip_preflight=skip))
        except AlreadyProcessed:
            return  # a rebroadcast of one that landed: nothing to do, it is in the ledger

    async def confirm(self, tx: SignedTransaction) -> Landed | None:
        """Poll until it lands, or until the cluster is past its blockhash's last height. The
        first look comes a slot after sending: nothing lands sooner. A look that fails (a node
        down or rate-limiting) is tried again at the next poll: until its fate is known, the
        transaction may land, so no other attempt may be signed in its place."""
        failed = 0
        while True:
            await self._clock.sleep(self._poll)
            try:
                landed = await self.signature_status(tx.signature)
                if landed is not None:
                    return landed
                if await self._call(self._rpc.get_block_height()) > tx.last_valid_height:
                    return await self.signature_status(tx.signature)  # it may have just made it
            except TransientError as error:
                if failed % FATE_REMINDER == 0:
                    logger.warning("the fate of {} is not known yet ({}: {}); asking again "
                                   "every slot", tx.signature, error.code, error.message)
                failed += 1
                await self._clock.sleep(FAILED_LOOK_PAUSE)  # even at zero latency: no spin

    async def signature_status(self, signature: str) -> Landed | None:
        answer = await self._call(self._rpc.get_signature_statuses([signature]))
        status = answer["value"][0]
        if status is None:
            return None
        found = await self._call(self._rpc.get_transaction(signature))
        if found is None:  # a node without the transaction's details: a status is enough
            return Landed(signature, int(status["slot"]), 0, 0, 0,
                          None if status["err"] is None else error_code(status["err"]))
        return await self._read(signature, found)

    async def balances(self) -> list[TokenBalance]:
        lamports = await self._call(self._rpc.get_balance(str(self.owner)))
        accounts = await self._call(self._rpc.get_token_accounts_by_owner(str(self.owner),
                                                                          str(TOKEN)))
        balances = [TokenBalance(WSOL_MINT, lamports, True, SOL_DECIMALS)]
        for account in accounts["value"]:
            info = account["account"]["data"]["parsed"]["info"]
            held = info["tokenAmount"]
            balances.append(TokenBalance(info["mint"], int(held["amount"]), True,
                                         int(held["decimals"])))
        return balances

    async def mint_decimals(self, mint: str) -> int | None:
        [found] = (await self._call(self._rpc.get_multiple_accounts([mint])))["value"]
        if found is None or found["owner"] != str(TOKEN):
            return None
        data = base64.b64decode(found["data"][0])
        return data[MINT_DECIMALS] if len(data) == MINT_SIZE else None

    async def _read(self, signature: str, found: dict[str, Any]) -> Landed:
        """A fill from the cluster's record: the wallet's balance changes, not our quote."""
        meta, owner = found["meta"], str(self.owner)
        fee = int(meta["fee"])
        self._simulated.discard(signature)  # landed: never sent again
        if meta["err"] is not None:
            self._pairs.pop(signature, None)
            code = error_code(meta["err"])
            hop = (await self._failed_hop(signature, found, meta["err"])
                   if code == SlippageExceeded.code else None)
            return Landed(signature, int(found["slot"]), 0, 0, fee, code, _reason(meta),
                          failed_hop=hop)
        before = _tokens(meta["preTokenBalances"], owner)
        after = _tokens(meta["postTokenBalances"], owner)
        rent = ATA_RENT_LAMPORTS * len(set(after) - set(before))
        lamports = int(meta["postBalances"][0]) - int(meta["preBalances"][0]) + fee + rent
        pair = self._pairs.pop(signature, None)
        mint_in, mint_out = pair if pair is not None else await self._swapped(signature, found)

        def change(mint: str) -> int:
            return lamports if mint == WSOL_MINT else after.get(mint, 0) - before.get(mint, 0)

        return Landed(signature, int(found["slot"]), -change(mint_in), change(mint_out), fee,
                      rent_lamports=rent)

    async def _swapped(self, signature: str, found: dict[str, Any]) -> tuple[str, str]:
        """The mints a transaction sold and bought, from the transaction itself."""
        tx = await self._decoded(signature, found)
        return tx.swaps[0].mint_in, tx.swaps[-1].mint_out

    async def _failed_hop(self, signature: str, found: dict[str, Any], err: Any) -> int | None:
        """The hop of the swap whose instruction failed (`InstructionError`'s index)."""
        tx = await self._decoded(signature, found)
        index = err["InstructionError"][0]
        return next((swap.hop for n, swap in zip(tx.swap_indexes, tx.swaps, strict=True)
                     if n == index), None)

    async def _decoded(self, signature: str, found: dict[str, Any]) -> Decoded:
        """A landed transaction of ours, read back (with the wallet's lookup tables, where it
        looked accounts up)."""
        await self._call(self._tables.load())
        try:
            return decode(base64.b64decode(found["transaction"][0]), self._pools.pool_at,
                          verify=False,  # ours: what matters here is what it swapped
                          tables=self._tables.addresses)
        except (Rejected, ValueError) as error:
            raise PermanentError(f"transaction {signature} cannot be read: {error}",
                                 code="UNREADABLE_TRANSACTION") from None

    @staticmethod
    async def _call(request: Any) -> Any:
        try:
            return await request
        except RpcError as error:
            raise translate(error) from None


def _reason(meta: dict[str, Any]) -> str:
    logs = [line for line in meta.get("logMessages") or []
            if "Error Message" in line or " failed: " in line]
    return "; ".join(logs[-2:]) or str(meta["err"])


def _tokens(balances: list[dict[str, Any]], owner: str) -> dict[str, int]:
    return {b["mint"]: int(b["uiTokenAmount"]["amount"]) for b in balances
            if b.get("owner") == owner}
