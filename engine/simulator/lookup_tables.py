"""The Address Lookup Table program, as the Python model runs it (without --programs): creating
and extending tables, which the model's v0 messages then look addresses up in. With the
programs, the runtime's own built-in program does this instead.

What it runs is what an engine needs: CreateLookupTable and ExtendLookupTable, paid for by the
funded wallet (the only account the model holds lamports for), with the program's checks (a
table derived from a recent slot, the authority's signature, at most 256 addresses). Freezing,
deactivating and closing are refused honestly: those need the programs' runtime."""

from __future__ import annotations

import base64
import struct
from collections.abc import Callable
from typing import Any

from solders.address_lookup_table_account import derive_lookup_table_address
from solders.pubkey import Pubkey

from engine.domain.tokens import WSOL_MINT
from engine.simulator.execution import Outcome, Runs
from engine.simulator.message import Message
from engine.simulator.wallet import Wallet
from engine.solana import lookup_tables as program
from engine.solana.lookup_tables import LookupTable
from engine.solana.pool_accounts import Account, rent_exempt
from engine.solana.transaction import TableInstruction

NAMES = {program.CREATE: "CreateLookupTable", program.FREEZE: "FreezeLookupTable",
         program.EXTEND: "ExtendLookupTable", program.DEACTIVATE: "DeactivateLookupTable",
         program.CLOSE: "CloseLookupTable"}


class _Failed(Exception):
    def __init__(self, error: str, log: str) -> None:
        super().__init__(log)
        self.error, self.log = error, log


class TableModel:
    """Every lookup table on the model's cluster, by address."""

    def __init__(self, slot: Callable[[], int], wallet: Callable[[], Wallet],
                 owner: Callable[[], str | None]) -> None:
        self._slot, self._wallet, self._owner = slot, wallet, owner
        self.tables: dict[Pubkey, LookupTable] = {}

    def usable(self, address: Pubkey) -> tuple[Pubkey, ...] | None:
        """The addresses a message may look up in this table now; None: no such table."""
        table = self.tables.get(address)
        return None if table is None else table.usable(self._slot())

    def accounts(self) -> dict[Pubkey, Account]:
        return {address: Account(program.PROGRAM, table.encode())
                for address, table in self.tables.items()}

    # -- running a transaction of table instructions ------------------------------------------
    def run(self, message: Message, *, dry: bool = False) -> Outcome:
        """Every instruction, all or none; the fee and the rent paid from the wallet. A
        failure changes nothing (the cluster charges its fee)."""
        tables, slot, rent = dict(self.tables), self._slot(), 0
        logs: list[str] = []
        for ix in message.table_instructions:
            name = NAMES.get(_tag(ix.data), "unknown")
            logs += [f"Program {program.PROGRAM} invoke [1]", f"Program log: Instruction: {name}"]
            try:
                before = tables.get(ix.accounts[0]) if ix.accounts else None
                table = self._one(ix, tables, slot, message.fee_payer)
            except _Failed as failed:
                logs += [f"Program log: {failed.log}",
                         f"Program {program.PROGRAM} failed: {failed.error}"]
                return Outcome(err={"InstructionError": [ix.index, _error_name(failed.error)]},
                               code="PROGRAM_ERROR", message=failed.log, logs=logs)
            tables[table.address] = table
            rent += rent_exempt(len(table.encode())) - (
                0 if before is None else rent_exempt(len(before.encode())))
            logs.append(f"Program {program.PROGRAM} success")
        wallet = self._wallet()
        if wallet.balances.get(WSOL_MINT, 0) < message.fee + rent:
            return Outcome(err="InsufficientFundsForRent", code="INSUFFICIENT_FUNDS",
                           message=f"{rent} lamports of rent and the fee exceed the payer's",
                           logs=logs)
        if not dry:
            wallet.charge(message.fee + rent)
            self.tables = tables
        return Outcome(logs=logs, charged=not dry)

    def _one(self, ix: TableInstruction, tables: dict[Pubkey, LookupTable], slot: int,
             payer: str) -> LookupTable:
        tag = _tag(ix.data)
        if tag not in (program.CREATE, program.EXTEND):
            raise _Failed("invalid instruction data", f"{NAMES.get(tag, 'this instruction')} "
                          "needs the programs' runtime (start the cluster with --programs)")
        if len(ix.accounts) < 3:
            raise _Failed("insufficient account keys for instruction",
                          "the table, its authority and a payer are needed")
        address, authority, funder = ix.accounts[:3]
        if not ix.signed[1] or not ix.signed[2]:
            raise _Failed("missing required signature for instruction",
                          "the authority and the payer must sign")
        if str(funder) != payer or payer != self._owner():
            raise _Failed("insufficient funds for instruction",
                          "only the cluster's funded wallet holds lamports in the model")
        if tag == program.CREATE:
            return _create(ix.data, address, authority, tables, slot)
        return _extend(ix.data, address, authority, tables, slot)

    # -- the record --------------------------------------------------------------------------
    def state(self, message: Message) -> dict[str, Any]:
        """The tables this transaction wrote, for the cluster's record."""
        return {f"table:{ix.accounts[0]}": base64.b64encode(
                    self.tables[ix.accounts[0]].encode()).decode()
                for ix in message.table_instructions if ix.accounts[0] in self.tables}

    def restore(self, saved: dict[str, Any]) -> None:
        for key, value in saved.items():
            if key.startswith("table:"):
                address = Pubkey.from_string(key[6:])
                self.tables[address] = LookupTable.decode(address, base64.b64decode(value))


def _tag(data: bytes) -> int:
    return struct.unpack_from("<I", data)[0] if len(data) >= 4 else -1


def _create(data: bytes, address: Pubkey, authority: Pubkey,
            tables: dict[Pubkey, LookupTable], slot: int) -> LookupTable:
    if len(data) < 13:
        raise _Failed("invalid instruction data", "CreateLookupTable takes a slot and a bump")
    recent, bump = struct.unpack_from("<QB", data, 4)
    if not slot - program.RECENT_SLOTS <= recent < slot:
        raise _Failed("invalid instruction data", f"{recent} is not a recent slot")
    if derive_lookup_table_address(authority, recent) != (address, bump):
        raise _Failed("invalid argument", "Table address must match derived address: "
                                          f"{derive_lookup_table_address(authority, recent)[0]}")
    if address in tables:
        raise _Failed("instruction requires an uninitialized account",
                      "Table account must not be allocated")
    return LookupTable(address, authority)


def _extend(data: bytes, address: Pubkey, authority: Pubkey,
            tables: dict[Pubkey, LookupTable], slot: int) -> LookupTable:
    table = tables.get(address)
    if table is None:
        raise _Failed("invalid account owner", "Lookup table account is not initialized")
    if table.authority is None:
        raise _Failed("Account is immutable", "Lookup table is frozen")
    if table.authority != authority:
        raise _Failed("Incorrect authority provided", "Incorrect lookup table authority")
    count = struct.unpack_from("<Q", data, 4)[0] if len(data) >= 12 else 0
    if count == 0 or len(data) != 12 + 32 * count:
        raise _Failed("invalid instruction data", "Must extend with at least one address")
    if len(table.addresses) + count > program.MAX_ADDRESSES:
        raise _Failed("invalid instruction data",
                      f"Extended lookup table length {len(table.addresses) + count} would "
                      f"exceed max capacity of {program.MAX_ADDRESSES}")
    more = [Pubkey.from_bytes(data[n:n + 32]) for n in range(12, len(data), 32)]
    return table.extended(more, slot)


def _error_name(error: str) -> Any:
    """The node's JSON for an instruction error named as its program logs it."""
    return {"invalid instruction data": "InvalidInstructionData",
            "invalid argument": "InvalidArgument",
            "instruction requires an uninitialized account": "AccountAlreadyInitialized",
            "invalid account owner": "InvalidAccountOwner",
            "Account is immutable": "Immutable",
            "Incorrect authority provided": "IncorrectAuthority",
            "missing required signature for instruction": "MissingRequiredSignature",
            "insufficient account keys for instruction": "NotEnoughAccountKeys",
            "insufficient funds for instruction": "InsufficientFunds"}.get(error, error)


class WithTables:
    """The model's `Runs`: a transaction of table instructions goes to the table program, any
    other to the swap programs' model."""

    def __init__(self, swaps: Runs, tables: TableModel) -> None:
        self._swaps, self._tables = swaps, tables

    def shortfall(self, message: Message) -> str | None:
        return None if message.table_instructions else self._swaps.shortfall(message)

    def run(self, message: Message, now: int, *, dry: bool = False,
            detail: bool = False) -> Outcome:
        if message.table_instructions:
            return self._tables.run(message, dry=dry)
        return self._swaps.run(message, now, dry=dry, detail=detail)
