"""A crash at every step boundary, in turn: after restart, one execution and a terminal order.

The crash comes through the chain port, as a power cut would strike between two calls to the
cluster: the engine's own code has no hooks for it."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

import pytest

from engine.domain.errors import NodeUnhealthy
from engine.domain.transactions import (
    Blockhash,
    Landed,
    Memo,
    SignedTransaction,
    SwapInstruction,
    TokenBalance,
)
from engine.ports import Chain
from engine.testing import EngineHarness

STEPS = ["routed", "signed", "signature and submission persisted", "sent", "landed"]
BOTH_ATTEMPTS = {"routed", "signed", "signature and submission persisted"}


class Crash(BaseException):
    """Not an Exception: nothing in the engine may catch it, as nothing catches a power cut."""


class CrashingChain:
    """The chain, unchanged, except that reaching `step` for the `nth` time raises Crash once."""

    def __init__(self, chain: Chain, step: str, nth: int) -> None:
        self._chain, self._step, self._nth = chain, step, nth
        self.seen: list[str] = []
        self.crashed = asyncio.Event()

    def _reached(self, name: str) -> None:
        self.seen.append(name)
        if name == self._step and self.seen.count(name) == self._nth and not self.crashed.is_set():
            self.crashed.set()
            raise Crash(name)

    async def latest_blockhash(self) -> Blockhash:
        self._reached("routed")  # the route is planned and staged; nothing is signed yet
        return await self._chain.latest_blockhash()

    async def sign(self, instructions: Sequence[SwapInstruction], blockhash: Blockhash,
                   memo: Memo, priority: str | int = "auto") -> SignedTransaction:
        tx = await self._chain.sign(instructions, blockhash, memo, priority)
        self._reached("signed")
        return tx

    async def send(self, tx: SignedTransaction) -> None:
        self._reached("signature and submission persisted")
        await self._chain.send(tx)
        self._reached("sent")

    async def confirm(self, tx: SignedTransaction) -> Landed | None:
        landed = await self._chain.confirm(tx)
        self._reached("landed")
        return landed

    async def signature_status(self, signature: str) -> Landed | None:
        return await self._chain.signature_status(signature)

    async def balances(self) -> list[TokenBalance]:
        return await self._chain.balances()

    async def health(self) -> None:
        await self._chain.health()

    async def close(self) -> None:
        await self._chain.close()

    @property
    def address(self) -> str:
        return self._chain.address


@pytest.mark.parametrize("step", STEPS)
@pytest.mark.parametrize("retry", [False, True], ids=["first attempt", "after a retry"])
async def test_crash_at_each_step_then_restart_executes_exactly_once(
        tmp_path: Path, step: str, retry: bool) -> None:
    # With a refused first send, the steps before sending happen twice, the rest once.
    nth = 2 if retry and step in BOTH_ATTEMPTS else 1
    wrappers: list[CrashingChain] = []

    def crashing(chain: Chain) -> Chain:
        wrappers.append(CrashingChain(chain, step, nth if not wrappers else 0))
        return wrappers[-1]

    async with EngineHarness.start(tmp_path / "e.db", seed=3, chain=crashing) as engine:
        if retry:
            engine.world.faults.fail_send(NodeUnhealthy, attempt=1)
        order_id = await engine.submit(tokenIn="SOL", tokenOut="USDC", amount=1)
        await asyncio.wait_for(wrappers[0].crashed.wait(), 5)
        await engine.restart()
        final = await engine.wait_terminal(order_id)
        record = await engine.order(order_id)

    assert final["status"] == "confirmed", final
    executed = [t for t in engine.world.chain.history.landed_for(order_id) if t.err is None]
    assert len(executed) == 1
    assert executed[0].signature == final["txHash"]
    assert [e["seq"] for e in record["events"]] == list(range(1, len(record["events"]) + 1))


class PoisonedChain(CrashingChain):
    """Signing raises what a bug would (an integer beyond 64 bits, say), every time."""

    async def sign(self, instructions: Sequence[SwapInstruction], blockhash: Blockhash,
                   memo: Memo, priority: str | int = "auto") -> SignedTransaction:
        raise OverflowError("Integer exceeds 64-bit range")


async def test_an_order_whose_execution_keeps_raising_ends_failed_with_internal_error(
        tmp_path: Path) -> None:
    async with EngineHarness.start(
            tmp_path / "e.db", chain=lambda chain: PoisonedChain(chain, "", 0)) as engine:
        order_id = await engine.submit(tokenIn="SOL", tokenOut="USDC", amount=1)
        final = await engine.wait_terminal(order_id)
        follower = await engine.submit(tokenIn="USDC", tokenOut="SOL", amount=1)
        assert (await engine.wait_terminal(follower))["status"] == "failed"  # the worker lives
        health = engine.engine.operations.health()
    assert final["status"] == "failed" and final["error"]["code"] == "INTERNAL_ERROR"
    assert "OverflowError" in final["error"]["message"]
    assert health.in_flight == 0 and health.queued == 0
    assert engine.world.chain.history.landed_for(order_id) == []
