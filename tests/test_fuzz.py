"""Property-based: whatever clients send, the answer is a 2xx or a structured 4xx; and no
sequence of operations drives the status machine into an illegal state."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from stubs import change_to

from engine.domain.order import Order, OrderRequest
from engine.domain.order_types import Market
from engine.domain.status import TRANSITIONS, IllegalTransition, OrderStatus
from engine.domain.tokens import lookup
from engine.testing import EngineHarness

FUZZ = settings(max_examples=1000, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True)
    | st.text(max_size=20) | st.sampled_from(["SOL", "USDC", "market", "limit", "1.5", "-1"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner,
                                                                max_size=5),
    max_leaves=12)
fields = st.fixed_dictionaries({}, optional={
    "orderType": json_values | st.sampled_from(["market", "limit", "sniper", "MARKET"]),
    "tokenIn": json_values | st.sampled_from(["SOL", "USDC", "bonk", "JUP", "WSOL"]),
    "tokenOut": json_values | st.sampled_from(["USDC", "SOL", "USDT"]),
    "amount": json_values | st.floats() | st.integers(-10**30, 10**30) | st.decimals().map(str),
    "slippage": json_values | st.floats(-1, 2),
})


plausible = st.fixed_dictionaries({
    "orderType": st.just("market"),
    "tokenIn": st.sampled_from(["SOL", "USDC", "JUP"]),
    "tokenOut": st.sampled_from(["USDC", "SOL", "USDT"]),
    "amount": st.floats(0.001, 50) | st.integers(1, 20).map(str),
}, optional={"slippage": st.floats(0.001, 0.6)})


def encode(value: Any) -> bytes:
    return json.dumps(value, allow_nan=True).encode()


raw_bodies = st.one_of(
    plausible.map(encode),
    fields.map(encode),
    json_values.map(encode),
    st.binary(max_size=200),
    fields.map(encode).flatmap(lambda b: st.integers(0, len(b)).map(lambda n: b[:n])),
    st.integers(1, 3000).map(lambda depth: b"[" * depth + b"]" * depth),
    st.integers(1, 3000).map(lambda depth: b'{"a":' * depth + b"1" + b"}" * depth),
    st.integers(20, 400).map(lambda digits: b'{"amount": ' + b"9" * digits + b"}"),
)
header_values = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=40)


COUNTS = {"2xx": 0, "4xx": 0}


@pytest.fixture(scope="module")
def engine_thread(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, EngineHarness]]:
    """One engine on its own loop in a thread, so Hypothesis can drive it from a plain test."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    context = EngineHarness.start(tmp_path_factory.mktemp("fuzz") / "fuzz.db")
    harness = asyncio.run_coroutine_threadsafe(context.__aenter__(), loop).result(30)
    yield loop, harness
    asyncio.run_coroutine_threadsafe(context.__aexit__(None, None, None), loop).result(30)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)
    loop.close()


async def _post(harness: EngineHarness, body: bytes,
                headers: dict[str, str]) -> tuple[int, Any]:
    assert harness.http is not None
    async with harness.http.post("/api/orders/execute", data=body, headers=headers) as resp:
        return resp.status, await resp.json(content_type=None)


@FUZZ
@given(body=raw_bodies, key=st.none() | header_values,
       content_type=st.sampled_from(["application/json", "text/plain", "", "x/y; q=%"]))
def test_no_body_or_header_gets_a_5xx(engine_thread: tuple[Any, EngineHarness], body: bytes,
                                      key: str | None, content_type: str) -> None:
    loop, harness = engine_thread
    headers = {"Content-Type": content_type} if content_type else {}
    if key is not None:
        headers["Idempotency-Key"] = key
    status, payload = asyncio.run_coroutine_threadsafe(_post(harness, body, headers),
                                                       loop).result(30)
    assert status < 500, (body[:80], status, payload)
    if status >= 400:
        assert set(payload["error"]) >= {"code", "message"}
    COUNTS["4xx" if status >= 400 else "2xx"] += 1


def test_the_fuzzer_mostly_produced_refusals_and_some_orders() -> None:
    assert COUNTS["4xx"] > 100 and COUNTS["2xx"] > 0, COUNTS


def order() -> Order:
    sol, usdc = lookup("SOL"), lookup("USDC")
    assert sol is not None and usdc is not None
    request = OrderRequest(Market(), sol, usdc, 10**9, Decimal("0.01"))
    return Order.accept("o", request, datetime(2026, 1, 1, tzinfo=UTC))[0]


class StatusMachine(RuleBasedStateMachine):
    """Random changes applied: legal ones apply, illegal ones raise and change nothing."""

    def __init__(self) -> None:
        super().__init__()
        self.order = order()
        self.terminal_events = 0

    @rule(target_status=st.sampled_from(list(OrderStatus)))
    def advance(self, target_status: OrderStatus) -> None:
        target = target_status
        before = self.order
        try:
            self.order, event = before.apply(change_to(target), before.updated_at)
        except IllegalTransition:
            assert target not in TRANSITIONS[before.status]
            assert self.order is before
            return
        assert target in TRANSITIONS[before.status]
        assert event.seq == before.seq + 1
        self.terminal_events += target.terminal

    @invariant()
    def at_most_one_terminal_event(self) -> None:
        assert self.terminal_events <= 1
        assert self.terminal_events == (1 if self.order.status.terminal else 0)


TestStatusMachine = StatusMachine.TestCase
TestStatusMachine.settings = settings(max_examples=300, stateful_step_count=30, deadline=None)
