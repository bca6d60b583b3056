"""A throwaway PostgreSQL for tests, benchmarks and the README's scale-out recipe: Debian's
`postgresql` package, `initdb` in a temporary directory, run as an unprivileged user (as root,
the `postgres` user the package creates), on a free port, gone when it stops."""

from __future__ import annotations

import contextlib
import glob
import hashlib
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator

import asyncpg

from engine.testing.process import children_of, free_port

USER = "engine"
# A running one's start and stop commands, and its data directory.
_servers: dict[str, tuple[list[str], list[str], str]] = {}


def binaries() -> str | None:
    """The directory of initdb and pg_ctl, or None when PostgreSQL is not installed."""
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.path.exists(os.path.join(candidate, "initdb")):
            return candidate
    found = shutil.which("initdb")
    return os.path.dirname(found) if found else None


def _as_owner(argv: list[str], owner: str | None) -> list[str]:
    return ["runuser", "-u", owner, "--", *argv] if owner else argv


@contextlib.contextmanager
def throwaway_postgres(*, durable: bool = True) -> Iterator[str]:
    """Start one; yield its URL (postgresql://engine@127.0.0.1:PORT/postgres). Not `durable`
    (tests): no fsync, which a test's throwaway data does not need."""
    bindir = binaries()
    if bindir is None:
        raise RuntimeError("PostgreSQL is not installed (apt-get install -y postgresql)")
    owner = "postgres" if os.geteuid() == 0 else None  # initdb refuses to run as root
    home = tempfile.mkdtemp(prefix="engine-pg-")
    data = os.path.join(home, "data")
    if owner:
        shutil.chown(home, owner)
    port = free_port()
    run = dict(check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        subprocess.run(_as_owner([f"{bindir}/initdb", "-D", data, "-A", "trust", "-U", USER,
                                  "-E", "UTF8", "--no-locale"], owner), **run)  # type: ignore[call-overload]
        options = f"-p {port} -k {home} -c listen_addresses=127.0.0.1 -c max_connections=200"
        if not durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        start = _as_owner([f"{bindir}/pg_ctl", "-D", data, "-o", options, "-w", "-l",
                           os.path.join(home, "log"), "start"], owner)
        subprocess.run(start, **run)  # type: ignore[call-overload]
        url = f"postgresql://{USER}@127.0.0.1:{port}/postgres"
        _servers[url] = (start, _as_owner([f"{bindir}/pg_ctl", "-D", data, "-m", "fast", "-w",
                                           "stop"], owner), data)
        yield url
    finally:
        _servers.pop(f"postgresql://{USER}@127.0.0.1:{port}/postgres", None)
        subprocess.run(_as_owner([f"{bindir}/pg_ctl", "-D", data, "-m", "immediate", "stop"],
                                 owner), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(home, ignore_errors=True)


@contextlib.contextmanager
def stopped(url: str) -> Iterator[None]:
    """The throwaway server at `url` stopped (a database restart, as an operator's), and
    started again on the same port when the block ends."""
    start, stop, _ = _servers[url]
    subprocess.run(stop, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        yield
    finally:
        subprocess.run(start, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


@contextlib.contextmanager
def frozen(url: str) -> Iterator[None]:
    """The throwaway server at `url` and its backends stopped (SIGSTOP: a database host that
    hangs, answering nothing and refusing nothing), and continued when the block ends."""
    data = _servers[url][2]
    with open(os.path.join(data, "postmaster.pid")) as pid_file:
        postmaster = int(pid_file.readline())
    processes = [postmaster, *children_of(postmaster)]
    for pid in processes:
        os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for pid in processes:
            os.kill(pid, signal.SIGCONT)


async def fresh_database(url: str, label: str) -> str:
    """A new, empty database on the server at `url`, named after `label` (a test's tmp_path,
    say): its URL. Each test gets its own order book on the session's one server."""
    name = "t_" + hashlib.sha256(label.encode()).hexdigest()[:16]
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return url.rsplit("/", 1)[0] + "/" + name
