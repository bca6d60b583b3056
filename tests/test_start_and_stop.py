"""Starting and stopping as an operator meets it: a cluster that is not there, a busy port, a
signal while the engine is still starting. One line each, an exit code, never a hang."""

from __future__ import annotations

import asyncio
import resource
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio

from engine.testing.process import ClusterProcess, EngineProcess, free_port


def engine_command(tmp_path: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "engine", "--db", str(tmp_path / "e.db"), *args]


def cluster_command(db: Path, port: int) -> list[str]:
    """`python -m engine cluster` on `db` and `port`, with no PubSub port of its own."""
    return [sys.executable, "-m", "engine", "cluster", "--db", str(db), "--port", str(port),
            "--pubsub-port", "0"]


def run(command: list[str], timeout: float = 20,
        cwd: Path | None = None) -> tuple[int, str, float]:
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=cwd)
    return done.returncode, done.stderr, time.monotonic() - started


@dataclass
class SilentCluster:
    port: int
    asked: asyncio.Event  # set once a client connected: from then on, it waits on us


@pytest_asyncio.fixture
async def silent_cluster() -> AsyncIterator[SilentCluster]:
    """A port that accepts connections and never answers (a cluster that hangs)."""
    held: list[asyncio.StreamWriter] = []
    asked = asyncio.Event()

    async def hold(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)
        asked.set()

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    yield SilentCluster(server.sockets[0].getsockname()[1], asked)
    for writer in held:
        writer.close()
    server.close()


def test_an_unreachable_cluster_ends_the_start_in_one_line_and_a_non_zero_exit(
        tmp_path: Path) -> None:
    code, stderr, seconds = run(engine_command(
        tmp_path, "--port", str(free_port()), "--rpc-url", f"http://127.0.0.1:{free_port()}"))
    assert code == 1 and seconds < 10
    assert "Traceback" not in stderr
    assert "cannot be reached" in stderr.strip().splitlines()[-1]


def test_a_nodes_key_in_its_url_is_never_said(tmp_path: Path) -> None:
    # Hosted nodes take their API key in the URL's query or path: a secret, like our keys.
    for url in (f"http://127.0.0.1:{free_port()}/?api-key=hunter2",
                f"http://127.0.0.1:{free_port()}/v2/hunter2"):
        code, stderr, _ = run(engine_command(tmp_path, "--port", str(free_port()),
                                             "--log-level", "DEBUG", "--rpc-url", url))
        assert code == 1 and "cannot be reached" in stderr
        assert "hunter2" not in stderr and "/… cannot be reached" in stderr


def test_a_programs_directory_without_the_programs_ends_the_start_in_one_line(
        tmp_path: Path) -> None:
    for directory in (tmp_path, tmp_path / "missing"):  # empty, and not there at all
        code, stderr, _ = run(engine_command(tmp_path, "--port", str(free_port()),
                                             "--programs", str(directory)))
        assert code == 1 and "Traceback" not in stderr
        assert f"cannot start: {directory}" in stderr.strip().splitlines()[-1]


@pytest.mark.parametrize("processes", ["1", "2"])
def test_an_unreachable_database_beyond_loopback_ends_the_start_in_one_line(
        tmp_path: Path, processes: str) -> None:
    # Beyond loopback the keys are read before anything else: from a database that is not there.
    code, stderr, _ = run(engine_command(
        tmp_path, "--host", "0.0.0.0", "--port", str(free_port()), "--processes", processes,
        "--db", f"postgresql://desk@127.0.0.1:{free_port()}/orders",
        "--rpc-url", f"http://127.0.0.1:{free_port()}"), cwd=tmp_path)  # where its wallet goes
    assert code == 1 and "Traceback" not in stderr
    assert "cannot start: cannot open the PostgreSQL store" in stderr.strip().splitlines()[-1]


async def test_a_cluster_that_never_answers_ends_the_start_within_10_s(
        tmp_path: Path, silent_cluster: SilentCluster) -> None:
    proc = subprocess.Popen(engine_command(
        tmp_path, "--port", str(free_port()),
        "--rpc-url", f"http://127.0.0.1:{silent_cluster.port}"), stderr=subprocess.PIPE, text=True)
    # Timed from the engine's first question, not its launch: a loaded machine's imports are
    # not the start's wait.
    await asyncio.wait_for(silent_cluster.asked.wait(), 30)
    asked = time.monotonic()
    _, stderr = await asyncio.to_thread(proc.communicate, None, 30)
    assert proc.returncode == 1 and time.monotonic() - asked < 10
    assert "Traceback" not in stderr and "cannot be reached" in stderr


async def test_sigterm_while_the_start_waits_on_the_cluster_stops_the_process(
        tmp_path: Path, silent_cluster: SilentCluster) -> None:
    proc = subprocess.Popen(engine_command(
        tmp_path, "--port", str(free_port()),
        "--rpc-url", f"http://127.0.0.1:{silent_cluster.port}"), stderr=subprocess.PIPE, text=True)
    await asyncio.wait_for(silent_cluster.asked.wait(), 30)  # waiting for the cluster's answer
    proc.send_signal(signal.SIGTERM)
    _, stderr = await asyncio.to_thread(proc.communicate, None, 5)
    assert proc.returncode == 0
    assert "Traceback" not in stderr


async def test_a_busy_port_is_one_line_naming_it_and_exit_2(tmp_path: Path) -> None:
    first = EngineProcess(tmp_path / "first.db")
    await first.start()
    try:
        code, stderr, _ = await asyncio.to_thread(
            run, engine_command(tmp_path, "--port", str(first.port)))
    finally:
        await first.terminate()
    assert code == 2
    assert "Traceback" not in stderr
    assert f"cannot listen on 127.0.0.1:{first.port}" in stderr


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGHUP])
async def test_sigint_or_a_closed_terminal_stops_a_running_engine_with_exit_0(
        tmp_path: Path, signum: signal.Signals) -> None:
    log = tmp_path / "engine.log"
    engine = EngineProcess(tmp_path / "e.db", "--log-level", "INFO", log=log)
    await engine.start()
    assert engine.proc is not None
    engine.proc.send_signal(signum)
    assert await asyncio.to_thread(engine.proc.wait, 15) == 0
    assert "stopping: executing orders get up to" in log.read_text()  # orderly, not killed


async def test_a_database_from_another_cluster_is_refused_naming_both_genesis_hashes(
        tmp_path: Path) -> None:
    db = tmp_path / "e.db"
    embedded = EngineProcess(db)
    await embedded.start()
    assert await embedded.terminate() == 0
    cluster = ClusterProcess(tmp_path / "cluster.db")
    await cluster.start()
    try:
        args = ("--rpc-url", cluster.url, "--port", str(free_port()))
        code, stderr, _ = await asyncio.to_thread(run, engine_command(tmp_path, *args))
        assert code == 1 and "Traceback" not in stderr
        line = stderr.strip().splitlines()[-1]
        assert "genesis hash" in line and cluster.url in line
        hashes = [word.strip(",") for word in line.split() if len(word.strip(",")) >= 43]
        assert len(set(hashes)) == 2
        adopted = EngineProcess(db, "--rpc-url", cluster.url, "--allow-other-cluster")
        await adopted.start()
        assert await adopted.terminate() == 0
    finally:
        await cluster.terminate()


async def test_a_second_engine_on_the_same_files_is_refused_naming_the_first(
        tmp_path: Path) -> None:
    first = EngineProcess(tmp_path / "e.db")
    await first.start()
    assert first.proc is not None
    try:
        for args in ((), ("--db", str(tmp_path / "other.db"),  # its own orders, but the
                          "--chain-db", str(tmp_path / "e.chain.db"))):  # first's cluster
            code, stderr, _ = await asyncio.to_thread(
                run, [*engine_command(tmp_path, "--port", str(free_port())), *args])
            assert code == 1 and "Traceback" not in stderr
            line = stderr.strip().splitlines()[-1]
            assert "cannot start:" in line and "in use" in line
            assert f"(process {first.proc.pid})" in line
    finally:
        assert await first.terminate() == 0
    again = EngineProcess(tmp_path / "e.db")  # once the first has stopped, the files are free
    await again.start()
    assert await again.terminate() == 0


async def test_a_killed_engine_leaves_no_lock_behind(tmp_path: Path) -> None:
    first = EngineProcess(tmp_path / "e.db")
    await first.start()
    first.kill()  # SIGKILL: the system drops the lock with the process
    again = EngineProcess(tmp_path / "e.db")
    await again.start()
    assert await again.terminate() == 0


async def test_a_second_cluster_on_the_same_record_is_refused(tmp_path: Path) -> None:
    first = ClusterProcess(tmp_path / "cluster.db")
    await first.start()
    try:
        code, stderr, _ = await asyncio.to_thread(
            run, cluster_command(tmp_path / "cluster.db", free_port()))
    finally:
        await first.terminate()
    assert code == 2 and "Traceback" not in stderr
    assert "cannot start the cluster:" in stderr and "in use" in stderr


def test_files_that_cannot_be_made_end_the_start_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")
    db = str(tmp_path / "a-file" / "e.db")  # under a file, not a directory
    for command, exit_code in (
            ([sys.executable, "-m", "engine", "--db", db, "--keypair",
              str(tmp_path / "wallet.json"), "--port", str(free_port())], 1),
            (cluster_command(Path(db), free_port()), 2)):
        code, stderr, _ = run(command)
        assert code == exit_code and "Traceback" not in stderr
        assert f"cannot use {db}: Not a directory" in stderr.strip().splitlines()[-1]


async def test_a_cluster_on_a_busy_port_says_so_before_anything_else(tmp_path: Path) -> None:
    first = ClusterProcess(tmp_path / "first.db")
    await first.start()
    try:
        code, stderr, _ = await asyncio.to_thread(
            run, cluster_command(tmp_path / "second.db", first.port))
    finally:
        await first.terminate()
    assert code == 2 and "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    assert lines[-1] == f"cannot listen on 127.0.0.1:{first.port}: Address already in use"
    assert not any("JSON-RPC on" in line or "wallet" in line for line in lines)
    assert not (tmp_path / "second.db").exists()  # nothing was started, nor written


async def test_a_disk_too_full_for_the_chains_record_ends_the_start_in_one_line(
        tmp_path: Path) -> None:
    def full_disk() -> None:  # room for the keypair, none for a database page
        resource.setrlimit(resource.RLIMIT_FSIZE, (1_000, resource.RLIM_INFINITY))

    for command, exit_code in (
            ([sys.executable, "-m", "engine", "--db", str(tmp_path / "e.db"),
              "--port", str(free_port())], 1),
            (cluster_command(tmp_path / "c.db", free_port()), 2)):
        done = await asyncio.to_thread(subprocess.run, command, capture_output=True,
                                       text=True, timeout=20, preexec_fn=full_disk)
        assert done.returncode == exit_code and "Traceback" not in done.stderr, done.stderr
        assert "cannot open the chain's record" in done.stderr.strip().splitlines()[-1]
    # Once there is room, the same files start: nothing half-made was left in the way.
    engine = EngineProcess(tmp_path / "e.db")
    await engine.start()
    assert await engine.terminate() == 0


async def test_a_closed_terminal_stops_the_cluster_in_order(tmp_path: Path) -> None:
    cluster = ClusterProcess(tmp_path / "c.db")
    await cluster.start()
    assert cluster.proc is not None
    cluster.proc.send_signal(signal.SIGHUP)
    assert await asyncio.to_thread(cluster.proc.wait, 15) == 0  # not killed by the signal


async def test_a_cluster_with_subscribers_stops_at_once_and_tells_them_it_is_going(
        tmp_path: Path) -> None:
    # Each PubSub connection held the stop until its client hung up (45 s with an engine
    # subscribed): Ctrl-C on the cluster seemed to do nothing.
    cluster = ClusterProcess(tmp_path / "cluster.db", "--latency-scale", "0")
    await cluster.start()
    assert cluster.proc is not None
    async with aiohttp.ClientSession() as session, session.ws_connect(
            cluster.url.replace("http", "ws")) as ws:
        await ws.send_json({"jsonrpc": "2.0", "id": 1, "method": "slotSubscribe"})
        assert "result" in await ws.receive_json()
        asked = time.monotonic()
        cluster.proc.send_signal(signal.SIGTERM)
        while (message := await ws.receive()).type is aiohttp.WSMsgType.TEXT:
            pass  # slot notifications until the close
        assert message.type is aiohttp.WSMsgType.CLOSE and message.data == 1001
        assert await asyncio.to_thread(cluster.proc.wait, 15) == 0
    assert time.monotonic() - asked < 15
