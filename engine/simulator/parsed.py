"""Transactions in `jsonParsed`, as a node gives them: account keys with their signer and
writable flags, and each instruction parsed where the node knows its program (System's
transfer and createAccount, SPL Token's and the Address Lookup Table program's instructions
(`parsed_token`), the Associated Token Account program, Memo) or else "partially decoded" (its
program id, its accounts by address and its data in base58), inner instructions too."""

from __future__ import annotations

import struct
from typing import Any

from solders.message import Message, MessageV0
from solders.pubkey import Pubkey

from engine.domain import base58
from engine.simulator.parsed_token import lookup_table, token

SYSTEM = "11111111111111111111111111111111"
TOKEN = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"
ASSOCIATED = "ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL"
LOOKUP_TABLE = "AddressLookupTab1e1111111111111111111111111"
MEMOS = {"MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr", "Memo1UhkJRfHyvLMcVucJwxXeuD728EqVDDwQDxFMNo"}


def parsed_message(message: Message | MessageV0 | Any,
                   loaded: dict[str, list[str]] | None = None) -> dict[str, Any]:
    """A message as jsonParsed gives it; `loaded`: what a v0 message's lookups loaded
    (meta.loadedAddresses), listed after its own keys with their source."""
    own = [str(k) for k in message.account_keys]
    header = message.header
    signers = header.num_required_signatures
    looked_up = loaded or {"writable": [], "readonly": []}
    keys = [*own, *looked_up["writable"], *looked_up["readonly"]]

    def writable(n: int) -> bool:
        if n >= len(own):
            return n < len(own) + len(looked_up["writable"])
        if n < signers:
            return n < signers - header.num_readonly_signed_accounts
        return n < len(own) - header.num_readonly_unsigned_accounts

    body: dict[str, Any] = {
        "accountKeys": [{"pubkey": key, "signer": n < signers, "writable": writable(n),
                         "source": "transaction" if n < len(own) else "lookupTable"}
                        for n, key in enumerate(keys)],
        "recentBlockhash": str(message.recent_blockhash),
        "instructions": [instruction(keys[ix.program_id_index],
                                     [keys[i] for i in bytes(ix.accounts)], bytes(ix.data))
                         for ix in message.instructions]}
    if isinstance(message, MessageV0):
        body["addressTableLookups"] = table_lookups(message)
    return body


def table_lookups(message: MessageV0) -> list[dict[str, Any]]:
    """A v0 message's lookups, as a node's JSON lists them."""
    return [{"accountKey": str(found.account_key),
             "writableIndexes": list(bytes(found.writable_indexes)),
             "readonlyIndexes": list(bytes(found.readonly_indexes))}
            for found in message.address_table_lookups]


def parsed_inner(inner: list[dict[str, Any]], keys: list[Pubkey]) -> list[dict[str, Any]]:
    """The meta's inner instructions (compiled) in the parsed form."""
    names = [str(k) for k in keys]
    return [{"index": group["index"], "instructions": [
        {**instruction(names[ix["programIdIndex"]], [names[a] for a in ix["accounts"]],
                       base58.decode(ix["data"])), "stackHeight": ix.get("stackHeight")}
        for ix in group["instructions"]]} for group in inner]


def instruction(program: str, accounts: list[str], data: bytes) -> dict[str, Any]:
    parsed = _parse(program, accounts, data)
    if parsed is not None:
        name, value = parsed
        return {"parsed": value, "program": name, "programId": program, "stackHeight": None}
    return {"accounts": accounts, "data": base58.encode(data), "programId": program,
            "stackHeight": None}


def _parse(program: str, accounts: list[str], data: bytes) -> tuple[str, Any] | None:
    if program in MEMOS:
        return "spl-memo", data.decode(errors="replace")
    if program == TOKEN:
        return token(accounts, data)
    if program == LOOKUP_TABLE:
        return lookup_table(accounts, data)
    if program == ASSOCIATED and len(accounts) >= 6:
        kind = "createIdempotent" if data[:1] == b"\x01" else "create"
        return "spl-associated-token-account", {"type": kind, "info": {
            "source": accounts[0], "account": accounts[1], "wallet": accounts[2],
            "mint": accounts[3], "systemProgram": accounts[4], "tokenProgram": accounts[5]}}
    if program != SYSTEM or len(data) < 4:
        return None
    tag = struct.unpack_from("<I", data)[0]
    if tag == 2 and len(data) >= 12 and len(accounts) >= 2:
        return "system", {"type": "transfer", "info": {
            "source": accounts[0], "destination": accounts[1],
            "lamports": struct.unpack_from("<Q", data, 4)[0]}}
    if tag == 0 and len(data) >= 52 and len(accounts) >= 2:
        lamports, space = struct.unpack_from("<QQ", data, 4)
        return "system", {"type": "createAccount", "info": {
            "source": accounts[0], "newAccount": accounts[1], "lamports": lamports,
            "space": space, "owner": str(Pubkey(data[20:52]))}}
    return None
