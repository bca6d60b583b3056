"""Bitcoin-alphabet base58, as Solana uses for keys and signatures."""

from __future__ import annotations

ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_INDEX = {c: i for i, c in enumerate(ALPHABET)}


_PAIRS = [high + low for high in ALPHABET for low in ALPHABET]  # two digits: 58 * high + low
_TEN_DIGITS = 58**10


def encode(data: bytes) -> str:
    # Ten digits per division of the big number, two per small one: a long input (an inner
    # instruction's data) costs a tenth of the big-number divisions of one digit at a time.
    n = int.from_bytes(data, "big")
    pairs = []
    while n:
        n, ten = divmod(n, _TEN_DIGITS)
        for _ in range(5):
            ten, pair = divmod(ten, 58 * 58)
            pairs.append(_PAIRS[pair])
    pad = len(data) - len(data.lstrip(b"\0"))
    return "1" * pad + "".join(reversed(pairs)).lstrip("1")


def decode(text: str) -> bytes:
    """Raise ValueError on a character outside the alphabet."""
    n = 0
    for c in text:
        if c not in _INDEX:
            raise ValueError(f"invalid base58 character {c!r}")
        n = n * 58 + _INDEX[c]
    pad = len(text) - len(text.lstrip("1"))
    body = n.to_bytes((n.bit_length() + 7) // 8, "big") if n else b""
    return b"\0" * pad + body


def is_public_key(text: str) -> bool:
    """True for a base58 string that decodes to exactly 32 bytes."""
    try:
        return 32 <= len(text) <= 44 and len(decode(text)) == 32
    except ValueError:
        return False
