"""Start a throwaway PostgreSQL and print its URL; it stops (and is deleted) on Ctrl-C.

    python scripts/postgres.py            # postgresql://engine@127.0.0.1:PORT/postgres
    python -m engine --db postgresql://engine@127.0.0.1:PORT/postgres

Needs Debian's `postgresql` package (initdb and pg_ctl); as root, it runs them as `postgres`.
"""

from __future__ import annotations

import contextlib
import signal
import sys

from engine.testing.postgres import throwaway_postgres


def main() -> int:
    with throwaway_postgres() as url:
        print(url, flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            signal.pause()
    return 0


if __name__ == "__main__":
    sys.exit(main())
