"""GET /metrics: what Prometheus scrapes, fed by the same events as the streams."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from engine.domain.errors import RateLimited
from engine.testing import EngineHarness

SOL_USDC = {"tokenIn": "SOL", "tokenOut": "USDC", "amount": 1}


async def scrape(engine: EngineHarness) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    assert engine.http is not None
    async with engine.http.get("/metrics") as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("text/plain")
        text = await resp.text()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


async def test_metrics_count_orders_attempts_retries_and_failures(
        order_engine: EngineHarness) -> None:
    order_engine.world.faults.fail_send(RateLimited, attempt=1)
    await order_engine.wait_terminal(await order_engine.submit(**SOL_USDC))
    order_engine.world.faults.force_slippage()
    await order_engine.wait_terminal(await order_engine.submit(**SOL_USDC))
    m = await scrape(order_engine)
    assert m[("engine_orders_total", (("status", "confirmed"), ("type", "market")))] == 1
    assert m[("engine_orders_total", (("status", "failed"), ("type", "market")))] == 1
    assert m[("engine_attempts_total", ())] == 3
    assert m[("engine_retries_total", (("code", "RATE_LIMITED"),))] == 1
    assert m[("engine_failures_total", (("code", "SLIPPAGE_EXCEEDED"),))] == 1
    assert sum(v for (name, _), v in m.items() if name == "engine_venue_wins_total") == 2
    assert m[("engine_submit_seconds_count", ())] == 2
    assert m[("engine_stage_seconds_count", (("status", "pending"),))] == 2
    assert m[("engine_queue_depth", ())] == 0 and m[("engine_in_flight", ())] == 0


async def test_metrics_show_waiting_orders_and_subscribers(order_engine: EngineHarness) -> None:
    order_engine.world.hold_prices()
    await order_engine.submit(orderType="limit", limitPrice="500", **SOL_USDC)
    await order_engine.wait_until(order_engine.health, lambda now: now.waiting > 0)
    m = await scrape(order_engine)
    assert m[("engine_waiting_orders", ())] == 1
    assert ("engine_websocket_subscribers", ()) in m


async def test_refusals_are_counted_by_code(order_engine: EngineHarness) -> None:
    assert order_engine.http is not None
    async with order_engine.http.post("/api/orders/execute", data=b"{}",
                                      headers={"Content-Type": "text/plain"}) as resp:
        assert resp.status == 415
    async with order_engine.http.get("/metrics") as resp:
        text = await resp.text()
    assert 'engine_refusals_total{code="UNSUPPORTED_MEDIA_TYPE"} 1.0' in text
