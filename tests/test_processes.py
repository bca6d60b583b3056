"""`--processes N`: refuses what cannot be shared, never shows a database URL's password, and
keeps N engines running (one that dies is started again; one that cannot start stops them all)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from loguru import logger

from engine.config import redacted
from engine.hosting.processes import CHILD as CHILD_VARIABLE
from engine.hosting.processes import Supervisor
from engine.testing import EngineHarness
from engine.testing.postgres import fresh_database
from engine.testing.process import (
    ClusterProcess,
    EngineProcess,
    children_of,
    free_port,
    wait_all_terminal,
)


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "engine", *args], cwd=cwd, text=True,
                          capture_output=True, timeout=30)


def test_several_processes_on_sqlite_are_refused(tmp_path: Path) -> None:
    done = run("--processes", "2", "--db", str(tmp_path / "e.db"), cwd=tmp_path)
    assert done.returncode == 2 and "postgresql://" in done.stderr


def test_several_processes_without_a_shared_cluster_are_refused(tmp_path: Path) -> None:
    done = run("--processes", "2", "--db", "postgresql://u:secret@127.0.0.1:1/db", cwd=tmp_path)
    assert done.returncode == 2 and "--rpc-url" in done.stderr
    assert "secret" not in done.stderr + done.stdout


def test_several_processes_on_port_0_are_refused(tmp_path: Path) -> None:
    done = run("--processes", "2", "--port", "0", "--db", "postgresql://u@127.0.0.1:1/db",
               "--rpc-url", "http://127.0.0.1:1", cwd=tmp_path)
    assert done.returncode == 2 and "a fixed --port" in done.stderr


def test_a_database_urls_password_is_redacted() -> None:
    assert redacted("postgresql://desk:s3cret@db:5432/orders") == "postgresql://desk:***@db:5432/orders"
    assert redacted("postgresql://desk@db/orders") == "postgresql://desk@db/orders"
    assert redacted("./engine.db") == "./engine.db"


# -- the parent keeps N engines running ---------------------------------------------------------
# A stand-in engine: it asks to die with its parent as the engine does, writes its pid into the
# directory it is given, dies at once (status 3) if a file `broken` was there as it started,
# refuses its configuration (status 2) if a file `refuse` was, and exits 0 on SIGTERM, as the
# engine does.
CHILD = """
import os, signal, sys, time
from pathlib import Path
from engine.hosting.processes import die_with_parent
die_with_parent()
here = Path(sys.argv[1])
broken, refuse = (here / "broken").exists(), (here / "refuse").exists()
(here / str(os.getpid())).touch()  # after the look: one the test saw start never dies of it
if broken:
    sys.exit(3)
if refuse:
    sys.exit(2)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
while True:
    signal.pause()
"""
# The parent, with the restart rules a test can wait for.
PARENT = """
import asyncio, sys
from engine.hosting.processes import Restarts, Supervisor
from engine.logs import configure
configure("INFO")
child = [sys.executable, "-c", sys.argv[1], sys.argv[2]]
rules = Restarts(quick_seconds=float(sys.argv[3]), give_up_after=3,
                 first_pause=float(sys.argv[4]))
sys.exit(asyncio.run(Supervisor(child, 2, rules).run()))
"""


def supervise(here: Path, quick_seconds: float,
              first_pause: float = 0.01) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", PARENT, CHILD, str(here), str(quick_seconds),
                             str(first_pause)], stderr=subprocess.PIPE, text=True)


def started(here: Path, count: int) -> list[int]:
    """The pids of the children started so far, once there are `count` (20 s at most)."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        pids = sorted(int(p.name) for p in here.iterdir() if p.name.isdigit())
        if len(pids) >= count:
            return pids
        time.sleep(0.02)
    raise AssertionError(f"{count} children were not started")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "Z" not in Path(f"/proc/{pid}/stat").read_text().split()[2]


def test_an_engine_process_that_dies_is_started_again_and_the_log_says_so(tmp_path: Path) -> None:
    parent = supervise(tmp_path, quick_seconds=0)
    first, second = started(tmp_path, 2)
    os.kill(first, signal.SIGKILL)
    third = next(pid for pid in started(tmp_path, 3) if pid not in (first, second))
    parent.send_signal(signal.SIGTERM)  # passed on to both children, which exit 0
    _, log = parent.communicate(timeout=20)
    assert parent.returncode == 0
    assert f"engine process {first} was killed by SIGKILL; starting another" in log
    assert f"engine process {third} started in place of {first}" in log
    assert not any(alive(pid) for pid in (second, third))
    assert len(started(tmp_path, 3)) == 3  # nothing was started after the SIGTERM


def test_an_engine_process_that_refuses_its_configuration_stops_the_others_at_once(
        tmp_path: Path) -> None:
    parent = supervise(tmp_path, quick_seconds=60)
    first, second = started(tmp_path, 2)
    (tmp_path / "refuse").touch()  # the next one started refuses, as every one would
    os.kill(first, signal.SIGKILL)
    _, log = parent.communicate(timeout=20)
    assert parent.returncode == 2
    assert "refused its configuration; stopping the others" in log
    assert len(started(tmp_path, 3)) == 3 and not alive(second)  # no second try


async def test_several_engines_beyond_loopback_without_a_key_are_refused_once(
        postgres_url: str, tmp_path: Path) -> None:
    db = await fresh_database(postgres_url, str(tmp_path))  # no key in it
    done = await asyncio.to_thread(
        run, "--processes", "2", "--host", "0.0.0.0", "--port", str(free_port()), "--db", db,
        "--rpc-url", "http://127.0.0.1:1", "--keypair", str(tmp_path / "w.json"), cwd=tmp_path)
    assert done.returncode == 2 and done.stderr.count("refusing to serve 0.0.0.0") == 1
    assert "engine process" not in done.stderr  # refused before any was started


async def test_an_engine_process_that_cannot_be_made_ends_the_parent_with_1() -> None:
    said: list[str] = []
    sink = logger.add(said.append, format="{message}")
    try:
        assert await Supervisor(["/nonexistent/python", "-m", "engine"], 2).run() == 1
    finally:
        logger.remove(sink)
    assert said[0].startswith("cannot start an engine process: [Errno 2] No such file")


def test_a_stop_while_one_waits_to_be_started_again_is_an_orderly_exit(tmp_path: Path) -> None:
    parent = supervise(tmp_path, quick_seconds=60, first_pause=30)
    first, second = started(tmp_path, 2)
    os.kill(first, signal.SIGKILL)  # a quick death: the next one waits 30 s
    assert parent.stderr is not None
    said = [parent.stderr.readline()]
    while "starting another" not in said[-1] and len(said) < 10:  # the starts, then the death
        said.append(parent.stderr.readline())
    assert "starting another in 30 s" in said[-1], said
    stopped = time.monotonic()
    parent.send_signal(signal.SIGTERM)
    parent.communicate(timeout=20)
    assert parent.returncode == 0 and time.monotonic() - stopped < 10  # not the dead one's 137
    assert not alive(second) and len(started(tmp_path, 2)) == 2


def test_the_engine_processes_stop_when_their_parent_is_killed(tmp_path: Path) -> None:
    parent = supervise(tmp_path, quick_seconds=0)
    children = started(tmp_path, 2)
    parent.kill()  # SIGKILL: it passes nothing on; the kernel tells each child
    parent.communicate(timeout=20)
    deadline = time.monotonic() + 20
    while any(alive(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not any(alive(pid) for pid in children)  # none left serving with no one to restart it


@pytest.mark.skipif(sys.platform != "linux", reason="the parent-death signal is Linux's")
def test_an_engine_process_whose_parent_died_before_it_asked_stops_at_once(
        tmp_path: Path) -> None:
    # Its parent (named by the supervisor's variable) is not the process that started it: the
    # parent died in between, and the kernel's signal would never come.
    env = {**os.environ, CHILD_VARIABLE: str(os.getpid() + 999_999)}
    child = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path)], env=env, timeout=20)
    assert child.returncode == -signal.SIGTERM
    assert not any(p.name.isdigit() for p in tmp_path.iterdir())  # it served nothing


def test_an_engine_process_that_keeps_dying_at_its_start_stops_the_others(tmp_path: Path) -> None:
    parent = supervise(tmp_path, quick_seconds=60)
    first, second = started(tmp_path, 2)
    (tmp_path / "broken").touch()  # from now on, every new child dies at once
    os.kill(first, signal.SIGKILL)
    _, log = parent.communicate(timeout=20)
    assert parent.returncode == 1
    assert "starting another in 0.01 s" in log and "starting another in 0.02 s" in log
    assert "exited with status 3: 3 times in a row within 60 s of its start; stopping the " \
           "others" in log
    assert not alive(second)  # stopped with SIGTERM, not left serving alone
    # The killed one counts as the first quick death (it ran under 60 s), then two that died
    # at once: four started in all.
    assert len(started(tmp_path, 4)) == 4


async def call(url: str, order_id: str) -> dict[str, Any]:
    async with aiohttp.ClientSession() as session, session.get(
            f"{url}/api/orders/{order_id}") as resp:
        return dict(await resp.json())


def listeners(port: int) -> int:
    """How many sockets listen on 127.0.0.1:`port` (state 0A in /proc/net/tcp)."""
    rows = [line.split() for line in Path("/proc/net/tcp").read_text().splitlines()[1:]]
    return sum(1 for row in rows if row[1] == f"0100007F:{port:04X}" and row[3] == "0A")


async def test_engines_on_one_port_go_on_serving_when_one_is_killed(
        postgres_url: str, tmp_path: Path) -> None:
    wallet = str(tmp_path / "wallet.json")
    cluster = ClusterProcess(tmp_path / "cluster.db", "--fund-keypair", wallet,
                             "--latency-scale", "0", "--failure-rate", "0")
    await cluster.start()
    log = tmp_path / "engines.log"
    engines = EngineProcess(await fresh_database(postgres_url, str(tmp_path)), "--processes", "2",
                            "--rpc-url", cluster.url, "--keypair", wallet, "--latency-scale", "0",
                            log=log)
    try:
        await engines.start()
        assert engines.proc is not None
        pid, port = engines.proc.pid, engines.port

        async def kids() -> list[int]:
            return children_of(pid)

        async def listening() -> int:
            return listeners(port)

        await EngineHarness.wait_until(listening, lambda n: n == 2)  # the first is not alone
        first, second = children_of(pid)
        os.kill(first, signal.SIGKILL)
        # Once the parent has reaped it, all its threads are gone, its listening socket with
        # them: no connection can be queued on that socket and reset with it any more.
        await EngineHarness.wait_until(kids, lambda k: first not in k)
        # Each request on a new connection, so that either engine may answer it.
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as s:
            accepted = []
            for _ in range(20):
                async with s.post(f"{engines.url}/api/orders/execute", json={
                        "orderType": "market", "tokenIn": "SOL", "tokenOut": "USDC",
                        "amount": 0.1}) as resp:
                    assert resp.status == 201
                    accepted.append((await resp.json())["orderId"])
        assert await wait_all_terminal(engines.url, timeout=20)
        assert {(await call(engines.url, order_id))["status"] for order_id in accepted} == {
            "confirmed"}
        await EngineHarness.wait_until(kids, lambda k: len(k) == 2, limit=20)  # one in its place
        assert second in children_of(pid)
        assert await engines.terminate() == 0
    finally:
        if engines.proc is not None and engines.proc.poll() is None:
            await engines.terminate()
        await cluster.terminate()
    text = log.read_text()
    assert f"engine process {first} was killed by SIGKILL; starting another" in text
    assert "Traceback" not in text
