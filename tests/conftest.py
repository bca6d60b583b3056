"""Shared helpers. The `order_engine` fixture comes from the engine's own pytest plugin."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from dataclasses import replace
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import pytest_asyncio
from loguru import logger

from engine.app import build_world
from engine.clock import SystemClock
from engine.config import Settings
from engine.ports import Clock
from engine.simulator.genesis import open_world
from engine.simulator.world import SimWorld
from engine.testing import EngineHarness, ManualClock
from engine.testing.cluster import wallet_for
from engine.testing.postgres import binaries, throwaway_postgres


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """`-n auto` (pyproject's addopts): two workers a core, four at most. Most of a test's time
    waits on the engines, clusters and browsers it starts, so two a core keep the cores busy;
    more would starve the timing of the tests that measure a second."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return min(4, 2 * (cores or 1))  # (no affinity on macOS)


def world_at(clock: Clock, directory: Path) -> SimWorld:
    """The simulated world an engine builds (seed 5, slots passing by `clock`, no record), its
    wallet's keypair made in `directory`: with the default --db it would be made in the
    working directory, the repository's root."""
    settings = replace(Settings(), seed=5, latency_scale=1.0, chain_db="",
                       db=str(directory / "e.db"))
    return build_world(settings, clock)


@contextlib.asynccontextmanager
async def running(*parts: Coroutine[Any, Any, None]) -> AsyncIterator[None]:
    """These run, each until it is stopped, for the block (a venue following its node, a
    market's slots); then each is cancelled and waited for."""
    tasks = [asyncio.create_task(part) for part in parts]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


@pytest.fixture
def logged() -> Iterator[list[str]]:
    """The messages logged (INFO and above) while the test runs, in order."""
    said: list[str] = []
    sink = logger.add(lambda message: said.append(message.record["message"]), level="INFO")
    yield said
    logger.remove(sink)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A throwaway PostgreSQL for the whole run. Missing here: the tests that need it are
    skipped, with a message; in CI (CI_REQUIRE_POSTGRES=1) that is a failure."""
    if binaries() is None:
        if os.environ.get("CI_REQUIRE_POSTGRES"):
            pytest.fail("PostgreSQL is required in CI and is not installed")
        pytest.skip("PostgreSQL is not installed (apt-get install -y postgresql); .ci/run "
                    "installs it")
    with throwaway_postgres(durable=False) as url:
        yield url


PROGRAMS_BESIDE = Path(__file__).resolve().parents[2] / "shared" / "programs"
# ENGINE_PROGRAMS tells the tests where the bytecode is; taken out of the environment, so that
# an engine or cluster a test starts runs the programs only when that test asks for them. The
# workers (pytest-xdist) start from the environment this leaves, so it passes them the directory
# under a name no engine reads.
PROGRAMS_DIR = Path(os.environ.pop("ENGINE_PROGRAMS", "")
                    or os.environ.get("TESTS_PROGRAMS_DIR", PROGRAMS_BESIDE))
os.environ["TESTS_PROGRAMS_DIR"] = str(PROGRAMS_DIR)


@pytest.fixture(scope="session")
def programs() -> Path:
    """The real programs' bytecode: `ENGINE_PROGRAMS`, else the `shared/programs` directory
    beside the repository. Missing, their tests are skipped with a message; where CI requires
    them (CI_REQUIRE_PROGRAMS=1), that is a failure."""
    directory = PROGRAMS_DIR
    if not any(directory.glob("*.so")):
        if os.environ.get("CI_REQUIRE_PROGRAMS"):
            pytest.fail(f"the programs' bytecode is required in CI and {directory} has none")
        pytest.skip(f"no programs' bytecode in {directory} (set ENGINE_PROGRAMS to a directory "
                    "of <program id>.so files)")
    return directory


@pytest_asyncio.fixture(params=["model", "programs"])
async def quiet_world(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SimWorld]:
    """A quiet market (no other traders), run by the model or by the programs, the wallet at
    `tmp_path / "wallet.json"` funded: a cluster on its own, for the chain adapter's tests."""
    programs = str(request.getfixturevalue("programs")) if request.param == "programs" else None
    world = open_world(SystemClock(), seed=1, latency_scale=0, failure_rate=0,
                       funded=wallet_for(tmp_path / "wallet.json"), market_flow=0,
                       programs=programs)
    yield world
    await world.chain.close()


@pytest_asyncio.fixture
async def slow_engine(tmp_path: Path) -> AsyncIterator[EngineHarness]:
    """Seed-profile latencies on a manual clock: nothing happens until the test moves time."""
    async with EngineHarness.start(tmp_path / "engine.db", latency_scale=1.0,
                                   clock=ManualClock(), workers=3) as harness:
        yield harness


async def run_until(harness: EngineHarness, done: Callable[[], Awaitable[bool]],
                    step: float = 0.05, limit: float = 120.0) -> None:
    """Advance the manual clock in small steps until `await done()` holds."""
    clock = harness.clock
    assert isinstance(clock, ManualClock)
    elapsed = 0.0
    while not await done():
        if elapsed > limit:
            raise AssertionError("condition not reached in simulated time")
        await clock.advance(step)
        elapsed += step


def statuses(harness: EngineHarness, *order_ids: str) -> Callable[[], Awaitable[list[str]]]:
    async def read() -> list[str]:
        return [(await harness.order(order_id))["status"] for order_id in order_ids]
    return read


def all_in(harness: EngineHarness, order_ids: list[str],
           wanted: set[str]) -> Callable[[], Awaitable[bool]]:
    read = statuses(harness, *order_ids)

    async def done() -> bool:
        return set(await read()) <= wanted
    return done


PROBE = {"tokenIn": "SOL", "tokenOut": "USDC", "amount": 0.01, "slippage": 0.05}


async def looked_at(engine: EngineHarness, move: Callable[[], None], **probe: Any) -> None:
    """Move the market, then wait until the engine's watcher has looked at the new price: a
    probe order of 0.01 SOL for USDC (`probe`: its type and level) that the move crosses
    fires. The watcher checks a pair's waiting orders in one pass at one price, so a test
    can then say that an order waiting on SOL/USDC did not fire, without waiting for time."""
    probe_id = await engine.submit(**PROBE, **probe)
    await engine.wait_for_status(probe_id, "waiting")
    move()
    await engine.wait_for_status(probe_id, "routing")


def load_script(name: str) -> ModuleType:
    """Import scripts/<name>.py, so a test can run a short version of it."""
    path = Path(__file__).parents[1] / "scripts" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
