"""Accounts as a node encodes them: base58 (the default), base64, jsonParsed for SPL Token
accounts and mints (other accounts fall back to base64, as a node's do), and `dataSlice`."""

from __future__ import annotations

import base64
import struct
from typing import Any

import zstandard
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction

from engine.domain import base58
from engine.domain.tokens import lookup
from engine.simulator import rpc_params
from engine.simulator.parsed import parsed_inner, parsed_message, table_lookups
from engine.simulator.parsed_token import ui_amount
from engine.solana import jsonrpc as codes
from engine.solana.accounts import TOKEN_ACCOUNT
from engine.solana.jsonrpc import RpcError
from engine.solana.pool_accounts import Account
from engine.solana.programs import TOKEN

ENCODINGS = ("base58", "base64", "base64+zstd", "jsonParsed")
BASE58_LIMIT = 128  # bytes a node will write in base58
RENT_EPOCH = 18446744073709551615


def encoding_of(config: dict[str, Any] | None, default: str = "base58") -> str:
    if config is not None and not isinstance(config, dict):
        raise RpcError(codes.INVALID_PARAMS, "Invalid params: the configuration is an object")
    encoding = (config or {}).get("encoding")
    encoding = default if encoding is None else encoding  # absent, or null: serde's None
    if encoding not in ENCODINGS:
        raise rpc_params.unknown_variant(encoding, ENCODINGS)
    return str(encoding)


def encode_account(found: Account | None, config: dict[str, Any] | None,
                   default: str = "base58") -> dict[str, Any] | None:
    if found is None:
        return None
    encoding = encoding_of(config, default)
    data: Any = None
    if encoding == "jsonParsed":
        data = _parsed(found)
        if data is None:
            encoding = "base64"
    if data is None:
        data = _binary(_sliced(found.data, config), encoding)
    return {"data": data, "executable": found.executable, "lamports": found.lamports,
            "owner": str(found.owner), "rentEpoch": RENT_EPOCH, "space": len(found.data)}


def _sliced(data: bytes, config: dict[str, Any] | None) -> bytes:
    window = (config or {}).get("dataSlice")
    if window is None:
        return data
    try:
        offset, length = int(window["offset"]), int(window["length"])
    except (TypeError, KeyError, ValueError):
        raise RpcError(codes.INVALID_PARAMS, "Invalid params: dataSlice is {offset, length}") \
            from None
    if offset < 0 or length < 0:
        raise RpcError(codes.INVALID_PARAMS, "Invalid params: dataSlice is not negative")
    return data[offset:offset + length]


def _binary(data: bytes, encoding: str) -> list[str]:
    if encoding == "base58":
        if len(data) > BASE58_LIMIT:
            raise RpcError(codes.INVALID_PARAMS, "Encoded binary (base 58) data should be less "
                                                 "than 128 bytes, please use Base64 encoding.")
        return [base58.encode(data), "base58"]
    if encoding == "base64+zstd":
        return [base64.b64encode(zstandard.ZstdCompressor().compress(data)).decode(),
                "base64+zstd"]
    return [base64.b64encode(data).decode(), "base64"]


def _parsed(found: Account) -> dict[str, Any] | None:
    """SPL Token's accounts and mints as a node's jsonParsed gives them; None for others."""
    if found.owner != TOKEN:
        return None
    if len(found.data) == 165:
        held = TOKEN_ACCOUNT.decode(found.data)
        token = lookup(str(held["mint"]))
        places = token.decimals if token else 6
        native = bool(held["is_native_tag"])
        return {"program": "spl-token", "space": 165, "parsed": {"type": "account", "info": {
            "mint": str(held["mint"]), "owner": str(held["owner"]),
            "state": "initialized" if held["state"] == 1 else "frozen", "isNative": native,
            "tokenAmount": ui_amount(int(held["amount"]), places)}}}
    if len(found.data) == 82:
        tag, authority, supply, decimals, initialised, freeze_tag, freeze = struct.unpack(
            "<I32sQBBI32s", found.data)
        return {"program": "spl-token", "space": 82, "parsed": {"type": "mint", "info": {
            "mintAuthority": base58.encode(authority) if tag else None,
            "supply": str(supply), "decimals": decimals, "isInitialized": bool(initialised),
            "freezeAuthority": base58.encode(freeze) if freeze_tag else None}}}
    return None


TRANSACTION_ENCODINGS = ("json", "jsonParsed", "base58", "base64")
UNSUPPORTED_VERSION = -32015


def current_form(config: dict[str, Any] | str | None) -> dict[str, Any]:
    """getTransaction's and getBlock's configuration in its current form: the deprecated bare
    encoding ("json") is {"encoding": "json"}, as agave's RpcEncodingConfigWrapper reads it."""
    if isinstance(config, str):
        return {"encoding": config}
    return config if isinstance(config, dict) else {}


def transaction_encoding(config: dict[str, Any] | None) -> str:
    encoding = (config or {}).get("encoding") or "json"
    if encoding not in TRANSACTION_ENCODINGS:
        raise rpc_params.unknown_variant(encoding, TRANSACTION_ENCODINGS)
    return str(encoding)


def encode_transaction(payload: str, config: dict[str, Any] | None,
                       loaded: dict[str, list[str]] | None = None) -> tuple[Any, Any]:
    """(`transaction`, `version`) as getTransaction and getBlock give them: the signed bytes in
    base64 or base58, or the message as JSON, or parsed (`engine.simulator.parsed`, which lists
    the `loaded` addresses too). A v0 transaction for a client that did not say it reads them
    is -32015, as a node answers."""
    raw = base64.b64decode(payload)
    tx = VersionedTransaction.from_bytes(raw)
    message = tx.message
    version: Any = 0 if isinstance(message, MessageV0) else "legacy"
    supported = (config or {}).get("maxSupportedTransactionVersion")
    if version == 0 and supported is None:
        raise RpcError(UNSUPPORTED_VERSION, "Transaction version (0) is not supported by the "
                                            "requesting client. Please try the request again "
                                            "with the following configuration parameter: "
                                            '"maxSupportedTransactionVersion": 0')
    encoding = transaction_encoding(config)
    if encoding == "base64":
        return [payload, "base64"], version
    if encoding == "base58":
        return [base58.encode(raw), "base58"], version
    signatures = [str(s) for s in tx.signatures]
    if encoding == "jsonParsed":
        return {"signatures": signatures, "message": parsed_message(message, loaded)}, version
    header = message.header
    body: dict[str, Any] = {
        "accountKeys": [str(k) for k in message.account_keys],
        "header": {"numRequiredSignatures": header.num_required_signatures,
                   "numReadonlySignedAccounts": header.num_readonly_signed_accounts,
                   "numReadonlyUnsignedAccounts": header.num_readonly_unsigned_accounts},
        "recentBlockhash": str(message.recent_blockhash),
        "instructions": [{"programIdIndex": ix.program_id_index,
                          "accounts": list(bytes(ix.accounts)),
                          "data": base58.encode(bytes(ix.data)), "stackHeight": None}
                         for ix in message.instructions]}
    if isinstance(message, MessageV0):
        body["addressTableLookups"] = table_lookups(message)
    return {"signatures": signatures, "message": body}, version


def passes_filter(data: bytes, rule: dict[str, Any]) -> bool:
    """getProgramAccounts' and programSubscribe's filters: dataSize, or memcmp with its bytes
    in base58 (the default) or base64."""
    if "dataSize" in rule:
        return len(data) == int(rule["dataSize"])
    memcmp = rule["memcmp"]
    wanted = (base64.b64decode(memcmp["bytes"]) if memcmp.get("encoding") == "base64"
              else base58.decode(memcmp["bytes"]))
    offset = int(memcmp["offset"])
    return data[offset:offset + len(wanted)] == wanted


MAX_ACCOUNTS = 100  # accounts one request may name (getMultipleAccounts, a simulation's)


UI_TRANSACTION_ENCODINGS = ("binary", "base64", "base58", "json", "jsonParsed")  # serde's order
MAX_BASE58_SIZE = 1683  # a packet's 1,232 bytes in base58: agave decodes no longer a string
_BASE58 = frozenset(base58.ALPHABET)


def wire_transaction(data: str, config: dict[str, Any] | None) -> str:
    """sendTransaction's and simulateTransaction's signed bytes, as base64 whatever they came
    in: base58 (a node's default, the documentation's examples) or base64 (what clients send);
    any other encoding, or a string that is not base58, refused in agave's words."""
    encoding = config.get("encoding") if isinstance(config, dict) else None
    encoding = "base58" if encoding is None else encoding  # null is serde's None
    if encoding == "base64":
        return data
    if encoding not in UI_TRANSACTION_ENCODINGS:
        raise rpc_params.unknown_variant(encoding, UI_TRANSACTION_ENCODINGS)
    if encoding not in ("base58", "binary"):  # binary: the old name of base58
        raise RpcError(codes.INVALID_PARAMS, f"unsupported encoding: {encoding}. Supported "
                                             "encodings: base58, base64")
    if len(data) > MAX_BASE58_SIZE:
        raise RpcError(codes.INVALID_PARAMS, f"base58 encoded solana_transaction::versioned::"
                                             f"VersionedTransaction too large: {len(data)} bytes "
                                             f"(max: encoded/raw {MAX_BASE58_SIZE}/1232)")
    if (bad := next(((i, c) for i, c in enumerate(data) if c not in _BASE58), None)):
        raise RpcError(codes.INVALID_PARAMS, "invalid base58 encoding: InvalidCharacter { "
                                             f"character: '{bad[1]}', index: {bad[0]} }}")
    return base64.b64encode(base58.decode(data)).decode()


def transaction_json(payload: str, meta: dict[str, Any],
                     config: dict[str, Any] | None) -> dict[str, Any]:
    """A landed transaction and its meta, as getTransaction and getBlock give them."""
    loaded = meta.get("loadedAddresses", {"writable": [], "readonly": []})
    transaction, version = encode_transaction(payload, config, loaded)
    inner = meta.get("innerInstructions", [])
    if (config or {}).get("encoding") == "jsonParsed" and inner:
        keys = VersionedTransaction.from_bytes(base64.b64decode(payload)).message.account_keys
        inner = parsed_inner(inner, [*keys, *(Pubkey.from_string(k) for k in (
            *loaded["writable"], *loaded["readonly"]))])
    return {"version": version, "transaction": transaction, "meta": {
        **meta, "status": {"Ok": None} if meta["err"] is None else {"Err": meta["err"]},
        "innerInstructions": inner, "rewards": [],
        "loadedAddresses": loaded}}
