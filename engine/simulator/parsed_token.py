"""SPL Token's and the Address Lookup Table program's instructions in `jsonParsed`, as a node's
parser gives them: every SPL Token instruction of the original program (multisig authorities
with their signers), and every lookup-table instruction."""

from __future__ import annotations

import struct
from decimal import Decimal
from typing import Any

from solders.pubkey import Pubkey

# By tag: (type, the accounts' names in order, what the data holds after the tag). The last
# name of an instruction that an authority signs is that authority: with more accounts than
# names, it is a multisig and the rest are its signers.
TOKEN_INSTRUCTIONS: dict[int, tuple[str, tuple[str, ...], str]] = {
    0: ("initializeMint", ("mint", "rentSysvar"), "mint"),
    1: ("initializeAccount", ("account", "mint", "owner", "rentSysvar"), ""),
    2: ("initializeMultisig", ("multisig", "rentSysvar"), "m"),
    3: ("transfer", ("source", "destination", "authority"), "amount"),
    4: ("approve", ("source", "delegate", "owner"), "amount"),
    5: ("revoke", ("source", "owner"), ""),
    6: ("setAuthority", ("target", "authority"), "authority"),
    7: ("mintTo", ("mint", "account", "mintAuthority"), "amount"),
    8: ("burn", ("account", "mint", "authority"), "amount"),
    9: ("closeAccount", ("account", "destination", "owner"), ""),
    10: ("freezeAccount", ("account", "mint", "freezeAuthority"), ""),
    11: ("thawAccount", ("account", "mint", "freezeAuthority"), ""),
    12: ("transferChecked", ("source", "mint", "destination", "authority"), "checked"),
    13: ("approveChecked", ("source", "mint", "delegate", "owner"), "checked"),
    14: ("mintToChecked", ("mint", "account", "mintAuthority"), "checked"),
    15: ("burnChecked", ("account", "mint", "authority"), "checked"),
    16: ("initializeAccount2", ("account", "mint", "rentSysvar"), "owner"),
    17: ("syncNative", ("account",), ""),
    18: ("initializeAccount3", ("account", "mint"), "owner"),
    19: ("initializeMultisig2", ("multisig",), "m"),
    20: ("initializeMint2", ("mint",), "mint"),
    21: ("getAccountDataSize", ("mint",), "sizes"),
    22: ("initializeImmutableOwner", ("account",), ""),
    23: ("amountToUiAmount", ("mint",), "amount"),
    24: ("uiAmountToAmount", ("mint",), "text"),
}
SIGNED = {3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}  # the last named account signs
AUTHORITY_TYPES = ("mintTokens", "freezeAccount", "accountOwner", "closeAccount")
LOOKUP_TABLE_TYPES = ("createLookupTable", "freezeLookupTable", "extendLookupTable",
                      "deactivateLookupTable", "closeLookupTable")


def token(accounts: list[str], data: bytes) -> tuple[str, Any] | None:
    known = TOKEN_INSTRUCTIONS.get(data[0]) if data else None
    if known is None:
        return None
    kind, names, tail = known
    if len(accounts) < len(names):
        return None
    info: dict[str, Any] = dict(zip(names, accounts, strict=False))
    extra = accounts[len(names):]
    if data[0] in SIGNED and extra:  # a multisig authority, and who signed for it
        last = names[-1]
        info[f"multisig{last[0].upper()}{last[1:]}"] = info.pop(last)
        info["signers"] = extra
    elif kind.startswith("initializeMultisig"):
        info["signers"] = extra
    try:
        info |= _tail(tail, data)
    except struct.error:
        return None
    if kind == "setAuthority":  # the target is a mint or an account, by the authority's kind
        target = info.pop("target")
        info["mint" if info["authorityType"] in AUTHORITY_TYPES[:2] else "account"] = target
    return "spl-token", {"type": kind, "info": info}


def _tail(tail: str, data: bytes) -> dict[str, Any]:
    if tail == "amount":
        return {"amount": str(struct.unpack_from("<Q", data, 1)[0])}
    if tail == "checked":
        amount, decimals = struct.unpack_from("<QB", data, 1)
        return {"tokenAmount": ui_amount(amount, decimals)}
    if tail == "mint":  # decimals, the mint authority, then an optional freeze authority
        decimals = data[1]
        authority = str(Pubkey.from_bytes(data[2:34]))
        out: dict[str, Any] = {"decimals": decimals, "mintAuthority": authority}
        if len(data) >= 67 and data[34] == 1:
            out["freezeAuthority"] = str(Pubkey.from_bytes(data[35:67]))
        return out
    if tail == "m":
        return {"m": data[1]}
    if tail == "owner":
        return {"owner": str(Pubkey.from_bytes(data[1:33]))}
    if tail == "authority":
        kind = AUTHORITY_TYPES[data[1]] if data[1] < len(AUTHORITY_TYPES) else str(data[1])
        new = str(Pubkey.from_bytes(data[3:35])) if data[2] == 1 else None
        return {"authorityType": kind, "newAuthority": new}
    if tail == "sizes":
        return {"extensionTypes": []}
    if tail == "text":
        return {"uiAmount": data[1:].decode(errors="replace")}
    return {}


def lookup_table(accounts: list[str], data: bytes) -> tuple[str, Any] | None:
    """The Address Lookup Table program's instructions (a u32 tag, bincode arguments)."""
    if len(data) < 4 or len(accounts) < 2:
        return None
    tag = struct.unpack_from("<I", data)[0]
    if tag >= len(LOOKUP_TABLE_TYPES):
        return None
    info: dict[str, Any] = {"lookupTableAccount": accounts[0],
                            "lookupTableAuthority": accounts[1]}
    try:
        if tag == 0 and len(accounts) >= 4:
            slot, bump = struct.unpack_from("<QB", data, 4)
            info |= {"payerAccount": accounts[2], "systemProgram": accounts[3],
                     "recentSlot": slot, "bumpSeed": bump}
        elif tag == 2:
            count = struct.unpack_from("<Q", data, 4)[0]
            if len(data) < 12 + 32 * count:
                return None
            if len(accounts) >= 4:
                info |= {"payerAccount": accounts[2], "systemProgram": accounts[3]}
            info["newAddresses"] = [str(Pubkey.from_bytes(data[12 + 32 * n:44 + 32 * n]))
                                    for n in range(count)]
        elif tag == 4 and len(accounts) >= 3:
            info["recipient"] = accounts[2]
        elif tag == 0:
            return None
    except struct.error:
        return None
    return "address-lookup-table", {"type": LOOKUP_TABLE_TYPES[tag], "info": info}


def ui_amount(atoms: int, places: int) -> dict[str, Any]:
    """A token amount as a node's jsonParsed gives it (`uiTokenAmount`, `tokenAmount`)."""
    text = format(Decimal(atoms).scaleb(-places), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return {"amount": str(atoms), "decimals": places, "uiAmount": atoms / 10**places,
            "uiAmountString": text}
