"""GET /api/quotes honours Jupiter's route limits (`dexes`, `excludeDexes`, `onlyDirectRoutes`)
and refuses a parameter it does not take, rather than quoting something else in silence."""

from __future__ import annotations

from typing import Any

import pytest

from engine.testing import EngineHarness


async def quote(engine: EngineHarness, **params: str) -> tuple[int, dict[str, Any]]:
    assert engine.http is not None
    async with engine.http.get("/api/quotes", params=params) as resp:
        return resp.status, await resp.json()


def venues(answer: dict[str, Any]) -> set[str]:
    return {leg["swapInfo"]["venue"] for leg in answer["routePlan"]} | {
        q["venue"] for q in answer["alternatives"]}


SOL_USDC = {"inputMint": "SOL", "outputMint": "USDC", "amount": str(10**9)}


@pytest.mark.parametrize("limit", [{"dexes": "raydium"}, {"dexes": "Raydium"},
                                   {"excludeDexes": "meteora"},
                                   {"dexes": "raydium,meteora", "excludeDexes": "meteora"}])
async def test_a_quote_on_the_venues_asked_for_only(order_engine: EngineHarness,
                                                     limit: dict[str, str]) -> None:
    status, everywhere = await quote(order_engine, **SOL_USDC)
    assert status == 200 and venues(everywhere) == {"raydium", "meteora"}
    status, limited = await quote(order_engine, **SOL_USDC, **limit)
    assert status == 200 and venues(limited) == {"raydium"}


async def test_only_direct_routes_leaves_out_a_better_route_through_usdc(
        order_engine: EngineHarness) -> None:
    order_engine.world.hold_prices()
    for pool in ("ray-sol-usdt", "met-sol-usdt"):  # SOL 4 % cheaper against USDT, directly
        order_engine.world.move_price(pool, 0.96)
    pair = {"inputMint": "SOL", "outputMint": "USDT", "amount": str(10**9)}
    _, best = await quote(order_engine, **pair)
    status, direct = await quote(order_engine, **pair, onlyDirectRoutes="true")
    assert "through USDC" in best["reason"] and status == 200
    assert [leg["swapInfo"]["outputMint"] for leg in direct["routePlan"]] == [
        best["outputMint"]] * len(direct["routePlan"])  # every leg is SOL -> USDT itself
    assert int(direct["outAmount"]) < int(best["outAmount"])


async def test_a_pair_the_limits_leave_no_route_for_says_which_limits(
        order_engine: EngineHarness) -> None:
    pair = {"inputMint": "BONK", "outputMint": "JUP", "amount": str(10**12)}  # no direct pool
    assert (await quote(order_engine, **pair))[0] == 200
    status, refused = await quote(order_engine, **pair, onlyDirectRoutes="true")
    assert status == 422 and refused["error"]["code"] == "NO_ROUTE"
    assert refused["error"]["message"].endswith("(direct pools only, as asked)")


@pytest.mark.parametrize(("params", "code", "field"), [
    ({"dexes": "Raydium CP"}, "INVALID_PARAMETER", "dexes"),
    ({"excludeDexes": "meteora,orca"}, "INVALID_PARAMETER", "excludeDexes"),
    ({"onlyDirectRoutes": "yes"}, "INVALID_PARAMETER", "onlyDirectRoutes"),
    ({"maxAccounts": "20"}, "UNKNOWN_PARAMETER", "maxAccounts"),
])
async def test_a_limit_it_cannot_honour_is_a_400_never_ignored(
        order_engine: EngineHarness, params: dict[str, str], code: str, field: str) -> None:
    status, refused = await quote(order_engine, **SOL_USDC, **params)
    assert status == 400 and refused["error"]["code"] == code
    assert refused["error"]["field"] == field
    if code == "INVALID_PARAMETER" and field != "onlyDirectRoutes":
        assert "raydium, meteora" in refused["error"]["message"]  # what it does take


async def test_restrict_intermediate_tokens_is_taken_and_changes_nothing(
        order_engine: EngineHarness) -> None:
    order_engine.world.hold_prices()
    _, plain = await quote(order_engine, **SOL_USDC)
    status, restricted = await quote(order_engine, **SOL_USDC, restrictIntermediateTokens="true")
    assert status == 200 and restricted["outAmount"] == plain["outAmount"]


async def test_excluding_every_venue_leaves_no_route_and_says_so(
        order_engine: EngineHarness) -> None:
    status, refused = await quote(order_engine, **SOL_USDC, excludeDexes="raydium,meteora")
    assert status == 422 and refused["error"]["code"] == "NO_ROUTE"
    assert refused["error"]["message"].endswith("(no venue left, as asked)")


async def test_a_pair_one_venue_cannot_route_names_that_venue(
        order_engine: EngineHarness) -> None:
    pair = {"inputMint": "BONK", "outputMint": "JUP", "amount": str(10**12)}
    status, refused = await quote(order_engine, **pair, dexes="meteora",
                                  onlyDirectRoutes="true")
    assert status == 422 and refused["error"]["code"] == "NO_ROUTE"
    assert refused["error"]["message"].endswith(
        "(on meteora only; direct pools only, as asked)")
