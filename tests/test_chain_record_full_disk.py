"""The simulated chain's record on a full disk: what landed stays landed. A batch the disk
refuses is kept and written ahead of what comes next once there is room, and whoever waits for
a landing to be durable (a status) waits on; before, the batch was dropped, and a restart would
have forgotten transactions that had run. The disk fills through a limit on the size of any
file this process writes (RLIMIT_FSIZE: the kernel refuses the write with EFBIG)."""

from __future__ import annotations

import asyncio
import os
import resource
import sys
from pathlib import Path

import pytest

from engine.clock import SystemClock
from engine.domain.transactions import Landed
from engine.simulator.genesis import open_world
from engine.simulator.ledger import ChainRecord, known
from engine.solana import jsonrpc as codes
from engine.solana.jsonrpc import RpcError

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_FSIZE as Linux has it")


async def until(condition: object, turns: int = 200) -> None:
    for _ in range(turns):
        if callable(condition) and condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the condition never held")


async def test_a_landing_the_disk_refuses_is_written_once_there_is_room(
        tmp_path: Path, logged: list[str]) -> None:
    record = ChainRecord(str(tmp_path / "chain.db"))
    record.initialise({"chain": {"landed": 0}})
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    full = os.stat(tmp_path / "chain.db-wal").st_size  # not one byte more
    resource.setrlimit(resource.RLIMIT_FSIZE, (full, hard))
    try:
        record.sent("sig-1", "payload", 100)
        record.record(Landed("sig-1", 5, 1_000, 2_000, 5_000, memo="order-1"), "sig-1",
                      {"chain": known({"landed": 1})}, ("payload", {"err": None}), ["addr"])
        durable = asyncio.ensure_future(record.durable())
        await until(lambda: any("could not be written" in line for line in logged))
        record.record(Landed("sig-2", 6, 1, 2, 5_000, memo="order-2"), "sig-2",
                      {"chain": known({"landed": 2})})  # recorded while the disk is full
        assert not durable.done()  # a status waits: the landing is not durable yet
        assert record.failing is not None  # what /healthz says (with the world's problems)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    await asyncio.wait_for(durable, 10)
    await record.durable()
    assert [landed.signature for landed in record.landed()] == ["sig-1", "sig-2"]
    assert record.meta("chain") == {"landed": 2}  # the newest state, not the refused one
    assert record.in_flight() == []  # sent, then landed: the two in one go, in order
    assert record.naming("addr", 10) == [("sig-1", 5)]
    assert any(line.startswith("the chain's record is written again") for line in logged)
    assert record.failing is None
    await record.close()


async def test_a_record_whose_disk_stays_full_closes_within_its_grace(
        tmp_path: Path, logged: list[str]) -> None:
    record = ChainRecord(str(tmp_path / "chain.db"))
    record.initialise({"chain": {"landed": 0}})
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (os.stat(tmp_path / "chain.db-wal").st_size, hard))
    try:
        record.record(Landed("sig-1", 5, 1, 2, 5_000), "sig-1", {"chain": known({"landed": 1})})
        await asyncio.wait_for(record.close(grace=0.3), 10)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    assert any("closed with 1 landing and 0 sends not written" in line for line in logged)


async def test_the_cluster_answers_get_health_unhealthy_while_its_record_cannot_be_written(
        tmp_path: Path) -> None:
    world = open_world(SystemClock(), seed=1, latency_scale=0, failure_rate=0,
                       chain_db=str(tmp_path / "chain.db"))
    assert await world.rpc.dispatch("getHealth", []) == "ok"
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (os.stat(tmp_path / "chain.db-wal").st_size, hard))
    try:
        world.chain.keep({"note": "x" * 10_000})  # anything it writes down
        await until(lambda: world.chain.unwritable is not None)
        with pytest.raises(RpcError) as refused:
            await world.rpc.dispatch("getHealth", [])
        assert refused.value.code == codes.NODE_UNHEALTHY
        assert "its ledger cannot be written" in refused.value.message
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    await until(lambda: world.chain.unwritable is None)
    assert await world.rpc.dispatch("getHealth", []) == "ok"
    await world.chain.close()
