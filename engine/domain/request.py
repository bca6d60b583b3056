"""An order as the trader asked for it, validated: amounts in atoms, tokens resolved; what
kind of order it is lives in its `OrderType`."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from engine.domain.order_types import OrderType
from engine.domain.routing import RoutePlan, pivot_floor
from engine.domain.schedule import Schedule
from engine.domain.tokens import Token, net_price
from engine.domain.transactions import SwapInstruction


class SwapMode(StrEnum):
    """Which side of the swap `amount` fixes, in the aggregators' words."""

    EXACT_IN = "ExactIn"  # spend exactly `amount` of tokenIn; slippage bounds the least out
    EXACT_OUT = "ExactOut"  # receive exactly `amount` of tokenOut; slippage bounds the most in


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """A validated order as the trader asked for it; amounts already in atoms."""

    order_type: OrderType  # what it is, and its own terms and rules
    token_in: Token
    token_out: Token
    amount: int  # atoms of tokenIn (ExactIn) or of tokenOut (ExactOut)
    slippage: Decimal
    expires_at: datetime | None = None  # a waiting order's end, unless it executes first
    swap_mode: SwapMode = SwapMode.EXACT_IN
    priority_fee: str | int | None = None  # "auto", "high", µlamports per CU; None: by type

    @property
    def priority(self) -> str | int:
        """What to bid per compute unit: as asked, else "high" for snipers (the launch slot
        is the prize) and "auto" for the rest."""
        if self.priority_fee is not None:
            return self.priority_fee
        return "high" if self.order_type.snipes else "auto"

    @property
    def exact_out(self) -> bool:
        return self.swap_mode is SwapMode.EXACT_OUT

    @property
    def amount_token(self) -> Token:
        """The token `amount` counts."""
        return self.token_out if self.exact_out else self.token_in

    @property
    def waits(self) -> bool:
        return self.order_type.waits

    @property
    def schedule(self) -> Schedule | None:
        return self.order_type.schedule

    def min_out(self, quoted_out: int) -> int:
        """The slippage floor: the least output the trader accepts for a quote."""
        return int(Decimal(quoted_out) * (1 - self.slippage))

    def max_in(self, quoted_in: int) -> int:
        """The exact-out bound: the most input the trader pays for a quote."""
        return math.ceil(Decimal(quoted_in) * (1 + self.slippage))

    def swaps(self, plan: RoutePlan) -> list[SwapInstruction]:
        """The plan's legs as swaps, each bounded: exact out, by what each may cost at most;
        exact in, the final hop by the slippage floor, and a first hop by what its second
        spends (`pivot_floor`)."""
        if plan.exact_out:
            return [SwapInstruction(leg.venue, leg.pool, leg.mint_in, leg.mint_out,
                                    self.max_in(leg.amount_in), leg.amount_out, exact_out=True)
                    for leg in plan.legs]
        last = len(plan.hops) - 1
        return [SwapInstruction(leg.venue, leg.pool, leg.mint_in, leg.mint_out, leg.amount_in,
                                self.min_out(leg.amount_out) if hop == last
                                else pivot_floor(leg.amount_out), hop)
                for hop, legs in enumerate(plan.hops) for leg in legs]

    def net_price(self, amount_in: int, amount_out: int) -> Decimal:
        """tokenOut per tokenIn, in UI units: what triggers and limits compare."""
        return net_price(self.token_in, self.token_out, amount_in, amount_out)

    def shortfall(self, plan: RoutePlan, held: int, lamports: int) -> str:
        """Why the wallet cannot pay for `plan`, given what it holds of tokenIn (`held`) and
        of SOL: what it spends, or else the network fee and rent, which only SOL pays."""
        spends = sum(self.max_in(leg.amount_in) for leg in plan.legs) if plan.exact_out \
            else plan.amount_in
        token = self.token_in
        if held < spends:
            return (f"the wallet holds {token.format(held)} {token.symbol}; the order spends "
                    f"{'up to ' if plan.exact_out else ''}{token.format(spends)} {token.symbol}")
        return (f"the wallet's {Decimal(lamports).scaleb(-9).normalize():f} SOL do not cover "
                "the network fee and the token accounts' rent")
