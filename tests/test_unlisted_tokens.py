"""A token the engine does not list but the cluster holds (a launch a sniper bought) is quoted,
bought and sold again by its mint address, in the decimals its mint account declares; on the
Python model and on the programs' bytecode alike."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from solders.keypair import Keypair

from engine.domain import base58
from engine.domain.errors import NodeUnhealthy, NotAccepting
from engine.domain.parsing import parse_order
from engine.testing import EngineHarness
from engine.usecases.tokens import MAX_REMEMBERED, TokenDirectory


@pytest_asyncio.fixture(params=["model", "programs"])
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[EngineHarness]:
    extra = ({"programs": str(request.getfixturevalue("programs"))}
             if request.param == "programs" else {})
    async with EngineHarness.start(tmp_path / "e.db", market_flow=0.0, **extra) as harness:
        yield harness


async def get(engine: EngineHarness, path: str, **params: str) -> tuple[int, Any]:
    assert engine.http is not None
    async with engine.http.get(path, params=params) as resp:
        return resp.status, await resp.json()


async def launch(engine: EngineHarness) -> str:
    assert engine.http is not None
    async with engine.http.post("/api/sim/launch", json={
            "venue": "raydium", "price": 0.000001, "liquidity": 85}) as resp:
        assert resp.status == 201
        return str((await resp.json())["mint"])


async def held(engine: EngineHarness, mint: str) -> int:
    _, wallet = await get(engine, "/api/wallet")
    return next((int(b["atoms"]) for b in wallet["balances"] if b["mint"] == mint), 0)


async def test_a_launched_token_is_bought_and_sold_again_by_its_mint(
        engine: EngineHarness) -> None:
    mint = await launch(engine)
    bought = await engine.submit(tokenIn="SOL", tokenOut=mint, amount=0.5)
    assert (await engine.wait_terminal(bought))["status"] == "confirmed"
    before = await held(engine, mint)
    sold = await engine.submit(tokenIn=mint, tokenOut="USDC", amount="100000.5")  # via SOL
    assert (await engine.wait_terminal(sold))["status"] == "confirmed"
    order = await engine.order(sold)
    assert order["fill"]["amountIn"] == "100000.5" and order["inputMint"] == mint
    # About 0.00015 USDC a token: its price keeps nine significant digits, not USDC's six places.
    assert len(order["fill"]["executedPrice"].replace(".", "").lstrip("0")) >= 9
    assert before - await held(engine, mint) == 100_000_500_000  # 6 decimals, as its mint says


async def test_a_take_profit_on_a_launched_token_waits_for_its_price_and_sells(
        engine: EngineHarness) -> None:
    mint = await launch(engine)
    await engine.wait_terminal(await engine.submit(tokenIn="SOL", tokenOut=mint, amount=0.5))
    _, quote = await get(engine, "/api/quotes", inputMint=mint, outputMint="SOL",
                         amount=str(10**11))
    now = int(quote["outAmount"]) / 10**9 / 10**5  # SOL per token, net, for 100,000 of them
    take_profit = await engine.submit(orderType="limit", tokenIn=mint, tokenOut="SOL",
                                      amount=100_000, limitPrice=f"{now * 1.05:.12f}")
    await engine.wait_for_status(take_profit, "waiting")
    await engine.wait_terminal(await engine.submit(tokenIn="SOL", tokenOut=mint, amount=5))
    assert (await engine.wait_terminal(take_profit))["status"] == "confirmed"  # bought up


async def test_a_launched_token_is_quoted_and_described_by_its_mint(
        engine: EngineHarness) -> None:
    mint = await launch(engine)
    assert await get(engine, f"/api/tokens/{mint}") == (200, {
        "symbol": f"{mint[:4]}…{mint[-4:]}", "mint": mint, "decimals": 6})
    status, quote = await get(engine, "/api/quotes", inputMint=mint, outputMint="SOL",
                              amount=str(10**12))
    assert status == 200 and quote["inputMint"] == mint and int(quote["outAmount"]) > 0


async def test_a_mint_the_cluster_does_not_hold_is_an_unknown_token(tmp_path: Path) -> None:
    stranger = str(Keypair().pubkey())
    async with EngineHarness.start(tmp_path / "e.db") as engine:
        status, body = await engine.post_order({"orderType": "market", "tokenIn": stranger,
                                                "tokenOut": "USDC", "amount": 1})
        assert status == 422 and body["error"]["code"] == "UNKNOWN_TOKEN"
        assert body["error"]["field"] == "tokenIn" and "nor a mint" in body["error"]["message"]
        assert (await get(engine, f"/api/tokens/{stranger}"))[0] == 404
        status, body = await get(engine, "/api/quotes", inputMint="SOL", outputMint=stranger,
                                 amount="1000")
        assert status == 422 and body["error"]["code"] == "UNKNOWN_TOKEN"
        # A sniper waits for a token that does not exist yet: its mint is all it needs.
        await engine.submit(orderType="sniper", tokenIn="SOL", tokenOut=stranger, amount=1)


class Mints:
    """A cluster holding one mint of 3 decimals, or one that cannot be asked."""

    def __init__(self, mint: str, *, down: bool = False) -> None:
        self.mint, self.down, self.asked = mint, down, 0

    async def mint_decimals(self, mint: str) -> int | None:
        self.asked += 1
        if self.down:
            raise NodeUnhealthy("connection refused")
        return 3 if mint == self.mint else None


async def test_an_unlisted_token_counts_in_its_mints_decimals_read_once() -> None:
    mint = str(Keypair().pubkey())
    cluster = Mints(mint)
    tokens = TokenDirectory(cluster)  # type: ignore[arg-type]
    known = await tokens.unlisted(mint, "USDC", 7, None)
    request = parse_order({"orderType": "market", "tokenIn": mint, "tokenOut": "USDC",
                           "amount": "1.5"}, datetime.now(UTC), known)
    assert request.amount == 1_500 and request.token_in.decimals == 3
    assert (await tokens.find(mint)) == request.token_in and cluster.asked == 1


async def test_the_mints_remembered_are_bounded_and_the_oldest_is_read_again() -> None:
    class EveryMint(Mints):
        async def mint_decimals(self, mint: str) -> int | None:
            self.asked += 1
            return 3

    cluster = EveryMint("")
    tokens = TokenDirectory(cluster)  # type: ignore[arg-type]
    mints = [base58.encode(n.to_bytes(32, "big")) for n in range(1, MAX_REMEMBERED + 2)]
    for mint in mints:
        await tokens.find(mint)
    await tokens.find(mints[-1])
    assert cluster.asked == len(mints)  # each once while remembered
    await tokens.find(mints[0])  # forgotten to make room for the last: asked again
    assert cluster.asked == len(mints) + 1


async def test_a_cluster_that_cannot_be_asked_about_a_mint_is_a_refusal_to_retry() -> None:
    tokens = TokenDirectory(Mints("x", down=True))  # type: ignore[arg-type]
    with pytest.raises(NotAccepting, match="could not be asked"):
        await tokens.find(str(Keypair().pubkey()))


async def test_a_very_cheap_tokens_prices_are_plain_decimals(tmp_path: Path) -> None:
    async with EngineHarness.start(tmp_path / "e.db", market_flow=0.0) as engine:
        assert engine.http is not None
        async with engine.http.post("/api/sim/launch", json={
                "venue": "raydium", "price": 0.000000001, "liquidity": 85}) as resp:
            mint = (await resp.json())["mint"]  # a billionth of a SOL a token
        await engine.wait_terminal(await engine.submit(tokenIn="SOL", tokenOut=mint, amount=0.5))
        waiting = await engine.submit(orderType="limit", tokenIn=mint, tokenOut="SOL",
                                      amount=1_000_000, limitPrice=1)
        event = await engine.wait_for_event(waiting, lambda e: "currentPrice" in e)
        assert "e" not in event["currentPrice"].lower()  # not 9.97e-10
        assert Decimal(event["currentPrice"]) < Decimal("0.00000001")
