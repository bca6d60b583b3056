"""A waiting order's `armed` event says what it waits for, in its own levels: what a trader
reads first in `submit`'s output and on the order's stream."""

from __future__ import annotations

from decimal import Decimal

import pytest

from engine.domain.order_types import (
    Bracket,
    Limit,
    OrderType,
    Sniper,
    Stop,
    StopLimit,
    TrailingStop,
)
from engine.testing import EngineHarness


@pytest.mark.parametrize(("kind", "says"), [
    (Limit(Decimal("155")), "armed: waiting for the net price to rise to 155"),
    (Stop(Decimal("120")), "armed: waiting for the net price to fall to 120"),
    (StopLimit(Decimal("120"), Decimal("118")),
     "armed: waiting for the net price to fall to 120"),
    (Bracket(Decimal("170"), Decimal("130")),
     "armed: waiting for the net price to rise to 170 or fall to 130"),
    (TrailingStop(Decimal("0.025")),
     "armed: sells once the net price falls 2.5% below its best since now"),
    (Sniper(None), "armed: waiting for a pool to open"),
    (Sniper(Decimal("0.000002")),
     "armed: waiting for a pool to open at 0.000002 or less a token"),
], ids=lambda value: getattr(value, "name", ""))
def test_each_waiting_type_names_its_levels(kind: OrderType, says: str) -> None:
    assert kind.armed() == says


async def test_the_stream_carries_it(order_engine: EngineHarness) -> None:
    order_engine.world.hold_prices()
    order_id = await order_engine.submit(orderType="limit", tokenIn="SOL", tokenOut="USDC",
                                         amount=1, limitPrice="1000")
    armed = await order_engine.wait_for_status(order_id, "waiting")
    assert armed["reason"] == "armed: waiting for the net price to rise to 1000"
