"""Every slot is told once, in order (slotSubscribe, and the fee market's record of other
traders' bids), also when the cluster catches up on several slots at once, as it does when its
event loop was busy: each slot lived through is told as itself, not as the newest one."""

from __future__ import annotations

from pathlib import Path

from conftest import world_at

from engine.testing import ManualClock


async def test_slots_caught_up_on_together_are_each_told_once_in_order(tmp_path: Path) -> None:
    clock = ManualClock()
    world = world_at(clock, tmp_path)
    told: list[int] = []
    world.slot_listeners.append(told.append)
    world.chain.advance()
    await clock.advance(0.4 * 3)  # three slots pass before the cluster looks again
    world.chain.advance()
    await clock.advance(0.4)
    world.chain.advance()
    assert told == list(range(told[0], world.chain.block_height + 1))
    assert len(told) >= 4
