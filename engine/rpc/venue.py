"""A venue read from the cluster, as aggregators read one: the pool index from
getProgramAccounts, each pool's accounts (state, vaults, config, bin arrays) from
getMultipleAccounts, decoded and quoted with the pools' own integer math. A poller keeps the
accounts fresh (one getMultipleAccounts a slot) and says which pairs moved."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable, Sequence
from typing import Any

from loguru import logger
from solders.pubkey import Pubkey

from engine.domain.errors import EngineError
from engine.domain.routing import Quote
from engine.pools.cpmm import CpPool
from engine.pools.dlmm import DlmmPool
from engine.pools.quoting import PoolQuote, better, quote_pool
from engine.ports import Clock, SolanaRpc
from engine.solana.accounts import AMM_INFO, CLOCK, CPMM_POOL, LB_PAIR
from engine.solana.jsonrpc import RpcError
from engine.solana.pool_accounts import read_pool, related
from engine.solana.programs import AMM_V4, CLOCK_SYSVAR, CPMM, DLMM, PoolInfo

SIZES = {AMM_V4: AMM_INFO.size, CPMM: CPMM_POOL.size, DLMM: LB_PAIR.size}
LABELS = {AMM_V4: "Raydium", CPMM: "Raydium CPMM", DLMM: "Meteora DLMM"}
BATCH = 100  # getMultipleAccounts takes at most 100 keys


class AccountVenue:
    def __init__(self, name: str, programs: Sequence[Pubkey], rpc: SolanaRpc, clock: Clock, *,
                 slot_seconds: float, max_age_slots: int = 2) -> None:
        self.name, self._programs, self._rpc, self._clock = name, tuple(programs), rpc, clock
        self._slot_seconds, self._max_age = slot_seconds, max_age_slots
        self.pools: dict[str, CpPool | DlmmPool] = {}
        self._infos: dict[str, PoolInfo] = {}
        self._owners: dict[str, Pubkey] = {}
        self._related: dict[str, list[Pubkey]] = {}
        self._raw: dict[Pubkey, bytes] = {}
        self._by_pair: dict[frozenset[str], list[str]] = {}
        self._opened: dict[str, int] = {}
        self._slot, self._seen = 0, 0.0  # the newest context slot, and when it was read
        self._now = 0  # the cluster's unix time then (the Clock sysvar)
        self._fetched: dict[str, int] = {}  # pool -> the slot its accounts were read at
        self.listeners: list[Callable[[set[frozenset[str]]], None]] = []

    # -- the index -------------------------------------------------------------------------
    async def load(self) -> set[frozenset[str]]:
        """Index every pool of the venue's programs (new ones appear at the next call); the
        pairs of the pools it found."""
        for program in self._programs:
            found = await self._rpc.get_program_accounts(str(program), SIZES[program])
            for item in found:
                address = item["pubkey"]
                if address not in self.pools:
                    self._owners[address] = program
                    self._raw[Pubkey.from_string(address)] = _data(item["account"])
        return await self._read([p for p in self._owners if p not in self.pools])

    async def run(self) -> None:
        """Keep the accounts fresh: every slot, read them all again; every 25, look for new
        pools. Listeners hear which pairs moved."""
        rounds = 0
        while True:
            await self._clock.sleep(max(self._slot_seconds, 0.05))
            try:
                found = await self.load() if rounds % 25 == 0 else set()
                moved = found | await self._read(list(self.pools))
            except (RpcError, EngineError, ValueError) as error:
                logger.warning("{} accounts not read: {}", self.name, error)
                continue
            rounds += 1
            if moved:
                for listener in self.listeners:
                    listener(moved)

    async def _read(self, pool_ids: list[str]) -> set[frozenset[str]]:
        """Read these pools' accounts again; the pairs whose state changed."""
        if not pool_ids:
            return set()
        wanted = [Pubkey.from_string(p) for p in pool_ids]
        wanted += [a for p in pool_ids for a in self._related.get(p, ())]
        slot = await self._fetch(wanted)
        missing = []
        for pool_id in pool_ids:  # a pool read for the first time, or with new bin arrays
            main = Pubkey.from_string(pool_id)
            need = related(self._owners[pool_id], main, self._raw[main])
            if need != self._related.get(pool_id):
                self._related[pool_id] = need
                missing += [a for a in need if a not in self._raw or pool_id not in self.pools]
        if missing:
            slot = await self._fetch(missing)
        moved: set[frozenset[str]] = set()
        for pool_id in pool_ids:
            main = Pubkey.from_string(pool_id)
            before = self.pools.get(pool_id)
            try:
                pool, info, opened = read_pool(pool_id, self._owners[pool_id], main,
                                               self._raw[main], self._raw)
            except (KeyError, ValueError) as error:
                logger.warning("{} pool {} unreadable: {}", self.name, pool_id, error)
                continue
            if before is None or before.state() != pool.state():
                moved.add(frozenset(pool.mints))
            if before is None:
                self._by_pair.setdefault(frozenset(pool.mints), []).append(pool_id)
                if isinstance(pool, DlmmPool) and opened:
                    self._opened[pool_id] = opened
            self.pools[pool_id], self._infos[pool_id] = pool, info
            self._fetched[pool_id] = slot
        return moved

    async def _fetch(self, addresses: list[Pubkey]) -> int:
        slot = self._slot
        addresses = [CLOCK_SYSVAR, *addresses]
        for start in range(0, len(addresses), BATCH):
            chunk = addresses[start:start + BATCH]
            answer = await self._rpc.get_multiple_accounts([str(a) for a in chunk])
            slot = int(answer["context"]["slot"])
            for address, account in zip(chunk, answer["value"], strict=True):
                if account is not None:
                    self._raw[address] = _data(account)
        if CLOCK_SYSVAR in self._raw:
            self._now = CLOCK.decode(self._raw[CLOCK_SYSVAR])["unix_timestamp"]
        self._slot, self._seen = slot, self._clock.monotonic()
        return slot

    # -- the Venue port ------------------------------------------------------------------------
    def has_pair(self, mint_in: str, mint_out: str) -> bool:
        return frozenset((mint_in, mint_out)) in self._by_pair

    async def quote(self, mint_in: str, mint_out: str, amount_in: int) -> Quote | None:
        return await self._best(mint_in, mint_out, amount_in, exact_out=False)

    async def quote_exact_out(self, mint_in: str, mint_out: str,
                              amount_out: int) -> Quote | None:
        return await self._best(mint_in, mint_out, amount_out, exact_out=True)

    async def _best(self, mint_in: str, mint_out: str, amount: int, *,
                    exact_out: bool) -> Quote | None:
        ids = self._by_pair.get(frozenset((mint_in, mint_out)), [])
        stale = [p for p in ids if self._now_slot() - self._fetched.get(p, -1) > self._max_age]
        if stale:  # older than --max-account-age slots: read them before quoting
            await self._read(stale)
        best: PoolQuote | None = None
        chosen = ""
        for pool_id in ids:
            try:
                found = quote_pool(self.pools[pool_id], mint_in, amount, self._now,
                                   exact_out=exact_out)
            except (ArithmeticError, ValueError):
                continue
            if found is not None and better(found, best, exact_out=exact_out):
                best, chosen = found, pool_id
        if best is None:
            return None
        return Quote(self.name, chosen, mint_in, mint_out, best.amount_in, best.amount_out,
                     best.fee, best.price_impact, LABELS[self._owners[chosen]],
                     self._fetched[chosen], self._opened.get(chosen))

    def _now_slot(self) -> float:
        if self._slot_seconds <= 0:
            return float("inf")  # no time passes: every quote reads the accounts first
        return self._slot + (self._clock.monotonic() - self._seen) / self._slot_seconds

    # -- the directory a transaction is built from ---------------------------------------------
    def pool_info(self, pool_id: str) -> PoolInfo:
        return self._infos[pool_id]

    def pool_at(self, address: Pubkey) -> PoolInfo | None:
        return self._infos.get(str(address))


def _data(account: dict[str, Any]) -> bytes:
    return base64.b64decode(account["data"][0])


class AccountDirectory:
    """Which pool an id or address is, across the account venues (for the chain adapter)."""

    def __init__(self, venues: Sequence[AccountVenue]) -> None:
        self._venues = venues

    def pool_info(self, pool_id: str) -> PoolInfo:
        for venue in self._venues:
            if pool_id in venue.pools:
                return venue.pool_info(pool_id)
        raise KeyError(pool_id)

    def pool_at(self, address: Pubkey) -> PoolInfo | None:
        return next((found for v in self._venues if (found := v.pool_at(address))), None)


async def keep_fresh(venues: Sequence[AccountVenue]) -> None:
    await asyncio.gather(*(venue.run() for venue in venues))
