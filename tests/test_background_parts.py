"""The engine's background parts run until its stop; one that ends on an error is said at once,
with its traceback, instead of waiting, silent, for the stop to gather it."""

from __future__ import annotations

import asyncio

from engine.logs import said_if_failed


async def test_a_part_that_fails_is_said_at_once(logged: list[str]) -> None:
    async def broken() -> None:
        raise OSError("the PubSub went away in a way no one caught")

    task = asyncio.create_task(broken(), name="accounts")
    task.add_done_callback(said_if_failed)
    await asyncio.gather(task, return_exceptions=True)
    await asyncio.sleep(0)  # the done callbacks run on the next turn
    assert logged == ["accounts stopped on an error, and is not running: the PubSub went away "
                      "in a way no one caught"]


async def test_a_part_cancelled_at_the_stop_is_not_an_error(logged: list[str]) -> None:
    task = asyncio.create_task(asyncio.sleep(60), name="market")
    task.add_done_callback(said_if_failed)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await asyncio.sleep(0)
    assert logged == []
