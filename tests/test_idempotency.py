"""Idempotency-Key: a retried request never creates a second order."""

from __future__ import annotations

import asyncio
from pathlib import Path

from engine.testing import EngineHarness

ORDER = {"orderType": "market", "tokenIn": "SOL", "tokenOut": "USDC", "amount": 1}


async def post(engine: EngineHarness, body: object, key: str) -> tuple[int, dict[str, object]]:
    return await engine.post_order(body, **{"Idempotency-Key": key})


async def count_orders(engine: EngineHarness) -> int:
    assert engine.http is not None
    async with engine.http.get("/api/orders") as resp:
        return len((await resp.json())["orders"])


async def test_same_key_and_body_returns_the_same_order(order_engine: EngineHarness) -> None:
    first = await post(order_engine, ORDER, "key-1")
    again = await post(order_engine, {**ORDER}, "key-1")
    assert first[0] == again[0] == 201
    assert first[1] == again[1]
    assert await count_orders(order_engine) == 1


async def test_same_key_with_another_body_is_422(order_engine: EngineHarness) -> None:
    await post(order_engine, ORDER, "key-2")
    status, body = await post(order_engine, {**ORDER, "amount": 2}, "key-2")
    assert status == 422
    assert body["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"  # type: ignore[index]
    assert await count_orders(order_engine) == 1


async def test_concurrent_requests_with_one_key_make_one_order_and_409s(
        order_engine: EngineHarness) -> None:
    answers = await asyncio.gather(*(post(order_engine, ORDER, "key-3") for _ in range(20)))
    statuses = {status for status, _ in answers}
    assert statuses <= {201, 409} and 201 in statuses
    assert len({body["orderId"] for status, body in answers if status == 201}) == 1
    assert await count_orders(order_engine) == 1


async def test_keys_survive_a_restart(tmp_path: Path) -> None:
    async with EngineHarness.start(tmp_path / "e.db") as engine:
        _, first = await post(engine, ORDER, "key-4")
        await engine.restart()
        status, again = await post(engine, ORDER, "key-4")
        assert (status, again["orderId"]) == (201, first["orderId"])
        assert await count_orders(engine) == 1


async def test_a_refused_request_does_not_burn_its_key(order_engine: EngineHarness) -> None:
    status, _ = await post(order_engine, {**ORDER, "amount": -1}, "key-5")
    assert status == 422
    status, _ = await post(order_engine, ORDER, "key-5")
    assert status == 201


async def test_an_unprintable_or_huge_key_is_400(order_engine: EngineHarness) -> None:
    for key in ("x" * 300, "tab\\there"):
        status, body = await post(order_engine, ORDER, key.replace("\\t", "\t"))
        assert status == 400 and body["error"]["code"] == "INVALID_IDEMPOTENCY_KEY"  # type: ignore[index]
