"""Address lookup tables: the accounts of the Address Lookup Table program, its instructions,
and what a v0 message's lookups resolve to.

A table is an account (56 bytes of metadata, then up to 256 addresses of 32 bytes) that a v0
message names instead of repeating the addresses: each looked-up account costs one byte rather
than 32. Addresses appended in a slot are usable from the next slot on (the table's
`last_extended_slot` and `last_extended_slot_start_index` say which those are)."""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass, replace

from solders.address_lookup_table_account import derive_lookup_table_address
from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey

from engine.solana.programs import SYSTEM

PROGRAM = Pubkey.from_string("AddressLookupTab1e1111111111111111111111111")
META_SIZE = 56  # the type tag, deactivation slot, last extension, its start, authority, padding
MAX_ADDRESSES = 256  # a message indexes a table with one byte
ACTIVE = 2**64 - 1  # deactivation slot of a table that was never deactivated
RECENT_SLOTS = 512  # how far back SlotHashes reaches: a table is derived from one of them
CREATE, FREEZE, EXTEND, DEACTIVATE, CLOSE = range(5)
_META = struct.Struct("<IQQBB32sH")


class BadTable(ValueError):
    """Bytes that are not a lookup table's account."""


@dataclass(frozen=True, slots=True)
class LookupTable:
    """A table as its account holds it. `authority` None: frozen (no one may extend it)."""

    address: Pubkey
    authority: Pubkey | None
    addresses: tuple[Pubkey, ...] = ()
    last_extended_slot: int = 0
    last_extended_start: int = 0
    deactivation_slot: int = ACTIVE

    def usable(self, slot: int) -> tuple[Pubkey, ...]:
        """The addresses a message landing at `slot` may look up: those appended in an
        earlier slot (a table extended in this slot shows this slot only what it had)."""
        if slot > self.last_extended_slot:
            return self.addresses
        return self.addresses[:self.last_extended_start]

    def extended(self, more: Sequence[Pubkey], slot: int) -> LookupTable:
        start = self.last_extended_start if slot == self.last_extended_slot else \
            len(self.addresses)
        return replace(self, addresses=(*self.addresses, *more), last_extended_slot=slot,
                       last_extended_start=start)

    @property
    def room(self) -> int:
        return MAX_ADDRESSES - len(self.addresses) if self.authority is not None else 0

    def encode(self) -> bytes:
        authority = b"" if self.authority is None else bytes(self.authority)
        meta = _META.pack(1, self.deactivation_slot, self.last_extended_slot,
                          self.last_extended_start, int(self.authority is not None),
                          authority.ljust(32, b"\0"), 0)
        return meta + b"".join(bytes(a) for a in self.addresses)

    @classmethod
    def decode(cls, address: Pubkey, data: bytes) -> LookupTable:
        if len(data) < META_SIZE or (len(data) - META_SIZE) % 32:
            raise BadTable(f"{address}: {len(data)} bytes is not a lookup table's size")
        tag, deactivation, extended, start, has_authority, authority, _ = _META.unpack_from(data)
        if tag != 1:
            raise BadTable(f"{address}: not an initialised lookup table")
        addresses = tuple(Pubkey.from_bytes(data[n:n + 32]) for n in range(META_SIZE, len(data), 32))
        return cls(address, Pubkey.from_bytes(authority) if has_authority else None, addresses,
                   extended, start, deactivation)


def size(addresses: int) -> int:
    return META_SIZE + 32 * addresses


# -- instructions ------------------------------------------------------------------------------
def create(authority: Pubkey, payer: Pubkey, recent_slot: int) -> tuple[Instruction, Pubkey]:
    """CreateLookupTable, derived from the authority and a recent slot; and the table's address."""
    table, bump = derive_lookup_table_address(authority, recent_slot)
    return Instruction(PROGRAM, struct.pack("<IQB", CREATE, recent_slot, bump), [
        AccountMeta(table, False, True), AccountMeta(authority, True, False),
        AccountMeta(payer, True, True), AccountMeta(SYSTEM, False, False)]), table


def extend(table: Pubkey, authority: Pubkey, payer: Pubkey,
           addresses: Sequence[Pubkey]) -> Instruction:
    """ExtendLookupTable: append `addresses` (the payer tops up the rent the table needs)."""
    data = struct.pack("<IQ", EXTEND, len(addresses)) + b"".join(bytes(a) for a in addresses)
    return Instruction(PROGRAM, data, [
        AccountMeta(table, False, True), AccountMeta(authority, True, False),
        AccountMeta(payer, True, True), AccountMeta(SYSTEM, False, False)])


@dataclass(frozen=True, slots=True)
class Lookup:
    """One table a v0 message reads, and which of its entries (writable, then read-only)."""

    table: Pubkey
    writable: tuple[int, ...]
    readonly: tuple[int, ...]


class LookupFailed(Exception):
    """A lookup a node would refuse: `reason` in Solana's words."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def resolve(lookups: Sequence[Lookup], usable: dict[Pubkey, tuple[Pubkey, ...]]
            ) -> tuple[tuple[Pubkey, ...], tuple[Pubkey, ...]]:
    """The addresses a message's lookups load, writable ones first, as the runtime orders
    them after the message's own keys. `usable`: each named table's usable addresses."""
    writable: list[Pubkey] = []
    readonly: list[Pubkey] = []
    for lookup in lookups:
        found = usable.get(lookup.table)
        if found is None:
            raise LookupFailed("AddressLookupTableNotFound",
                               f"address lookup table {lookup.table} not found")
        for indexes, into in ((lookup.writable, writable), (lookup.readonly, readonly)):
            for index in indexes:
                if index >= len(found):
                    raise LookupFailed("InvalidAddressLookupTableIndex",
                                       f"index {index} is beyond what table {lookup.table} "
                                       "may be read for at this slot")
                into.append(found[index])
    return tuple(writable), tuple(readonly)


def lookupable(instructions: Sequence[Instruction]) -> list[Pubkey]:
    """The accounts of these instructions a message may look up: neither a signer nor a
    program it invokes (those must be among the message's own keys)."""
    programs = {ix.program_id for ix in instructions}
    return list(dict.fromkeys(meta.pubkey for ix in instructions for meta in ix.accounts
                              if not meta.is_signer and meta.pubkey not in programs))
