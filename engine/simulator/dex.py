"""The simulated DEXes: each one's pools, which the model of its programs swaps on."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from loguru import logger

from engine.pools.cpmm import CpPool
from engine.pools.dlmm import DlmmPool
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


class Dex:
    """Raydium or Meteora in the simulation: its pools, as the model of its programs executes
    swaps on them (`SwapProgram`), and those taken out of trading after their math failed.
    The engine never quotes these objects: it reads the pools' accounts, as from any node."""

    def __init__(self, name: str, pools: Sequence[Pool]) -> None:
        self.name = name
        self.pools = {p.id: p for p in pools}
        self._opened: dict[str, int] = {}
        self.frozen: dict[str, str] = {}  # pool id -> why it no longer trades

    def add_pool(self, pool: Pool, slot: int) -> None:
        """A pool opens at `slot` (a token launch): tradable from now on."""
        self._opened[pool.id] = slot
        self.pools[pool.id] = pool

    def freeze(self, pool_id: str, reason: str) -> None:
        """Take a pool whose math failed out of the market's trading, once: a fault in one
        pool must not be replayed every slot."""
        if pool_id not in self.pools or pool_id in self.frozen:
            return
        self.frozen[pool_id] = reason
        logger.error("{} pool {} frozen: {}", self.name, pool_id, reason)

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
