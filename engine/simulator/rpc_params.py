"""A JSON-RPC call's parameters checked against the method's own signature, and refused in a
validator's words (its serde's, behind jsonrpc-core's "Invalid params: "), not in the words of
the Python behind it: a client that sends `5` for a signature reads `invalid type: integer
`5`, expected a string.`, not `argument should be a bytes-like object or ASCII string, not
'int'`. Integers are u64, as every count, slot and amount of Solana's JSON-RPC is."""

from __future__ import annotations

import inspect
import math
import types
import typing
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any, NoReturn

from solders.pubkey import Pubkey
from solders.signature import Signature

from engine.domain import base58
from engine.simulator.rpc_configs import CONFIGS, FILTERS
from engine.solana import jsonrpc as codes
from engine.solana.jsonrpc import RpcError

# The methods whose configuration takes a minContextSlot (agave's config structs).
WITH_MIN_CONTEXT_SLOT = frozenset({
    "getAccountInfo", "getBalance", "getBlockHeight", "getEpochInfo", "getFeeForMessage",
    "getInflationReward", "getLatestBlockhash", "getMultipleAccounts", "getProgramAccounts",
    "getSignaturesForAddress", "getSlot", "getSlotLeader", "getStakeActivation",
    "getTokenAccountsByDelegate", "getTokenAccountsByOwner", "getTransactionCount",
    "isBlockhashValid", "sendTransaction", "simulateTransaction"})
COMMITMENTS = ("processed", "confirmed", "finalized")
Checker = Callable[[Any], str | None]  # what is wrong with a value (None: nothing)
EXPECTED = {str: "a string", int: "u64", bool: "a boolean", list: "a sequence", dict: "a map"}


def check(method: str, handler: Callable[..., Any], params: list[Any]) -> None:
    """Raise INVALID_PARAMS unless `params` fit the handler's positional parameters, and its
    configuration object and filter, field by field, the method's (rpc_configs)."""
    least, most, checkers = _signature(getattr(handler, "__func__", handler),
                                       hasattr(handler, "__self__"))
    length(params, least, most)
    for value, checker in zip(params, checkers, strict=False):  # past the named: *args, any
        if (wrong := checker(value)) is not None:
            raise _invalid(wrong)
    for position, shape in (found for found in (CONFIGS.get(method), FILTERS.get(method))
                            if found is not None):
        if len(params) > position and isinstance(params[position], dict) and (
                wrong := _checker(shape)(params[position])) is not None:
            raise _invalid(wrong)


def commitment(params: list[Any]) -> None:
    """A configuration's commitment (or preflightCommitment) is one a validator knows: a typo
    such as "confirm" is refused, not read as the default."""
    for config in (p for p in params if isinstance(p, dict)):
        for key in ("commitment", "preflightCommitment"):
            level = config.get(key)
            if level is None or level in COMMITMENTS:
                continue
            raise unknown_variant(level, COMMITMENTS)


def unknown_variant(value: object, variants: Sequence[str]) -> RpcError:
    """A value of an enum a validator does not know (an encoding, a commitment)."""
    if not isinstance(value, str):
        return _invalid(_unexpected(value, str))
    return _invalid(f"unknown variant `{value}`, expected one of "
                    + ", ".join(f"`{v}`" for v in variants))


def min_context_slot(method: str, params: list[Any]) -> tuple[int, dict[str, Any]] | None:
    """The minContextSlot the call asks for, with its configuration; None if none."""
    if method not in WITH_MIN_CONTEXT_SLOT or not params or not isinstance(params[-1], dict):
        return None
    config = params[-1]
    wanted = config.get("minContextSlot")
    return None if wanted is None else (u64(wanted), config)


def not_reached(slot: int) -> RpcError:
    """What a node answers a call whose minContextSlot is ahead of it (clients try again)."""
    return RpcError(codes.MIN_CONTEXT_SLOT_NOT_REACHED, "Minimum context slot has not been "
                    "reached", {"contextSlot": slot})


def length(params: list[Any], least: int, most: float) -> None:
    """Raise INVALID_PARAMS unless there are `least` to `most` parameters."""
    if not least <= len(params) <= most:
        size = least if len(params) < least else most
        raise _invalid(f"invalid length {len(params)}, expected a tuple of size {size}")


def u64(value: object) -> int:
    """An integer parameter (a slot, a count, lamports): u64, as a validator reads it."""
    if (wrong := _u64(value)) is not None:
        raise _invalid(wrong)
    assert isinstance(value, int)
    return value


def pubkey(text: object) -> Pubkey:
    """An address parameter, refused as a validator refuses one (its `verify_pubkey`)."""
    if isinstance(text, str):
        try:
            return Pubkey.from_string(text)  # solders' parser: a hundred times the pure one's
        except ValueError:
            pass
    _refuse(text, 32, 44)


def signature(text: object) -> str:
    """A signature parameter, refused as a validator refuses one (its `verify_signature`)."""
    if isinstance(text, str):
        try:
            Signature.from_string(text)
            return text
        except ValueError:
            pass
    _refuse(text, 64, 88)


def _refuse(text: object, size: int, longest: int) -> NoReturn:
    """Why `text` is not `size` bytes in base58 of at most `longest` characters, in a
    validator's words: `Invalid param: WrongSize`, or `Invalid` for what is not base58."""
    if not isinstance(text, str):
        raise _invalid(_unexpected(text, str))
    if len(text) > longest:
        raise RpcError(codes.INVALID_PARAMS, "Invalid param: WrongSize")
    try:
        decoded = base58.decode(text)
    except ValueError:
        raise RpcError(codes.INVALID_PARAMS, "Invalid param: Invalid") from None
    reason = "WrongSize" if len(decoded) != size else "Invalid"
    raise RpcError(codes.INVALID_PARAMS, f"Invalid param: {reason}")


def _invalid(said: str) -> RpcError:
    return RpcError(codes.INVALID_PARAMS, f"Invalid params: {said}.")


@lru_cache(maxsize=1024)  # by function, not bound method: no cluster is kept alive by it
def _signature(function: Callable[..., Any],
               bound: bool) -> tuple[int, float, tuple[Checker, ...]]:
    """How many positional parameters the function needs and takes, and a check of each named
    one by its type (none where it says none)."""
    found = list(inspect.signature(function).parameters.values())[bound:]
    positional = [p for p in found if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    most = math.inf if any(p.kind is p.VAR_POSITIONAL for p in found) else len(positional)
    try:
        hints = typing.get_type_hints(function)
    except (NameError, TypeError):  # a hint it cannot evaluate: the method checks for itself
        hints = {}
    return (sum(p.default is p.empty for p in positional), most,
            tuple(_checker(hints.get(p.name, Any)) for p in positional))


@lru_cache(maxsize=256)
def _checker(hint: Any) -> Checker:
    """What is wrong with a value as a `hint` (None: nothing), made once a type: a call pays
    for an isinstance a parameter, not for reading the type again."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any or hint is object:
        return _anything
    if origin in (typing.Union, types.UnionType):
        optional = type(None) in args
        inner = [_checker(arg) for arg in args if arg is not type(None)]

        def either(value: Any) -> str | None:
            if value is None and optional:
                return None
            said = [check(value) for check in inner]
            return None if None in said else said[0]
        return either
    kind = origin or hint
    if kind in (list, Sequence, tuple):
        item = _checker(args[0]) if args else _anything

        def sequence(value: Any) -> str | None:
            if not isinstance(value, list):
                return _unexpected(value, list)
            return next((wrong for x in value if (wrong := item(x)) is not None), None)
        return sequence
    if kind is dict or typing.is_typeddict(kind):
        fields = {key: _checker(field) for key, field in (
            typing.get_type_hints(kind).items() if typing.is_typeddict(kind) else ())}

        def mapping(value: Any) -> str | None:
            if not isinstance(value, dict):
                return _unexpected(value, dict)
            return next((wrong for key, check in fields.items() if value.get(key) is not None
                         and (wrong := check(value[key])) is not None), None)
        return mapping
    if kind is int:
        return _u64
    if kind in (str, bool):
        return lambda value: None if isinstance(value, kind) else _unexpected(value, kind)
    return _anything  # a type JSON has no word for: the method checks for itself


def _anything(value: Any) -> None:
    return None


def _u64(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return _unexpected(value, int)
    return f"invalid value: integer `{value}`, expected u64" if value < 0 else None


def _unexpected(value: Any, wanted: type) -> str:
    if value is None:
        found = "null"
    elif isinstance(value, bool):
        found = f"boolean `{str(value).lower()}`"
    elif isinstance(value, int):
        found = f"integer `{value}`"
    elif isinstance(value, float):
        found = f"floating point `{value}`"
    elif isinstance(value, str):
        found = f'string "{value}"'
    elif isinstance(value, list):
        found = "sequence"
    else:
        found = "map"
    return f"invalid type: {found}, expected {EXPECTED[wanted]}"
