"""A market order over real HTTP and WebSocket, against the in-process engine."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from engine.domain.errors import RateLimited
from engine.testing import EngineHarness

SOL_USDC = {"tokenIn": "SOL", "tokenOut": "USDC", "amount": 1.5, "slippage": 0.01}


async def test_post_answers_201_with_id_and_websocket_url(order_engine: EngineHarness) -> None:
    status, body = await order_engine.post_order({"orderType": "market", **SOL_USDC})
    assert status == 201
    assert body["status"] == "pending"
    assert body["wsUpgrade"].startswith("ws://127.0.0.1:")
    assert body["wsUpgrade"].endswith(f"/api/orders/status/{body['orderId']}")


@pytest.mark.parametrize(("header", "scheme"), [
    ({"X-Forwarded-Proto": "https"}, "wss"), ({"X-Forwarded-Proto": "https, http"}, "wss"),
    ({"Forwarded": "for=203.0.113.7;proto=https"}, "wss"), ({"X-Forwarded-Proto": "http"}, "ws")])
async def test_behind_a_tls_proxy_the_websocket_url_is_wss(
        order_engine: EngineHarness, header: dict[str, str], scheme: str) -> None:
    assert order_engine.http is not None
    async with order_engine.http.post("/api/orders/execute", headers=header,
                                      json={"orderType": "market", **SOL_USDC}) as resp:
        assert resp.status == 201
        body = await resp.json()
    assert body["wsUpgrade"].startswith(f"{scheme}://127.0.0.1:")


async def test_market_order_streams_its_lifecycle_in_order(order_engine: EngineHarness) -> None:
    order_id = await order_engine.submit(**SOL_USDC)
    events = await order_engine.history(order_id)
    assert [e["status"] for e in events] == [
        "pending", "routing", "building", "submitted", "confirmed"]
    assert [e["seq"] for e in events] == [1, 2, 3, 4, 5]
    assert all(e["orderId"] == order_id and e["at"].endswith("Z") for e in events)
    confirmed = events[-1]
    assert len(confirmed["txHash"]) >= 86  # 64 bytes in base58
    assert confirmed["amountIn"] == "1.5"
    assert float(confirmed["amountOut"]) > 200
    assert confirmed["venue"] in ("raydium", "meteora")


async def test_routing_picks_the_venue_paying_more_after_fees(order_engine: EngineHarness) -> None:
    order_engine.world.hold_prices()
    # At the same price, Meteora's 0.04 % fee beats Raydium's 0.25 %.
    events = await order_engine.history(await order_engine.submit(**SOL_USDC))
    routing = events[1]
    assert routing["venue"] == "meteora"
    quotes = {q["venue"]: int(q["outAmount"]) for q in routing["route"]["quotes"]}
    assert quotes["meteora"] > quotes["raydium"]
    assert "meteora pays" in routing["reason"]

    order_engine.world.move_price("ray-sol-usdc", 1.01)  # SOL 1 % dearer on Raydium
    events = await order_engine.history(await order_engine.submit(**SOL_USDC))
    assert events[1]["venue"] == "raydium"


async def test_sol_is_wrapped_before_and_unwrapped_after(order_engine: EngineHarness) -> None:
    events = await order_engine.history(await order_engine.submit(**SOL_USDC))
    steps = events[2]["instructions"]
    assert steps.index("token.syncNative(wSOL)") < steps.index(
        next(s for s in steps if ".swap(" in s)) < steps.index("token.closeAccount(wSOL->SOL)")


async def test_fill_below_the_slippage_floor_fails_without_retry(
        order_engine: EngineHarness) -> None:
    order_engine.world.faults.force_slippage()
    final = await order_engine.wait_terminal(await order_engine.submit(**SOL_USDC))
    assert final["status"] == "failed"
    assert final["error"]["code"] == "SLIPPAGE_EXCEEDED"
    assert "ExceededSlippage" in final["error"]["message"] or "Tolerance" in final["error"]["message"]
    assert final["attempt"] == 1


async def test_transient_failure_is_retried_with_the_next_attempt(
        order_engine: EngineHarness) -> None:
    order_engine.world.faults.fail_send(RateLimited, attempt=1)
    events = await order_engine.history(await order_engine.submit(**SOL_USDC))
    assert [e["status"] for e in events] == [
        "pending", "routing", "building", "submitted", "building", "submitted", "confirmed"]
    assert [e.get("attempt") for e in events[2:]] == [1, 1, 2, 2, 2]
    assert events[2]["txHash"] != events[4]["txHash"]  # attempt 2 is a newly signed transaction


async def test_three_failed_attempts_fail_the_order_once_with_the_reason(
        order_engine: EngineHarness) -> None:
    order_engine.world.faults.fail_send(RateLimited, times=-1)
    order_id = await order_engine.submit(**SOL_USDC)
    events = await order_engine.history(order_id)
    statuses = [e["status"] for e in events]
    assert statuses.count("failed") == 1 and statuses[-1] == "failed"
    assert statuses.count("building") == 3
    assert events[-1]["error"]["code"] == "RETRIES_EXHAUSTED"
    assert "RATE_LIMITED" in events[-1]["error"]["message"]
    record = await order_engine.order(order_id)
    assert record["attempts"] == 3 and record["error"]["code"] == "RETRIES_EXHAUSTED"


async def test_send_timeout_after_landing_confirms_once_without_resigning(
        order_engine: EngineHarness) -> None:
    order_engine.world.faults.timeout_after_landing(attempt=1)
    order_id = await order_engine.submit(**SOL_USDC)
    final = await order_engine.wait_terminal(order_id)
    assert final["status"] == "confirmed" and final["attempt"] == 1
    assert len(order_engine.world.chain.history.landed_for(order_id)) == 1


async def test_late_subscriber_gets_the_same_full_history(order_engine: EngineHarness) -> None:
    order_id = await order_engine.submit(**SOL_USDC)
    first = await order_engine.history(order_id)
    late = await order_engine.history(order_id)  # the order is long finished
    assert late == first and late[0]["status"] == "pending"


async def test_resume_with_after_sends_only_what_was_missed(order_engine: EngineHarness) -> None:
    order_id = await order_engine.submit(**SOL_USDC)
    everything = await order_engine.history(order_id)
    assert await order_engine.history(order_id, after=2) == everything[2:]


async def opening(engine: EngineHarness, path: str) -> tuple[int | None, str]:
    """How a stream that has nothing to send at first ends within 2 s: its close code and
    reason, or (None, "open") while it stays open."""
    assert engine.http is not None
    async with engine.http.ws_connect(path) as ws:
        try:
            message = await asyncio.wait_for(ws.receive(), 2)
        except TimeoutError:
            return None, "open"
        return message.data, message.extra


async def test_a_finished_order_read_to_its_end_closes_at_once(
        order_engine: EngineHarness) -> None:
    order_id = await order_engine.submit(**SOL_USDC)
    last = (await order_engine.history(order_id))[-1]["seq"]
    assert await opening(order_engine, f"/api/orders/status/{order_id}?after={last}") == (1000, "")


async def test_a_position_an_order_never_reached_is_refused_with_4416(
        order_engine: EngineHarness) -> None:
    # State from another database, say: nothing would ever come, so the stream says so.
    order_id = await order_engine.submit(**SOL_USDC)
    last = (await order_engine.history(order_id))[-1]["seq"]
    assert await opening(order_engine, f"/api/orders/status/{order_id}?after={last + 1}") == (
        4416, f"after={last + 1} is beyond the order's last event (seq {last})")


async def test_a_waiting_order_read_to_its_last_event_stays_open_for_the_next(
        order_engine: EngineHarness) -> None:
    order_id = await order_engine.submit(orderType="limit", limitPrice=1000, **SOL_USDC)
    armed = await order_engine.wait_for_status(order_id, "waiting")
    assert order_engine.http is not None
    async with order_engine.http.ws_connect(
            f"/api/orders/status/{order_id}?after={armed['seq']}") as ws:
        following = (await ws.receive()).json()  # its price, as the watcher tells it
    assert following["seq"] == armed["seq"] + 1 and following["status"] == "waiting"


async def test_a_firehose_position_beyond_the_feeds_end_is_refused_with_4416(
        order_engine: EngineHarness) -> None:
    order_id = await order_engine.submit(**SOL_USDC)
    end = (await order_engine.history(order_id))[-1]["gseq"]
    assert await opening(order_engine, f"/api/orders/stream?after={end + 1}") == (
        4416, f"after={end + 1} is beyond the feed's end (gseq {end})")
    assert await opening(order_engine, f"/api/orders/stream?after={end}") == (None, "open")


async def test_same_endpoint_upgrade_streams_the_order_sent_as_first_message(
        order_engine: EngineHarness) -> None:
    assert order_engine.http is not None
    async with order_engine.http.ws_connect("/api/orders/execute") as ws:
        await ws.send_json({"orderType": "market", **SOL_USDC})
        events = [message.json() async for message in ws]
        assert ws.close_code == 1000
    assert [e["status"] for e in events][0::4] == ["pending", "confirmed"]
    record = await order_engine.order(events[0]["orderId"])
    assert record["status"] == "confirmed"


async def test_same_endpoint_upgrade_rejects_a_bad_order_with_a_reason(
        order_engine: EngineHarness) -> None:
    assert order_engine.http is not None
    async with order_engine.http.ws_connect("/api/orders/execute") as ws:
        await ws.send_str('{"orderType": "market", "tokenIn": "SOL"}')
        error = (await ws.receive()).json()
        await ws.receive()
        assert ws.close_code == 4400
    assert error["error"]["code"] == "MISSING_FIELD"


async def test_unknown_order_closes_the_stream_with_4404_and_404s_over_http(
        order_engine: EngineHarness) -> None:
    assert order_engine.http is not None
    async with order_engine.http.ws_connect("/api/orders/status/no-such-order") as ws:
        message = await ws.receive()
        assert ws.close_code == 4404 and message.extra == "order not found"
    async with order_engine.http.get("/api/orders/no-such-order") as resp:
        assert resp.status == 404
        assert (await resp.json())["error"]["code"] == "ORDER_NOT_FOUND"


async def test_order_record_carries_its_events(order_engine: EngineHarness) -> None:
    order_id = await order_engine.submit(**SOL_USDC)
    final = await order_engine.wait_terminal(order_id)
    record = await order_engine.order(order_id)
    assert record["status"] == "confirmed" and record["txHash"] == final["txHash"]
    assert [e["seq"] for e in record["events"]] == [1, 2, 3, 4, 5]
    assert record["fill"]["amountOut"] == final["amountOut"]


async def test_list_is_newest_first_and_paginates_with_a_cursor(
        order_engine: EngineHarness) -> None:
    ids = [await order_engine.submit(**SOL_USDC) for _ in range(5)]
    for order_id in ids:
        await order_engine.wait_terminal(order_id)
    assert order_engine.http is not None
    async with order_engine.http.get("/api/orders", params={"limit": "2"}) as resp:
        page1 = await resp.json()
    async with order_engine.http.get("/api/orders", params={
            "limit": "3", "cursor": page1["nextCursor"]}) as resp:
        page2 = await resp.json()
    listed = [o["orderId"] for o in page1["orders"] + page2["orders"]]
    assert listed == ids[::-1]
    assert page2["nextCursor"] is None
    async with order_engine.http.get("/api/orders", params={"status": "failed"}) as resp:
        assert (await resp.json())["orders"] == []


async def test_healthz_reports_ok_once_accepting(order_engine: EngineHarness) -> None:
    assert order_engine.http is not None
    async with order_engine.http.get("/healthz") as resp:
        assert resp.status == 200
        body = await resp.json()
    assert body["status"] == "ok" and body["workers"] == 10


async def test_streams_opened_right_after_submission_are_complete_under_concurrency(
        order_engine: EngineHarness) -> None:
    async def submit_and_follow() -> list[str]:
        order_id = await order_engine.submit(**SOL_USDC)
        return [e["status"] for e in await order_engine.history(order_id)]

    streams = await asyncio.gather(*(submit_and_follow() for _ in range(60)))
    assert all(s[0] == "pending" and s[-1] in ("confirmed", "failed") for s in streams)
    assert all(len(s) >= 5 for s in streams)


async def test_a_failure_after_a_stream_opened_closes_it_with_a_code_not_a_broken_frame(
        order_engine: EngineHarness, monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken(after: int, limit: int) -> list[object]:
        raise RuntimeError("a bug in reading the feed")

    monkeypatch.setattr(order_engine.engine.orders, "feed", broken)
    assert order_engine.http is not None
    async with order_engine.http.ws_connect("/api/orders/stream?after=0") as ws:
        closed = await ws.receive()
    assert closed.type is aiohttp.WSMsgType.CLOSE and closed.data == 1011  # internal error
