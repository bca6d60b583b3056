"""The router on its own, with venues faked by a price each: which venue wins, when a route goes
through SOL or USDC and what its second hop spends, exact out on direct pools only, and what it
says when nothing trades the pair. No engine, no HTTP."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import pytest

from engine.domain.errors import NodeUnhealthy, NoRoute
from engine.domain.parsing import parse_order
from engine.domain.request import OrderRequest, SwapMode
from engine.domain.risk import NotionalTooLarge
from engine.domain.routing import Quote, pivot_floor
from engine.domain.tokens import lookup
from engine.orders.halt import TradingSwitch
from engine.orders.risk_controls import PRICE_LIFETIME, RiskControls
from engine.orders.router import Router
from engine.testing import ManualClock


def mint(symbol: str) -> str:
    token = lookup(symbol)
    assert token is not None
    return token.mint


SOL, USDC, BONK, JUP = mint("SOL"), mint("USDC"), mint("BONK"), mint("JUP")


@dataclass
class FakeVenue:
    """A venue with one pool a pair, paying `rate` atoms out per atom in, less a 0.25 % fee; as
    a real venue, no quote for an input beyond its `depth` or for one that pays nothing."""

    name: str
    rates: dict[tuple[str, str], float]
    asked: list[tuple[str, str, int]] = field(default_factory=list)
    depth: int = 10**30
    down: bool = False  # its node cannot be reached: every quote raises

    def has_pair(self, mint_in: str, mint_out: str) -> bool:
        return (mint_in, mint_out) in self.rates

    def problems(self) -> list[str]:
        return []

    async def quote(self, mint_in: str, mint_out: str, amount_in: int) -> Quote | None:
        self.asked.append((mint_in, mint_out, amount_in))
        if self.down:
            raise NodeUnhealthy("getMultipleAccounts: Cannot connect to host")
        rate = self.rates.get((mint_in, mint_out))
        if rate is None:
            return None
        fee = amount_in * 25 // 10_000
        out = int((amount_in - fee) * rate)
        if out <= 0 or amount_in > self.depth:
            return None
        return Quote(self.name, f"{self.name}-{mint_in[:4]}-{mint_out[:4]}", mint_in, mint_out,
                     amount_in, out, fee)

    async def quote_exact_out(self, mint_in: str, mint_out: str,
                              amount_out: int) -> Quote | None:
        if self.down:
            raise NodeUnhealthy("getMultipleAccounts: Cannot connect to host")
        rate = self.rates.get((mint_in, mint_out))
        if rate is None:
            return None
        needed = int(amount_out / rate / (1 - 0.0025)) + 1
        return Quote(self.name, f"{self.name}-{mint_in[:4]}-{mint_out[:4]}", mint_in, mint_out,
                     needed, amount_out, needed * 25 // 10_000)


async def test_the_venue_that_pays_more_wins_and_the_reason_says_by_how_much() -> None:
    router = Router([FakeVenue("raydium", {(SOL, USDC): 0.150}),
                     FakeVenue("meteora", {(SOL, USDC): 0.151})])
    plan = await router.plan(SOL, USDC, 10**9)
    assert plan.venue == "meteora" and "meteora" in plan.reason
    assert [q.venue for q in plan.quotes] == ["meteora", "raydium"]


async def test_a_pair_without_a_pool_goes_through_sol_and_its_second_hop_spends_the_floor(
        ) -> None:
    venue = FakeVenue("raydium", {(BONK, SOL): 0.00002, (SOL, USDC): 0.15})
    plan = await Router([venue]).plan(BONK, USDC, 10**12)
    assert plan.via == SOL and len(plan.hops) == 2
    first, second = plan.hops
    assert sum(q.amount_in for q in second) == sum(pivot_floor(q.amount_out) for q in first)
    assert plan.amount_out == sum(q.amount_out for q in second)


async def test_exact_out_takes_direct_pools_only() -> None:
    router = Router([FakeVenue("raydium", {(BONK, SOL): 0.00002, (SOL, USDC): 0.15})])
    plan = await router.plan(SOL, USDC, 150 * 10**6, SwapMode.EXACT_OUT)
    assert plan.exact_out and plan.amount_out == 150 * 10**6
    assert not router.has_route(BONK, USDC, SwapMode.EXACT_OUT)
    with pytest.raises(NoRoute):
        await router.plan(BONK, USDC, 10**6, SwapMode.EXACT_OUT)


async def test_nothing_trades_the_pair_is_no_route_and_no_venue_is_asked_twice() -> None:
    venue = FakeVenue("raydium", {(SOL, USDC): 0.15})
    router = Router([venue])
    assert not router.has_route(JUP, BONK)
    with pytest.raises(NoRoute):
        await router.plan(JUP, BONK, 10**6)
    await router.plan(SOL, USDC, 10**9)
    assert len(venue.asked) == len(set(venue.asked))


async def test_an_amount_every_pool_pays_nothing_for_is_refused_as_too_small() -> None:
    router = Router([FakeVenue("raydium", {(SOL, USDC): 0.15}),
                     FakeVenue("meteora", {(SOL, USDC): 0.15})])
    with pytest.raises(NoRoute, match="too small: every pool pays nothing"):
        await router.plan(SOL, USDC, 1)  # a lamport: 0.00015 of a USDC atom


async def test_an_amount_beyond_every_pool_even_split_is_refused_as_too_large() -> None:
    router = Router([FakeVenue("raydium", {(SOL, USDC): 0.15}, depth=10**12),
                     FakeVenue("meteora", {(SOL, USDC): 0.15}, depth=10**12)])
    with pytest.raises(NoRoute, match="too large for the available liquidity"):
        await router.plan(SOL, USDC, 5 * 10**12)  # more than both together hold
    plan = await router.plan(SOL, USDC, 15 * 10**11)  # more than either: split, not refused
    assert len(plan.legs) == 2


async def test_a_venue_that_cannot_be_asked_is_left_out_while_another_answers() -> None:
    router = Router([FakeVenue("raydium", {(SOL, USDC): 0.150}),
                     FakeVenue("meteora", {(SOL, USDC): 0.151}, down=True)])
    plan = await router.plan(SOL, USDC, 10**9)
    assert plan.venue == "raydium"


async def test_no_venue_to_ask_is_a_transient_error_not_a_route_refused() -> None:
    # The node down: an order is tried again (a waiting one waits on), where it was failed
    # for good as "too large for the available liquidity".
    router = Router([FakeVenue("raydium", {(SOL, USDC): 0.150}, down=True),
                     FakeVenue("meteora", {(SOL, USDC): 0.151}, down=True)])
    with pytest.raises(NodeUnhealthy, match="Cannot connect"):
        await router.plan(SOL, USDC, 10**9)
    with pytest.raises(NodeUnhealthy):
        await router.plan(SOL, USDC, 150 * 10**6, SwapMode.EXACT_OUT)
    with pytest.raises(NodeUnhealthy):  # through SOL: the first hop cannot be quoted either
        await Router([FakeVenue("raydium", {(BONK, SOL): 0.00002, (SOL, USDC): 0.15},
                                down=True)]).plan(BONK, USDC, 10**12)
    with pytest.raises(NodeUnhealthy):  # no price is known: not that there is no route
        await router.price(lookup("SOL"), lookup("USDC"), 10**9)
    with pytest.raises(NodeUnhealthy):
        await router.marginal_price(lookup("SOL"), lookup("USDC"))


def notional_limit(router: Router, clock: ManualClock) -> RiskControls:
    """Risk controls that check only a $1,000 limit on an order's worth."""
    return RiskControls(None, router, None, clock,  # type: ignore[arg-type]
                        TradingSwitch(), max_order_usd=1_000, max_open_orders=0,
                        open_orders=lambda: 0)


async def test_an_order_the_notional_limit_cannot_price_with_the_node_away_is_asked_again_later(
        ) -> None:
    # Refused as "cannot be priced" (422, as if the order were at fault), where the node is: a
    # 503 NODE_UNHEALTHY with Retry-After, as for a quote; priced once the node is back.
    venue = FakeVenue("raydium", {(SOL, USDC): 0.15}, down=True)
    clock = ManualClock()
    risk = notional_limit(Router([venue]), clock)
    order = parse_order({"orderType": "market", "tokenIn": "SOL", "tokenOut": "USDC",
                         "amount": 1}, clock.now())
    with pytest.raises(NodeUnhealthy):
        await risk.check(order)
    venue.down = False  # back within the slot: nothing unpriced was remembered
    await risk.check(order)  # 1 SOL, about $150: accepted


async def test_notional_checks_ask_the_router_once_a_slot_not_once_an_order() -> None:
    venue = FakeVenue("raydium", {(BONK, SOL): 0.01, (SOL, USDC): 0.15})  # atoms per atom
    clock = ManualClock()
    risk = notional_limit(Router([venue]), clock)
    order = parse_order({"orderType": "market", "tokenIn": "BONK", "tokenOut": "SOL",
                         "amount": 1_000_000}, clock.now())
    await risk.check(order)  # BONK has no USDC pool: priced through SOL
    once = len(venue.asked)
    for _ in range(19):
        await risk.check(order)
    assert len(venue.asked) == once
    await clock.advance(PRICE_LIFETIME)
    await risk.check(order)
    assert len(venue.asked) == 2 * once


async def test_a_token_so_cheap_a_thousandth_pays_nothing_is_priced_at_a_larger_amount() -> None:
    bonk = lookup("BONK")
    usdc = lookup("USDC")
    assert bonk is not None and usdc is not None
    # A BONK at $0.00002: a thousandth of one pays no atom of USDC, a thousand BONK 20,000.
    router = Router([FakeVenue("raydium", {(BONK, USDC): 0.0002})])
    assert await router.price(bonk, usdc, 100) is None
    price = await router.marginal_price(bonk, usdc)
    assert price is not None and Decimal("0.0000199") < price <= Decimal("0.00002")


async def test_the_notional_limit_values_a_cheap_token_instead_of_refusing_it() -> None:
    venue = FakeVenue("raydium", {(BONK, USDC): 0.0002})
    clock = ManualClock()
    risk = notional_limit(Router([venue]), clock)

    def bonk(amount: int) -> OrderRequest:
        return parse_order({"orderType": "market", "tokenIn": "BONK", "tokenOut": "USDC",
                            "amount": amount}, clock.now())

    await risk.check(bonk(1_000_000))  # about $20: accepted
    with pytest.raises(NotionalTooLarge, match=r"is worth \$1,99\d\.\d\d"):
        await risk.check(bonk(100_000_000))  # about $2,000
