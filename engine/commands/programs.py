"""`python -m engine programs dump --rpc-url URL --dir DIR`: the programs' bytecode from a node,
as `solana program dump` writes it, one `<program id>.so` a program (what `--programs DIR` and
`solana-test-validator --bpf-program` take).

A program of the upgradeable loader is two accounts: the program (`Program`, tag 2, naming its
programdata account) and the programdata (`ProgramData`, tag 3: the slot and upgrade authority
in a 45-byte header, then the ELF). A program of the older loaders holds its ELF itself.
"""

from __future__ import annotations

import argparse
import asyncio
import struct
import sys
from collections.abc import Sequence
from pathlib import Path

from solders.pubkey import Pubkey

from engine.solana.jsonrpc import RpcError, node_name
from engine.solana.programs import AMM_V4, CPMM, DLMM
from engine.solana_client.account_cache import data_of
from engine.solana_client.client import RpcClient
from engine.solana_client.transports import Http

UPGRADEABLE = Pubkey.from_string("BPFLoaderUpgradeab1e11111111111111111111111")
OLDER_LOADERS = {Pubkey.from_string("BPFLoader2111111111111111111111111111111111"),
                 Pubkey.from_string("BPFLoader1111111111111111111111111111111111")}
PROGRAM, PROGRAM_DATA = 2, 3  # UpgradeableLoaderState's tags
PROGRAM_DATA_HEADER = 45  # tag, slot, upgrade authority (an Option<Pubkey>, always 33 bytes)
DEFAULT_PROGRAMS = (AMM_V4, CPMM, DLMM)
DUMPED, FAILED, UNREACHABLE = 0, 1, 3


class NotAProgram(Exception):
    """The account is missing, or is not a program a loader can run."""


async def fetch(rpc: RpcClient, program: Pubkey) -> bytes:
    """The program's bytecode, as its loader keeps it."""
    account = await _account(rpc, program)
    owner, data = Pubkey.from_string(str(account["owner"])), data_of(account)
    if owner in OLDER_LOADERS:
        return data
    if owner != UPGRADEABLE or not account.get("executable") or len(data) < 36 or \
            struct.unpack_from("<I", data)[0] != PROGRAM:
        raise NotAProgram(f"{program} is not a program (owner {owner})")
    programdata = Pubkey(data[4:36])
    stored = data_of(await _account(rpc, programdata))
    if len(stored) < PROGRAM_DATA_HEADER or struct.unpack_from("<I", stored)[0] != PROGRAM_DATA:
        raise NotAProgram(f"{programdata}, {program}'s programdata, is not one")
    return stored[PROGRAM_DATA_HEADER:]


async def _account(rpc: RpcClient, address: Pubkey) -> dict[str, object]:
    found = (await rpc.get_multiple_accounts([str(address)]))["value"][0]
    if found is None:
        raise NotAProgram(f"no account at {address}")
    return dict(found)



async def fetch_all(url: str, programs: Sequence[Pubkey]) -> dict[Pubkey, bytes | str]:
    """Each program's bytecode, or why it could not be had."""
    rpc = RpcClient(Http(url))
    found: dict[Pubkey, bytes | str] = {}
    try:
        for program in programs:
            try:
                found[program] = await fetch(rpc, program)
            except NotAProgram as error:
                found[program] = str(error)
    finally:
        await rpc.close()
    return found


def dump(url: str, directory: Path, programs: Sequence[Pubkey]) -> int:
    try:
        found = asyncio.run(fetch_all(url, programs))
    except RpcError as error:
        print(f"cannot read programs from {node_name(url)}: {error}", file=sys.stderr)
        return UNREACHABLE
    directory.mkdir(parents=True, exist_ok=True)
    status = DUMPED
    for program, code in found.items():
        if isinstance(code, str):
            print(f"cannot dump {program}: {code}", file=sys.stderr)
            status = FAILED
            continue
        target = directory / f"{program}.so"
        partial = target.with_suffix(".so.partial")  # never a half-written program
        partial.write_bytes(code)
        partial.replace(target)
        print(f"{target} ({len(code):,} bytes)")
    return status


def main(argv: Sequence[str]) -> int:
    p = argparse.ArgumentParser(prog="python -m engine programs",
                                description="The programs' bytecode, from a Solana node.")
    sub = p.add_subparsers(dest="action", required=True)
    d = sub.add_parser("dump", help="write each program's bytecode as DIR/<program id>.so")
    d.add_argument("--rpc-url", required=True, help="a node's JSON-RPC URL, e.g. "
                   "https://api.mainnet-beta.solana.com")
    d.add_argument("--dir", required=True, type=Path, help="where the .so files go")
    d.add_argument("--program", action="append", default=[], metavar="ID",
                   help="a program id (repeatable; default: Raydium AMM v4 and CPMM, Meteora "
                        "DLMM)")
    args = p.parse_args(list(argv))
    try:
        programs = [Pubkey.from_string(x) for x in args.program] or list(DEFAULT_PROGRAMS)
    except ValueError:
        p.error("--program takes a base58 program id")
    return dump(args.rpc_url, args.dir, programs)
