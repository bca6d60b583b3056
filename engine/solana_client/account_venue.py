"""A venue read from the cluster, as aggregators read one: the pool index from
getProgramAccounts, each pool's accounts (state, vaults, config, bin arrays) from
getMultipleAccounts, decoded and quoted with the pools' own integer math. Subscriptions keep
the accounts fresh (programSubscribe for the programs' own accounts, accountSubscribe for the
vaults), and say which pairs moved; while they are down, the accounts are read once a slot, and
while they are up, every pool is still read again every RECHECK_SECONDS (a notification may be
lost, and a node may stop telling them without closing the connection)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from loguru import logger
from solders.pubkey import Pubkey

from engine.domain.errors import EngineError
from engine.domain.routing import Quote
from engine.logs import Repeats
from engine.pools.cpmm import CpPool
from engine.pools.dlmm import DlmmPool
from engine.pools.quoting import PoolQuote, better, quote_pool
from engine.ports import Clock, SolanaRpc
from engine.solana.accounts import AMM_INFO, CPMM_POOL, LB_PAIR
from engine.solana.jsonrpc import RpcError
from engine.solana.pool_reading import read_pool, related
from engine.solana.programs import AMM_V4, CPMM, DLMM, PoolInfo
from engine.solana_client.account_cache import AccountCache, data_of
from engine.solana_client.cluster_time import ClusterTime
from engine.solana_client.left_out import LeftOut
from engine.solana_client.rpc_errors import translate
from engine.solana_client.subscriptions import Subscriptions

SIZES = {AMM_V4: AMM_INFO.size, CPMM: CPMM_POOL.size, DLMM: LB_PAIR.size}
LABELS = {AMM_V4: "Raydium", CPMM: "Raydium CPMM", DLMM: "Meteora DLMM"}
LIVENESS_SECONDS = 1.0
RECHECK_SECONDS = 10.0  # while subscribed, every pool is read again this often


class AccountVenue:
    def __init__(self, name: str, programs: Sequence[Pubkey], rpc: SolanaRpc, clock: Clock, *,
                 slot_seconds: float, max_age_slots: int = 2) -> None:
        self.name, self._programs, self._rpc, self._clock = name, tuple(programs), rpc, clock
        self._slot_seconds, self._max_age = slot_seconds, max_age_slots
        self._time = ClusterTime(clock, slot_seconds)
        self.pools: dict[str, CpPool | DlmmPool] = {}
        self._infos: dict[str, PoolInfo] = {}
        self._owners: dict[str, Pubkey] = {}
        self._related: dict[str, list[Pubkey]] = {}
        self._accounts = AccountCache(rpc, self._time, {
            owner: size for owner, size in SIZES.items() if owner in self._programs})
        self._raw = self._accounts.data  # any account a pool is read from, by its address
        self._by_pair: dict[frozenset[str], list[str]] = {}
        self._opened: dict[str, int] = {}
        self._fetched: dict[str, int] = {}  # pool -> the slot its accounts were read at
        self.listeners: list[Callable[[set[frozenset[str]]], None]] = []
        self._wake = self._accounts.wake
        self._subscriptions = Subscriptions(name, rpc, self._programs, self._accounts)
        # When every pool is next read again while subscribed, the notifications told by the
        # last such look, and whether it found changes none was told of (see `_recheck`).
        self._recheck_at, self._told_then, self._unheard = 0.0, 0, False
        self.left_out = LeftOut(name)  # until their accounts change

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
                    self._raw[Pubkey.from_string(address)] = data_of(item["account"])
        return await self._read([p for p in self._owners if p not in self.pools])

    async def run(self) -> None:
        """Keep the accounts fresh, and tell the listeners which pairs moved: from the
        subscriptions' notifications while they are live; else by reading every account once
        a slot (looking for new pools every 25), and subscribing again."""
        ticking = asyncio.create_task(self._tick(), name=f"{self.name}-liveness")
        try:
            await self._follow()
        finally:
            ticking.cancel()
            await asyncio.gather(ticking, return_exceptions=True)

    async def _tick(self) -> None:
        """Wake the follower every LIVENESS_SECONDS (by the engine's clock) with or without
        notifications: it notices a dropped connection, and when to look at every pool."""
        while True:
            await self._clock.sleep(LIVENESS_SECONDS)
            self._wake.set()

    async def _follow(self) -> None:
        rounds = 0
        # An outage is one story in the log, not a line a slot per venue.
        failing = Repeats(f"{self.name} accounts not read (read again shortly)",
                          f"{self.name} accounts read again")
        unsubscribed = Repeats(f"{self.name}: the node's PubSub not reached (its accounts read "
                               "every slot instead)", f"{self.name}: subscribed again")
        while True:
            try:
                if self._subscriptions.live:
                    await self._wake.wait()  # a notification, or the liveness tick
                    self._wake.clear()
                    moved = await self._adopt() | await self._refresh(self._accounts.take_dirty())
                    if self._clock.monotonic() >= self._recheck_at:
                        moved |= await self._recheck()
                else:  # at once the first time: the index was just read, subscribe now
                    if rounds:
                        await self._clock.sleep(max(self._slot_seconds, 0.05))
                    rounds += 1
                    found = await self.load() if rounds % 25 == 1 else set()
                    # Subscribed first, read after: a node tells a change only to the
                    # subscriptions made before it, so one made between a read and the
                    # subscription would be missed until the pool next moved.
                    try:
                        await self.subscribe()
                        unsubscribed.ended()
                    except (RpcError, TimeoutError) as error:  # read all the same: it is
                        unsubscribed.failed(error)  # how waiting orders wake meanwhile
                    moved = found | await self._read(list(self.pools))
                    self._checked()
            except (RpcError, EngineError, ValueError, TimeoutError) as error:
                failing.failed(error)
                # Subscriptions still live are kept (only the reads failed: a rate limit, say;
                # made again each time, they would cost the node more calls): every pool is
                # read again in a second instead, however many notifications come meanwhile.
                # Else they are made again, and every pool read, next slot.
                self._recheck_at = self._clock.monotonic() + LIVENESS_SECONDS
                continue
            failing.ended()
            if moved:
                for listener in self.listeners:
                    listener(moved)

    async def _recheck(self) -> set[frozenset[str]]:
        """Every pool read again, now and then, while subscribed, and the index looked at (a
        launch whose notification was lost): a notification lost on the way costs this long
        at most. Pools found changed with not one notification since the last look, and still
        none by the next (one on its way would have come by then), mean the subscriptions
        stopped delivering (a node may drop them without closing the connection): they are
        made again."""
        told, known = self._accounts.told, list(self.pools)
        moved = await self.load()
        launched = [p for p in self.pools if p not in known]
        if launched:
            await self._subscriptions.watch(self._vaults(launched))
        moved |= await self._read(known + launched)
        silent = told == self._told_then
        if silent and self._unheard:
            logger.warning("{}: pools changed and no notification came in {:.0f} s; "
                           "subscribing again", self.name, 2 * RECHECK_SECONDS)
            self._subscriptions.drop()
        self._unheard = silent and bool(moved)
        self._checked()
        return moved

    def _checked(self) -> None:
        self._recheck_at = self._clock.monotonic() + RECHECK_SECONDS
        self._told_then = self._accounts.told

    async def subscribe(self) -> None:
        """Subscribe to the programs and every pool's vaults, unless that is live."""
        await self._subscriptions.make(self._vaults(list(self.pools)))

    def _vaults(self, pool_ids: list[str]) -> list[Pubkey]:
        """The accounts of these pools no program subscription sees (DLMM's are its own)."""
        return [a for p in pool_ids if self._owners[p] != DLMM for a in self._related.get(p, ())]

    async def _refresh(self, pool_ids: list[str]) -> set[frozenset[str]]:
        """Decode pools a notification changed; a pool whose set of accounts changed (new
        bin arrays) is read again first."""
        changed = [p for p in pool_ids if related(
            self._owners[p], Pubkey.from_string(p), self._raw[Pubkey.from_string(p)])
            != self._related.get(p)]
        moved = await self._read(changed) if changed else set()
        return moved | self._decode([p for p in pool_ids if p not in changed],
                                     self._time.slot)

    async def _adopt(self) -> set[frozenset[str]]:
        """Pools first seen in a notification (a launch): read their other accounts."""
        new = self._accounts.take_new()
        for address in new:
            owner = next(o for o, size in SIZES.items() if len(self._raw[address]) == size)
            self._owners[str(address)] = owner
        ids = [str(a) for a in new]
        moved = await self._read(ids)  # which vaults they have
        await self._subscriptions.watch(self._vaults(ids))
        # Read again: a swap between that read and the vaults' subscriptions is told to none.
        return moved | await self._read(ids)

    async def _read(self, pool_ids: list[str]) -> set[frozenset[str]]:
        """Read these pools' accounts again; the pairs whose state changed."""
        if not pool_ids:
            return set()
        wanted = [Pubkey.from_string(p) for p in pool_ids]
        wanted += [a for p in pool_ids for a in self._related.get(p, ())]
        slot = await self._accounts.read(wanted)
        missing: list[Pubkey] = []
        for pool_id in pool_ids:  # a pool read for the first time, or with new bin arrays
            main = Pubkey.from_string(pool_id)
            need = related(self._owners[pool_id], main, self._raw[main])
            if need != self._related.get(pool_id):
                self._related[pool_id] = need
                missing += [a for a in need if a not in self._raw or pool_id not in self.pools]
        if missing:
            slot = await self._accounts.read(missing)
        return self._decode(pool_ids, slot)

    def _decode(self, pool_ids: list[str], slot: int) -> set[frozenset[str]]:
        """Decode these pools from the accounts last read; the pairs whose state changed."""
        moved: set[frozenset[str]] = set()
        for pool_id in pool_ids:
            main = Pubkey.from_string(pool_id)
            before = self.pools.get(pool_id)
            try:
                pool, info, opened = read_pool(pool_id, self._owners[pool_id], main,
                                               self._raw[main], self._raw)
            except (KeyError, ValueError) as error:
                self.left_out.unreadable(pool_id, error)
                continue
            self.left_out.read(pool_id, pool)
            if before is None or before != pool:  # the dataclasses' own (C-level) compare
                moved.add(frozenset(pool.mints))
            if before is None:
                self._by_pair.setdefault(frozenset(pool.mints), []).append(pool_id)
                # Seeded pools say 0 (open since genesis); Raydium keeps a launch's unix time,
                # which may fall in slot 0 itself, DLMM its activation slot.
                if opened and isinstance(pool, DlmmPool):
                    self._opened[pool_id] = opened
                elif opened:
                    self._opened[pool_id] = max(0, self._time.slot_at(opened))
            self.pools[pool_id], self._infos[pool_id] = pool, info
            self._fetched[pool_id] = slot
            for address in (main, *self._related.get(pool_id, ())):
                self._accounts.pool_of[address] = pool_id
        return moved

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
        live = self._subscriptions.live  # notifications keep the cache current
        stale = [] if live else [
            p for p in ids if self._time.slot_now() - self._fetched.get(p, -1) > self._max_age]
        if stale:  # older than --max-account-age slots: read them before quoting
            try:
                await self._read(stale)
            except RpcError as error:  # the Venue port's words: a node that cannot be asked
                raise translate(error) from None
        best: PoolQuote | None = None
        chosen = ""
        for pool_id in ids:
            if pool_id in self.left_out:
                continue
            try:
                found = quote_pool(self.pools[pool_id], mint_in, amount, self._time.unix,
                                   exact_out=exact_out)
            except (ArithmeticError, ValueError) as error:
                self.left_out.math_failed(pool_id, self.pools[pool_id], error)
                continue
            if found is not None and better(found, best, exact_out=exact_out):
                best, chosen = found, pool_id
        if best is None:
            return None
        return Quote(self.name, chosen, mint_in, mint_out, best.amount_in, best.amount_out,
                     best.fee, best.price_impact, LABELS[self._owners[chosen]],
                     self._fetched[chosen], self._opened.get(chosen))

    def problems(self) -> list[str]:
        return self.left_out.problems()

    # -- the directory a transaction is built from ---------------------------------------------
    def pool_info(self, pool_id: str) -> PoolInfo:
        return self._infos[pool_id]

    def pool_at(self, address: Pubkey) -> PoolInfo | None:
        return self._infos.get(str(address))

