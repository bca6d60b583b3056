"""Meteora DLMM: liquidity in price bins, constant sum inside a bin, volatility-driven fees."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from functools import lru_cache
from typing import Any

from engine.domain.errors import InsufficientFunds
from engine.pools.cpmm import ceil_div

ONE_Q64 = 1 << 64
FEE_PRECISION = 10**9
MAX_FEE_RATE = 10**8  # 10 %
BASIS_POINT_MAX = 10_000


@lru_cache(maxsize=65536)
def bin_price_q64(bin_step: int, bin_id: int) -> int:
    """(1 + s/10^4)^id as atoms of Y per atom of X, in Q64.64."""
    with localcontext() as ctx:
        ctx.prec = 60
        price = (Decimal(1) + Decimal(bin_step) / BASIS_POINT_MAX) ** bin_id
        return int(price * ONE_Q64)


@dataclass(frozen=True)
class FeeParams:
    base_factor: int
    power_factor: int = 0
    filter_period: int = 30
    decay_period: int = 600
    reduction_factor: int = 5_000
    variable_fee_control: int = 40_000
    max_volatility_accumulator: int = 350_000


@dataclass
class DlmmPool:
    id: str
    token_x: str
    token_y: str
    bin_step: int
    active_id: int
    fees: FeeParams
    bins: dict[int, list[int]] = field(default_factory=dict)  # id -> [x atoms, y atoms]
    volatility_accumulator: int = 0
    volatility_reference: int = 0
    index_reference: int = 0
    last_update: int = 0
    # How many times the state changed: what is derived from it (its accounts' bytes) is
    # made again only when this moved.
    changes: int = field(default=0, compare=False)

    @property
    def mints(self) -> tuple[str, str]:
        return self.token_x, self.token_y

    def depth(self, mint: str) -> int:
        index = 0 if mint == self.token_x else 1
        return sum(b[index] for b in self.bins.values())

    def state(self) -> dict[str, Any]:
        return {"bins": [[i, x, y] for i, (x, y) in self.bins.items()], "active": self.active_id,
                "vol": [self.volatility_accumulator, self.volatility_reference,
                        self.index_reference, self.last_update]}

    def restore(self, state: dict[str, Any]) -> None:
        self.bins = {i: [x, y] for i, x, y in state["bins"]}
        self.active_id = state["active"]
        (self.volatility_accumulator, self.volatility_reference, self.index_reference,
         self.last_update) = state["vol"]
        self.changes += 1

    def take(self, other: DlmmPool) -> None:
        """Become `other`'s state (a pool read from its accounts, whose bins it then owns):
        `restore` without the round trip through the record's shape."""
        self.bins, self.active_id = other.bins, other.active_id
        (self.volatility_accumulator, self.volatility_reference, self.index_reference,
         self.last_update) = (other.volatility_accumulator, other.volatility_reference,
                              other.index_reference, other.last_update)
        self.changes += 1

    def scale_price(self, factor: float) -> None:
        """Scripted: re-centre every bin `n` steps so the price moves by about `factor`."""
        shift = round(math.log(factor) / math.log(1 + self.bin_step / BASIS_POINT_MAX))
        self.bins = {i + shift: b for i, b in self.bins.items()}
        self.active_id += shift
        self.index_reference += shift
        self.changes += 1

    def base_fee_rate(self) -> int:
        return int(self.fees.base_factor * self.bin_step * 10 * 10**self.fees.power_factor)

    def variable_fee_rate(self, va: int) -> int:
        square = (va * self.bin_step) ** 2
        return ceil_div(self.fees.variable_fee_control * square, 10**11)

    def fee_rate(self, va: int) -> int:
        return min(self.base_fee_rate() + self.variable_fee_rate(va), MAX_FEE_RATE)

    def swap_out(self, mint_in: str, amount_in: int, now: int) -> tuple[int, int]:
        """(amount out, total fee) without changing the pool."""
        _, out, fee, _ = self._run(mint_in, amount_in, now, exact_out=False)
        return out, fee

    def swap_in(self, mint_in: str, amount_out: int, now: int) -> tuple[int, int]:
        """(amount in, total fee) that buys exactly `amount_out` (swap_exact_out)."""
        amount_in, _, fee, _ = self._run(mint_in, amount_out, now, exact_out=True)
        return amount_in, fee

    def swap(self, mint_in: str, amount_in: int, now: int) -> int:
        _, out, _, state = self._run(mint_in, amount_in, now, exact_out=False)
        if out <= 0:
            raise InsufficientFunds(f"{self.id}: PairInsufficientLiquidity (6012)")
        self._keep(state)
        return out

    def swap_exact_out(self, mint_in: str, amount_out: int, now: int) -> int:
        amount_in, _, _, state = self._run(mint_in, amount_out, now, exact_out=True)
        self._keep(state)
        return amount_in

    def _keep(self, state: tuple[dict[int, list[int]], int, tuple[int, int, int, int]]) -> None:
        bins, self.active_id, vol = state
        self.bins.update(bins)
        (self.volatility_accumulator, self.volatility_reference, self.index_reference,
         self.last_update) = vol
        self.changes += 1

    def spot_price(self, mint_in: str) -> float:
        price = bin_price_q64(self.bin_step, self.active_id) / ONE_Q64
        return price if mint_in == self.token_x else 1 / price

    def _references(self, now: int) -> tuple[int, int]:
        elapsed = now - self.last_update
        if elapsed < self.fees.filter_period:
            return self.volatility_reference, self.index_reference
        if elapsed < self.fees.decay_period:
            return self.volatility_accumulator * self.fees.reduction_factor // 10_000, self.active_id
        return 0, self.active_id

    def _run(self, mint_in: str, amount: int, now: int, *, exact_out: bool) -> tuple[
            int, int, int, tuple[dict[int, list[int]], int, tuple[int, int, int, int]]]:
        """Walk bins from the active one until `amount` (of input, or of output for an exact
        out) is used up; returns (in, out, fee, new bins/active/volatility state)."""
        x_in = mint_in == self.token_x
        v_ref, i_ref = self._references(now)
        step = -1 if x_in else 1
        remaining, total_in, out, fees = amount, 0, 0, 0
        active, va = self.active_id, self.volatility_accumulator
        touched: dict[int, list[int]] = {}
        while remaining > 0:
            if active not in self.bins:
                raise InsufficientFunds(f"{self.id}: PairInsufficientLiquidity (6012)")
            x, y = touched.get(active) or list(self.bins[active])
            reserve_out = y if x_in else x
            if reserve_out > 0:
                va = min(v_ref + abs(i_ref - active) * BASIS_POINT_MAX,
                         self.fees.max_volatility_accumulator)
                f = self.fee_rate(va)
                price = bin_price_q64(self.bin_step, active)
                if exact_out:
                    used, got, fee, removed = self._buy(remaining, reserve_out, price, f, x_in)
                    remaining -= got
                else:
                    used, got, fee = self._sell(remaining, reserve_out, price, f, x_in)
                    remaining -= used
                    removed = got
                gained = used - fee
                touched[active] = [x + gained, y - removed] if x_in else [x - removed, y + gained]
                total_in, out, fees = total_in + used, out + got, fees + fee
            if remaining > 0:
                active += step
        # The program stamps the time only when the swap moved the active bin: a swap inside
        # one bin leaves the fee filter's window running from the last move.
        stamped = now if active != self.active_id else self.last_update
        return total_in, out, fees, (touched, active, (va, v_ref, i_ref, stamped))

    @staticmethod
    def _sell(amount_in: int, reserve_out: int, price: int, f: int,
              x_in: bool) -> tuple[int, int, int]:
        """One bin, exact in: (input used, output, fee)."""
        capacity = (ceil_div(reserve_out * ONE_Q64, price) if x_in
                    else ceil_div(reserve_out * price, ONE_Q64))
        fee = ceil_div(amount_in * f, FEE_PRECISION)
        if amount_in - fee >= capacity:  # the bin empties
            fee = ceil_div(capacity * f, FEE_PRECISION - f)
            return capacity + fee, reserve_out, fee
        net = amount_in - fee
        return amount_in, net * price // ONE_Q64 if x_in else net * ONE_Q64 // price, fee

    @staticmethod
    def _buy(amount_out: int, reserve_out: int, price: int, f: int,
             x_in: bool) -> tuple[int, int, int, int]:
        """One bin, exact out: (input used, output, fee, taken from the bin); the fee is on top
        of the net input. The program takes from the bin what the net input buys at exact-in
        rounding, which in a partly used bin is a few atoms more than the output: they stay
        in the reserve, in no bin."""
        got = min(amount_out, reserve_out)
        net = ceil_div(got * ONE_Q64, price) if x_in else ceil_div(got * price, ONE_Q64)
        fee = ceil_div(net * f, FEE_PRECISION - f)
        bought = net * price // ONE_Q64 if x_in else net * ONE_Q64 // price
        return net + fee, got, fee, min(bought, reserve_out)
