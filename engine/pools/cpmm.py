"""Raydium constant-product pools (AMM v4 and CPMM), in integer atoms with the programs' rounding."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from engine.domain.errors import InsufficientFunds


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def _checked_ceil_div(numerator: int, denominator: int) -> int:
    """The programs' `checked_ceil_div` (CPMM's, AMM v4's): up, except below one, where it
    rounds to the nearest (half up), so a price under half an atom is 0."""
    if numerator < denominator:
        return 1 if 2 * numerator >= denominator else 0
    return ceil_div(numerator, denominator)


@dataclass
class CpPool:
    """x·y = k with the fee taken on the input. `base`/`quote` are mints; reserves in atoms."""

    id: str
    program: str  # "amm_v4" or "cpmm"
    base: str
    quote: str
    reserve_base: int
    reserve_quote: int
    fee_num: int
    fee_den: int
    protocol_rate: int = 0  # CPMM: share of the trade fee kept outside the curve, over 1e6
    fund_rate: int = 0
    # LP tokens minted when the pool was made (sqrt of the first deposit's product); swaps
    # never change it, so the pool's accounts keep showing it. 0: from the reserves given.
    lp_supply: int = 0
    # How many times the reserves changed: what is derived from them (the pool's accounts'
    # bytes) is made again only when this moved.
    changes: int = field(default=0, compare=False)

    def __post_init__(self) -> None:
        if self.lp_supply == 0:
            self.lp_supply = math.isqrt(self.reserve_base * self.reserve_quote)

    def reserves(self, mint_in: str) -> tuple[int, int]:
        if mint_in == self.base:
            return self.reserve_base, self.reserve_quote
        return self.reserve_quote, self.reserve_base

    @property
    def mints(self) -> tuple[str, str]:
        return self.base, self.quote

    def depth(self, mint: str) -> int:
        return self.reserve_base if mint == self.base else self.reserve_quote

    def swap_out(self, mint_in: str, amount_in: int, now: int = 0) -> tuple[int, int]:
        """(amount out, fee in input atoms) for an exact-in swap, without changing the pool."""
        r_in, r_out = self.reserves(mint_in)
        if self.program == "amm_v4":  # SwapBaseIn's fee: half an atom or less is no fee
            fee = _checked_ceil_div(amount_in * self.fee_num, self.fee_den)
        else:
            fee = ceil_div(amount_in * self.fee_num, self.fee_den)
        net = amount_in - fee
        return r_out * net // (r_in + net), fee

    def swap_in(self, mint_in: str, amount_out: int, now: int = 0) -> tuple[int, int]:
        """(amount in, fee in input atoms) that buys exactly `amount_out`, without changing
        the pool: the programs' exact-out (SwapBaseOut, swap_base_output) rounding, up."""
        r_in, r_out = self.reserves(mint_in)
        if not 0 < amount_out < r_out:
            raise InsufficientFunds(f"{self.id}: pool cannot pay {amount_out}")
        net = _checked_ceil_div(r_in * amount_out, r_out - amount_out)
        if net == 0:  # both programs refuse a swap that would take nothing in
            raise InsufficientFunds(f"{self.id}: {amount_out} is too little to buy")
        if self.program == "cpmm":
            amount_in = ceil_div(net * self.fee_den, self.fee_den - self.fee_num)
            # The program's trade fee, on which the protocol and fund shares are taken.
            return amount_in, ceil_div(amount_in * self.fee_num, self.fee_den)
        amount_in = _checked_ceil_div(net * self.fee_den, self.fee_den - self.fee_num)
        return amount_in, amount_in - net

    def swap(self, mint_in: str, amount_in: int, now: int = 0) -> int:
        """Execute the swap: reserves move, so the next trader sees the new price."""
        out, fee = self.swap_out(mint_in, amount_in)
        if out >= self.reserves(mint_in)[1] or out <= 0:
            raise InsufficientFunds(f"{self.id}: pool cannot pay {out}")
        self._settle(mint_in, amount_in, out, fee)
        return out

    def swap_exact_out(self, mint_in: str, amount_out: int, now: int = 0) -> int:
        """Execute an exact-out swap; returns what it took in."""
        amount_in, fee = self.swap_in(mint_in, amount_out)
        self._settle(mint_in, amount_in, amount_out, fee)
        return amount_in

    def _settle(self, mint_in: str, amount_in: int, out: int, fee: int) -> None:
        r_in, r_out = self.reserves(mint_in)
        kept_outside = 0
        if self.program == "cpmm":  # accrued protocol and fund fees leave the curve
            kept_outside = fee * self.protocol_rate // 10**6 + fee * self.fund_rate // 10**6
        self._set(mint_in, r_in + amount_in - kept_outside, r_out - out)

    def spot_price(self, mint_in: str) -> float:
        """Marginal output atoms per input atom, before fees (for price impact only)."""
        r_in, r_out = self.reserves(mint_in)
        return r_out / r_in

    def state(self) -> list[int]:
        return [self.reserve_base, self.reserve_quote, self.lp_supply]

    def restore(self, state: list[int]) -> None:
        self.reserve_base, self.reserve_quote = state[:2]
        if len(state) > 2:  # a record written before the supply was kept: as it was made
            self.lp_supply = state[2]
        self.changes += 1

    def take(self, other: CpPool) -> None:
        """Become `other`'s state (a pool read from its accounts): `restore` without the
        round trip through the record's shape."""
        self.reserve_base, self.reserve_quote, self.lp_supply = (
            other.reserve_base, other.reserve_quote, other.lp_supply)
        self.changes += 1

    def scale_price(self, factor: float) -> None:
        """Scripted: make base `factor` times dearer in quote, keeping the quote depth."""
        self.reserve_base = int(self.reserve_base / factor)
        self.changes += 1

    def _set(self, mint_in: str, r_in: int, r_out: int) -> None:
        if mint_in == self.base:
            self.reserve_base, self.reserve_quote = r_in, r_out
        else:
            self.reserve_quote, self.reserve_base = r_in, r_out
        self.changes += 1
