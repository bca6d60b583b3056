"""A venue over simulated pools: quotes read pool state, swaps change it."""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from loguru import logger

from engine.domain.routing import Quote
from engine.pools.cpmm import CpPool
from engine.pools.dlmm import DlmmPool
from engine.pools.quoting import PoolQuote, better, quote_pool
from engine.ports import Clock
from engine.solana.programs import PoolInfo


class Pool(Protocol):
    id: str

    @property
    def mints(self) -> tuple[str, str]: ...

    def depth(self, mint: str) -> int: ...

    def swap_out(self, mint_in: str, amount_in: int, now: int) -> tuple[int, int]: ...

    def swap_in(self, mint_in: str, amount_out: int, now: int) -> tuple[int, int]: ...

    def swap(self, mint_in: str, amount_in: int, now: int) -> int: ...

    def swap_exact_out(self, mint_in: str, amount_out: int, now: int) -> int: ...

    def spot_price(self, mint_in: str) -> float: ...

    def scale_price(self, factor: float) -> None: ...

    def state(self) -> Any: ...

    def restore(self, state: Any) -> None: ...


class PoolVenue:
    """Raydium or Meteora: the best of its pools for a pair, after ~200 ms (scaled)."""

    def __init__(self, name: str, pools: Sequence[Pool], *, clock: Clock,
                 rng: random.Random, latency_scale: float, chain_time: Callable[[], int],
                 slot: Callable[[], int], labels: Mapping[str, str]) -> None:
        self.name = name
        self.pools = {p.id: p for p in pools}
        self._by_pair: dict[frozenset[str], list[Pool]] = {}
        for pool in pools:
            self._by_pair.setdefault(frozenset(pool.mints), []).append(pool)
        self._clock, self._rng, self._scale, self._now = clock, rng, latency_scale, chain_time
        self._slot, self._labels = slot, labels
        self._opened: dict[str, int] = {}
        self.frozen: dict[str, str] = {}  # pool id -> why it no longer trades

    def add_pool(self, pool: Pool, label: str, slot: int) -> None:
        """A pool opens at `slot` (a token launch): tradable from now on."""
        self._opened[pool.id] = slot
        self.pools[pool.id] = pool
        self._by_pair.setdefault(frozenset(pool.mints), []).append(pool)
        self._labels = {**self._labels, pool.id: label}

    def freeze(self, pool_id: str, reason: str) -> None:
        """Take a pool whose math failed out of trading, once: a fault in one pool must not
        fail every quote that looks at it, nor be replayed on each."""
        pool = self.pools.get(pool_id)
        if pool is None or pool_id in self.frozen:
            return
        self.frozen[pool_id] = reason
        pair = frozenset(pool.mints)
        self._by_pair[pair] = [p for p in self._by_pair.get(pair, []) if p.id != pool_id]
        if not self._by_pair[pair]:
            del self._by_pair[pair]
        logger.error("{} pool {} frozen: {}", self.name, pool_id, reason)

    def has_pair(self, mint_in: str, mint_out: str) -> bool:
        return frozenset((mint_in, mint_out)) in self._by_pair

    async def quote(self, mint_in: str, mint_out: str, amount_in: int) -> Quote | None:
        """The pool that pays the most for exactly `amount_in`."""
        return await self._best(mint_in, mint_out, amount_in, exact_out=False)

    async def quote_exact_out(self, mint_in: str, mint_out: str,
                              amount_out: int) -> Quote | None:
        """The pool that asks the least for exactly `amount_out`."""
        return await self._best(mint_in, mint_out, amount_out, exact_out=True)

    async def _best(self, mint_in: str, mint_out: str, amount: int, *,
                    exact_out: bool) -> Quote | None:
        await self._clock.sleep(self._rng.uniform(0.15, 0.25) * self._scale)
        now = self._now()
        best: PoolQuote | None = None
        chosen: Pool | None = None
        for pool in self._by_pair.get(frozenset((mint_in, mint_out)), []):
            try:
                found = quote_pool(pool, mint_in, amount, now, exact_out=exact_out)
            except (ArithmeticError, ValueError) as error:  # its state is broken: freeze it
                self.freeze(pool.id, f"quote failed: {type(error).__name__}: {error}")
                continue
            if found is not None and better(found, best, exact_out=exact_out):
                best, chosen = found, pool
        if best is None or chosen is None:
            return None
        return Quote(self.name, chosen.id, mint_in, mint_out, best.amount_in, best.amount_out,
                     best.fee, best.price_impact, self._labels.get(chosen.id, self.name),
                     self._slot(), self._opened.get(chosen.id))

    def opened_slot(self, pool: str) -> int | None:
        """When a launched pool became tradable; None for the pools that always were."""
        return self._opened.get(pool)

    def kind(self, pool: str) -> str:
        """The pool's program: amm_v4, cpmm or dlmm."""
        return self.info(pool).kind

    def info(self, pool: str) -> PoolInfo:
        """What a transaction naming this pool needs: program, mints, fee tier, active bin."""
        found = self.pools[pool]
        if isinstance(found, CpPool):
            return PoolInfo(pool, found.program, found.base, found.quote, found.fee_num)
        if isinstance(found, DlmmPool):
            return PoolInfo(pool, "dlmm", found.token_x, found.token_y,
                            active_bin=found.active_id, bin_step=found.bin_step)
        a, b = found.mints  # another curve: addressed as the venue's classic program
        return PoolInfo(pool, "dlmm" if self.name == "meteora" else "amm_v4", a, b)

    def preview(self, pool: str, mint_in: str, amount_in: int, now: int) -> int:
        return self.pools[pool].swap_out(mint_in, amount_in, now)[0]

    def preview_in(self, pool: str, mint_in: str, amount_out: int, now: int) -> int:
        return self.pools[pool].swap_in(mint_in, amount_out, now)[0]

    def apply(self, pool: str, mint_in: str, amount_in: int, now: int) -> int:
        return self.pools[pool].swap(mint_in, amount_in, now)

    def apply_exact_out(self, pool: str, mint_in: str, amount_out: int, now: int) -> int:
        return self.pools[pool].swap_exact_out(mint_in, amount_out, now)
