"""`python -m engine keys create|list|revoke|unlock`: API keys, kept (as hashes) in the engine's
database. Once a database has had a key it stays locked when its last key is revoked: `unlock`
lets loopback clients in without a key again.

`create` prints the new key once, alone on its own line of standard output, so a script can
capture it: `KEY=$(python -m engine keys create --name bot --scope trade)`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

from engine.access.keyring import UNLOCKED_AT
from engine.config import is_postgres
from engine.domain.access import KEY_PREFIX, ApiKey, Scope, key_hash
from engine.ports import KeyNameTaken, OrderStore, StorageError


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m engine keys", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="action", required=True)
    create = sub.add_parser("create", help="create a key and print it once")
    create.add_argument("--name", required=True, help="who or what uses it (unique)")
    create.add_argument("--scope", required=True, choices=[s.value for s in Scope],
                        help="read: GET and subscribe; trade: also submit and cancel; "
                             "admin: also /api/sim/* and everyone's orders")
    sub.add_parser("list", help="every key: name, scope, created, revoked")
    revoke = sub.add_parser("revoke", help="revoke a key by name (a running engine stops "
                                           "accepting it within a second)")
    revoke.add_argument("name", help="the key's name (as `keys list` shows it)")
    scope = sub.add_parser("scope", help="change a key's scope (a running engine applies it, "
                                         "and closes the sockets it no longer allows, within a "
                                         "second)")
    scope.add_argument("name", help="the key's name (as `keys list` shows it)")
    scope.add_argument("scope", choices=[s.value for s in Scope])
    sub.add_parser("unlock", help="after every key was revoked: serve loopback clients without "
                                  "a key again (refused while a key is active)")
    for command in sub.choices.values():
        command.add_argument("--db", default=os.environ.get("ENGINE_DB", "./engine.db"),
                             help="the engine's database [env ENGINE_DB; default: %(default)s]")
    return p


async def run(args: argparse.Namespace, store: OrderStore) -> int:
    if args.action == "create":
        name = args.name.strip()
        if not name or not name.isascii() or not name.isprintable() or len(name) > 64:
            print("a key name is 1..64 printable ASCII characters", file=sys.stderr)
            return 2
        secret = KEY_PREFIX + secrets.token_urlsafe(32)
        try:
            await store.add_key(ApiKey(name, key_hash(secret), Scope(args.scope),
                                       datetime.now(UTC)))
        except KeyNameTaken as error:
            print(error, file=sys.stderr)
            return 2
        print(f"created key {name!r} ({args.scope}); a running engine accepts it within a "
              "second. It is shown once, keep it secret:", file=sys.stderr)
        print(secret)
        return 0
    if args.action == "list":
        keys = await store.api_keys()
        if not keys:
            print("no keys: loopback clients need none until one exists (python -m engine keys "
                  "create --name NAME --scope read|trade|admin)", file=sys.stderr)
        for key in keys:
            revoked = f"revoked {key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else "active"
            print(f"{key.name:<24} {key.scope.value:<6} created {key.created_at:%Y-%m-%d %H:%M}"
                  f"  {revoked}")
        return 0
    if args.action == "unlock":
        return await _unlock(store)
    if args.action == "scope":
        if await store.set_key_scope(args.name, Scope(args.scope)):
            print(f"key {args.name!r} is now {args.scope}", file=sys.stderr)
            return 0
        print(f"no active key named {args.name!r}", file=sys.stderr)
        return 1
    if await store.revoke_key(args.name, datetime.now(UTC)):
        print(f"revoked {args.name!r}", file=sys.stderr)
        return 0
    print(f"no active key named {args.name!r}", file=sys.stderr)
    return 1


async def _unlock(store: OrderStore) -> int:
    active = [key.name for key in await store.api_keys() if key.active]
    if active:
        print(f"not unlocked: these keys are active: {', '.join(active)} (revoke them first)",
              file=sys.stderr)
        return 1
    await store.set_engine_value(UNLOCKED_AT, datetime.now(UTC).isoformat())
    print("unlocked: loopback clients are served without a key (a running engine within a "
          "second)", file=sys.stderr)
    return 0


def main(argv: list[str], open_store: Callable[[str], Awaitable[OrderStore]]) -> int:
    """Run one keys command on the store that `open_store` opens (the composition root's)."""
    args = parser().parse_args(argv)
    if not is_postgres(args.db) and not Path(args.db).is_file():
        # Usually a command run from another directory than the engine's: a key written to a
        # new file there would never reach the engine. A first key before the first start is
        # a safe way to begin, so `create` makes the database, and says so.
        if args.action != "create":
            print(f"no engine database at {args.db}: give the engine's --db (or ENGINE_DB)",
                  file=sys.stderr)
            return 2
        print(f"no engine database at {args.db} yet: creating it; start the engine with "
              f"--db {args.db} for it to use this key", file=sys.stderr)

    async def go() -> int:
        try:
            store = await open_store(args.db)
        except StorageError as error:  # a PostgreSQL that is not there, say: a line, not a trace
            print(error, file=sys.stderr)
            return 3
        try:
            return await run(args, store)
        finally:
            await store.close()

    return asyncio.run(go())
