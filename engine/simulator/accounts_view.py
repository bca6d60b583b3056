"""The simulated pools as accounts in their programs' layouts: what getAccountInfo,
getMultipleAccounts and getProgramAccounts read from the simulated cluster (with the programs'
bytecode, the runtime's accounts instead)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from solders.pubkey import Pubkey

from engine.pools.cpmm import CpPool
from engine.pools.dlmm import DlmmPool
from engine.simulator.cluster import GENESIS_UNIX
from engine.simulator.faucet import faucet_keypair
from engine.simulator.holdings import holdings
from engine.simulator.slots import SLOT_SECONDS
from engine.solana import lookup_tables
from engine.solana.accounts import CLOCK
from engine.solana.pool_accounts import Account, encode_pool
from engine.solana.programs import (
    CLOCK_SYSVAR,
    CPMM,
    SYSVAR,
    TOKEN,
    bin_array_index,
    pda,
    preset_parameter_address,
)

if TYPE_CHECKING:
    from engine.simulator.world import SimWorld


class PoolsAsAccounts:
    def __init__(self, world: SimWorld) -> None:
        self._world = world
        self._owners: dict[Pubkey, str] = {}  # any pool's account -> pool id
        self._layout: tuple[object, ...] = ()  # what the index of `_owners` was made from
        self._ranges: dict[str, tuple[int, int, int]] = {}  # pair -> (changes, low, high bin)
        # Each pool's accounts as last encoded, with the pool and its change count then.
        self._encoded: dict[str, tuple[object, int, dict[Pubkey, Account]]] = {}

    def pool_accounts(self, pool_id: str) -> dict[Pubkey, Account]:
        """The pool's accounts in its program's layouts, as its state is now."""
        if self._world.bytecode is not None:  # what the programs wrote
            return self._world.bytecode.pool_accounts(pool_id)
        venue = self._world.raydium if pool_id in self._world.raydium.pools else self._world.meteora
        pool = venue.pools[pool_id]
        assert isinstance(pool, CpPool | DlmmPool)
        kept = self._encoded.get(pool_id)
        if kept is not None and kept[0] is pool and kept[1] == pool.changes:
            return kept[2]  # the same object: whoever told its bytes before need not again
        accounts = encode_pool(self._world.pool_info(pool_id), pool, self.opened(pool_id))
        self._encoded[pool_id] = (pool, pool.changes, accounts)
        return accounts

    def opened(self, pool_id: str) -> int:
        """When a pool became tradable, as its program keeps it (a slot for DLMM, unix seconds
        for Raydium); 0 for a seeded pool, open since genesis."""
        venue = self._world.raydium if pool_id in self._world.raydium.pools else self._world.meteora
        slot = venue.opened_slot(pool_id)
        if slot is None:
            return 0
        return slot if venue is self._world.meteora else GENESIS_UNIX + int(slot * SLOT_SECONDS)

    def accounts(self, addresses: Sequence[Pubkey]) -> list[Account | None]:
        """These accounts as they are now (None where there is none); each pool they belong
        to is written out once, however many of its accounts are asked for."""
        if self._world.bytecode is not None:  # every account lives in the runtime
            clock = self._clock_account()
            return [clock if address == CLOCK_SYSVAR else self._world.bytecode.account(address)
                    for address in addresses]
        written: dict[str, dict[Pubkey, Account]] = {}
        found: list[Account | None] = []
        others: dict[Pubkey, Account] = {}
        for address in addresses:
            if address == CLOCK_SYSVAR:
                found.append(self._clock_account())
                continue
            owner = self._owners.get(address)
            if owner is None:  # the wallet, its token accounts, a mint?
                others = others or self._holdings()
                if address in others:
                    found.append(others[address])
                    continue
            if owner is None:  # a new pool, or a bin array a price move filled: index again
                owner = self._reindexed().get(address)
            if owner is not None and owner not in written:
                written[owner] = self.pool_accounts(owner)
            found.append(None if owner is None else written[owner].get(address))
        return found

    def is_pool_account(self, address: Pubkey) -> bool:
        """Whether `address` is one of a pool's accounts (its state, vaults, arrays...)."""
        if self._world.bytecode is not None:
            return self._world.bytecode.pool_of(address) is not None
        return address in self._owners

    def _clock_account(self) -> Account:
        """The Clock sysvar at the cluster's current slot."""
        return Account(SYSVAR, CLOCK.encode({"slot": self._world.chain.block_height,
                                             "unix_timestamp": self._world.chain.now()}))

    def _reindexed(self) -> dict[Pubkey, str]:
        """Every pool's accounts, indexed again only when where they are may have changed
        (a pool added, a DLMM pool's bins reaching past their arrays): an address nobody owns
        (a closed token account, say) is asked for after every swap, and working out every
        pool's addresses each time cost a fifth of the cluster's time."""
        layout = tuple(self._range(pool_id, pool) if isinstance(pool, DlmmPool) and pool.bins
                       else pool_id
                       for v in self._world.venues for pool_id, pool in v.pools.items())
        if layout != self._layout:
            self._owners = {a: pool_id for pool_id in self._world.pools_of(None)
                            for a in self._account_addresses(pool_id)}
            self._layout = layout
        return self._owners

    def _range(self, pool_id: str, pool: DlmmPool) -> tuple[str, int, int]:
        """A pair's lowest and highest bin, worked out again only when its state changed."""
        kept = self._ranges.get(pool_id)
        if kept is None or kept[0] != pool.changes:
            kept = self._ranges[pool_id] = (pool.changes, min(pool.bins), max(pool.bins))
        return pool_id, kept[1], kept[2]

    def _account_addresses(self, pool_id: str) -> list[Pubkey]:
        """Where a pool's accounts are, worked out without writing them. A DLMM pool's bin
        arrays are every one its bins span (one with no bin between two that have some is
        indexed too, and read as missing), so its bin range alone says when to index again."""
        keys = self._world.pool_info(pool_id).keys
        pool = self._world.meteora.pools.get(pool_id)
        arrays = ([keys.bin_array(i) for i in range(bin_array_index(min(pool.bins)),
                                                     bin_array_index(max(pool.bins)) + 1)]
                  if isinstance(pool, DlmmPool) and pool.bins else [])
        cpmm = [keys.observation, pda(CPMM, b"pool_lp_mint", bytes(keys.address))] \
            if keys.kind == "cpmm" else []
        preset = [preset_parameter_address(pool.bin_step, pool.fees.base_factor)] \
            if isinstance(pool, DlmmPool) else []
        return [keys.address, keys.vault_a, keys.vault_b, keys.config, *cpmm, *preset, *arrays]

    def _holdings(self) -> dict[Pubkey, Account]:
        """The wallet's accounts, the mints, and the lookup tables."""
        chain = self._world.chain
        return holdings(chain.owner, chain.wallet, [x["mint"] for x in self._world.launches]) | \
            chain.tables.accounts()

    def program_accounts(self, program: Pubkey) -> list[tuple[Pubkey, Account]]:
        if self._world.bytecode is not None:
            return self._world.bytecode.program_accounts(program)
        if program in (TOKEN, lookup_tables.PROGRAM):
            return [(address, account) for address, account in self._holdings().items()
                    if account.owner == program]
        # Once each: pools share accounts (a CPMM fee tier's config, a DLMM preset).
        return list({address: account for v in self._world.venues for pool_id in v.pools
                     if isinstance(v.pools[pool_id], CpPool | DlmmPool)
                     and self._world.pool_info(pool_id).keys.program == program
                     for address, account in self.pool_accounts(pool_id).items()
                     if account.owner == program}.items())

    def known(self) -> list[tuple[Pubkey, Account]]:
        """Every account this cluster keeps that it can name (getLargestAccounts)."""
        if self._world.bytecode is not None:
            return self._world.bytecode.known(self._world.wallet_addresses() | {
                faucet_keypair(self._world.chain.genesis_hash).pubkey()})
        pools = {address: account for pool_id in self._world.pools_of(None)
                 for address, account in self.pool_accounts(pool_id).items()}
        return [*self._holdings().items(), *pools.items()]
