"""Start a throwaway PostgreSQL and print its URL; it stops (and is deleted) on Ctrl-C, on
SIGTERM and when its terminal closes (SIGHUP).

    python scripts/postgres.py            # postgresql://engine@127.0.0.1:PORT/postgres
    python -m engine --db postgresql://engine@127.0.0.1:PORT/postgres

Needs Debian's `postgresql` package (initdb and pg_ctl); as root, it runs them as `postgres`.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys

from engine.testing.postgres import throwaway_postgres


class Stop(Exception):
    """A signal asked us to stop: leave the `with` so the server stops and its files go."""


def _stop(signum: int, frame: object) -> None:
    raise Stop(signal.Signals(signum).name)


def main() -> int:
    argparse.ArgumentParser(description=__doc__,  # no options: --help says what it does
                            formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _stop)
    with contextlib.suppress(Stop), throwaway_postgres() as url:
        print(url, flush=True)
        signal.pause()
    return 0


if __name__ == "__main__":
    sys.exit(main())
