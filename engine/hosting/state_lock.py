"""One process per state file. A SQLite file (an engine's orders, a cluster's record) is one
process's: a second engine started on the same `--db` would resume the same unfinished orders
and execute them a second time. So a serving process holds an exclusive lock on `<file>.lock`
for as long as it runs, and a second one is refused at start, naming the holder.

The lock is `flock` on a file of its own, never on the database: SQLite's own locks are POSIX
record locks, which a process loses when it closes any descriptor of that file. The operating
system drops the lock when its process ends, `kill -9` included, so a lock file left behind
holds nothing; it may be deleted whenever no process runs. `keys` commands take no lock: they
are made to run beside the engine.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterable
from types import TracebackType

SUFFIX = ".lock"


class Unavailable(Exception):
    """Another process holds a state file (the message says which file and which process),
    or the file cannot be locked at all (a directory that does not exist, say)."""


class StateLock:
    """Exclusive locks on state files, taken at once or not at all (a context manager)."""

    def __init__(self, paths: Iterable[str]) -> None:
        self.paths = tuple(paths)
        self._held: list[int] = []

    def __enter__(self) -> StateLock:
        try:
            for path in self.paths:
                self._held.append(_take(path))
        except BaseException:
            self.release()
            raise
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.release()

    def release(self) -> None:
        while self._held:
            os.close(self._held.pop())


def _take(path: str) -> int:
    lock = path + SUFFIX
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as error:
        raise Unavailable(f"cannot use {path}: {error.strerror or error} ({lock})") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(fd, 32).decode(errors="replace").strip()
        os.close(fd)
        by = f" (process {holder})" if holder.isdigit() else ""
        raise Unavailable(f"{path} is in use by another engine or cluster{by}: one process "
                          "per file. Stop that one first, or start this one on other files"
                          ) from None
    except OSError as error:  # a file system without flock, say
        os.close(fd)
        raise Unavailable(f"cannot lock {lock}: {error.strerror or error}") from None
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    return fd


def sqlite_files(*paths: str) -> list[str]:
    """The paths that name SQLite files on disk (not a PostgreSQL URL, not in memory)."""
    return [p for p in paths if p and p != ":memory:" and "://" not in p
            and not p.startswith("file:")]
