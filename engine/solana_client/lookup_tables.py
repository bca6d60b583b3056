"""The wallet's address lookup tables, as aggregators keep theirs: when a route's transaction
would not fit in a packet (1,232 bytes), the accounts it names are put in a table the wallet
owns (created and extended on chain, then waited for until the next slot, when they become
usable), and the transaction looks them up there, one byte each instead of 32.

The tables' addresses are kept (write-ahead: before the transaction that creates one is sent)
so that after a restart the engine uses and extends the same tables instead of paying for new
ones. A table that never came to exist is forgotten when it is read back."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Sequence
from typing import Any, Protocol

from loguru import logger
from solders.address_lookup_table_account import AddressLookupTableAccount
from solders.hash import Hash
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.message import MessageV0, to_bytes_versioned
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction

from engine.domain.errors import TransientError
from engine.ports import Clock, SolanaRpc
from engine.solana import lookup_tables as program
from engine.solana.jsonrpc import RpcError
from engine.solana.lookup_tables import BadTable, LookupTable

KEPT = "lookup_tables"  # engine value: the tables' addresses, comma-separated
PER_EXTENSION = 20  # addresses one ExtendLookupTable carries (640 bytes of a 1,232-byte packet)
CANDIDATE_SLOTS = 16  # recent slots tried for a new table's address
MAX_WAIT_POLLS = 600  # slots to wait for a table transaction to land, or a table to activate


class Memory(Protocol):
    """Where the engine keeps values about itself across restarts (its order store)."""

    async def engine_value(self, key: str) -> str | None: ...

    async def set_engine_value(self, key: str, value: str) -> None: ...


class LookupTables:
    def __init__(self, rpc: SolanaRpc, keypair: Keypair, clock: Clock, memory: Memory | None,
                 *, poll_seconds: float) -> None:
        self._rpc, self._keypair, self._clock, self._memory = rpc, keypair, clock, memory
        self._poll = poll_seconds
        self._owner = keypair.pubkey()
        self._tables: dict[Pubkey, LookupTable] = {}
        self._loaded = False
        self._lock = asyncio.Lock()  # one change at a time: two workers never race a table

    def addresses(self, table: Pubkey) -> tuple[Pubkey, ...] | None:
        """What one of the wallet's tables holds (to read back a transaction that used it)."""
        found = self._tables.get(table)
        return None if found is None else found.addresses

    def usable(self) -> list[AddressLookupTableAccount]:
        """Every table the wallet has, for a message to look addresses up in."""
        return [AddressLookupTableAccount(table.address, list(table.addresses))
                for table in self._tables.values()]

    async def cover(self, addresses: Sequence[Pubkey]) -> None:
        """Put the `addresses` no table holds yet into the wallet's tables, and return once a
        transaction landing now may look every one of them up."""
        async with self._lock:
            try:
                await self._cover(addresses)
            except RpcError as error:  # the node refused or failed: the order tries again
                self._loaded = False  # a table sent may yet exist: read the kept ones again
                raise TransientError(f"lookup table: {error.message}",
                                     code="LOOKUP_TABLE_FAILED") from None
            except TransientError:
                self._loaded = False
                raise

    async def _cover(self, addresses: Sequence[Pubkey]) -> None:
        await self.load()
        held = {a for table in self._tables.values() for a in table.addresses}
        missing = [a for a in dict.fromkeys(addresses) if a not in held]
        while missing:
            table = next((t for t in self._tables.values()
                          if t.authority == self._owner and t.room > 0), None)
            instructions: list[Instruction] = []
            if table is None:
                create, address = await self._new_table()
                instructions.append(create)
                table = LookupTable(address, self._owner)
                await self._keep([*self._tables, address])  # before it may exist
            chunk = missing[:min(table.room, PER_EXTENSION)]
            instructions.append(program.extend(table.address, self._owner, self._owner,
                                               chunk))
            await self._run(instructions)
            await self._read([table.address])
            if table.address not in self._tables:
                raise TransientError(f"lookup table {table.address} landed but cannot be "
                                     "read yet", code="LOOKUP_TABLE_FAILED")
            logger.info("lookup table {} holds {} addresses", table.address,
                        len(self._tables[table.address].addresses))
            missing = missing[len(chunk):]
        await self._active()

    async def _new_table(self) -> tuple[Instruction, Pubkey]:
        """CreateLookupTable at an address no table holds yet. The address is derived from a
        recent slot, so a second table made before that slot moves on must take an earlier
        one (each in SlotHashes: a finalized slot and the few before it)."""
        finalized = await self._rpc.get_slot("finalized")
        candidates = [program.create(self._owner, self._owner, slot)
                      for slot in range(finalized, max(finalized - CANDIDATE_SLOTS, -1), -1)]
        answer = await self._rpc.get_multiple_accounts([str(a) for _, a in candidates])
        for (create, address), found in zip(candidates, answer["value"], strict=True):
            if found is None and address not in self._tables:
                return create, address
        raise TransientError("every recent slot already derives one of this wallet's tables",
                             code="LOOKUP_TABLE_FAILED")

    # -- reading and keeping -------------------------------------------------------------------
    async def load(self) -> None:
        """The kept tables, read from the cluster (once)."""
        if self._loaded:
            return
        kept = await self._memory.engine_value(KEPT) if self._memory else None
        addresses = [Pubkey.from_string(a) for a in (kept or "").split(",") if a]
        if addresses:
            await self._read(addresses)
            gone = [a for a in addresses if a not in self._tables]
            if gone:  # created but never landed (a crash or a failure between)
                await self._keep(list(self._tables))
        self._loaded = True

    async def _read(self, addresses: Sequence[Pubkey]) -> None:
        answer = await self._rpc.get_multiple_accounts([str(a) for a in addresses])
        for address, found in zip(addresses, answer["value"], strict=True):
            table = _table(address, found)
            if table is None:
                self._tables.pop(address, None)
            else:
                self._tables[address] = table

    async def _keep(self, addresses: Sequence[Pubkey]) -> None:
        if self._memory is not None:
            await self._memory.set_engine_value(KEPT, ",".join(str(a) for a in addresses))

    # -- on chain ------------------------------------------------------------------------------
    async def _run(self, instructions: list[Instruction]) -> None:
        """Sign, send, and wait for the table transaction to land; a failure is transient for
        the order that needed the table (its next attempt tries again)."""
        latest = (await self._rpc.get_latest_blockhash())["value"]
        message = MessageV0.try_compile(self._owner, instructions, [],
                                        Hash.from_string(latest["blockhash"]))
        tx = VersionedTransaction.populate(
            message, [self._keypair.sign_message(to_bytes_versioned(message))])
        signature = await self._rpc.send_transaction(base64.b64encode(bytes(tx)).decode())
        for _ in range(MAX_WAIT_POLLS):
            status = (await self._rpc.get_signature_statuses([signature]))["value"][0]
            if status is not None:
                if status["err"] is not None:
                    raise TransientError(f"the lookup table transaction {signature} failed: "
                                         f"{status['err']}", code="LOOKUP_TABLE_FAILED")
                return
            if await self._rpc.get_block_height() > int(latest["lastValidBlockHeight"]):
                break
            await self._clock.sleep(self._poll)
        raise TransientError(f"the lookup table transaction {signature} did not land",
                             code="LOOKUP_TABLE_FAILED")

    async def _active(self) -> None:
        """Until the cluster is past the slot of every table's last extension."""
        last = max((t.last_extended_slot for t in self._tables.values()), default=-1)
        for _ in range(MAX_WAIT_POLLS):
            if await self._rpc.get_slot() > last:
                return
            await self._clock.sleep(self._poll)
        raise TransientError("a lookup table did not become usable", code="LOOKUP_TABLE_FAILED")


def _table(address: Pubkey, found: dict[str, Any] | None) -> LookupTable | None:
    if found is None or found.get("owner") != str(program.PROGRAM):
        return None
    try:
        return LookupTable.decode(address, base64.b64decode(found["data"][0]))
    except (BadTable, ValueError):
        return None
