"""Base58 as Solana (and Bitcoin) writes it: known vectors, leading zeros, and every key and
signature as solders writes them."""

from __future__ import annotations

import random

import pytest
from solders.keypair import Keypair
from solders.signature import Signature

from engine.domain import base58

VECTORS = [(b"", ""), (b"\0", "1"), (b"\0\0\x01", "112"), (b"a", "2g"),
           (b"Hello World!", "2NEpo7TZRRrLZSi2U"),
           (b"The quick brown fox jumps over the lazy dog",
            "7DdiPPYtxLjCD3wA1po2rvZHTDYjkZYiEtazrfiwJcwnKCizhGFhBGHeRdx"),
           (bytes.fromhex("0000287fb4cd"), "11233QC4")]


@pytest.mark.parametrize(("data", "text"), VECTORS)
def test_known_vectors_encode_and_decode(data: bytes, text: str) -> None:
    assert base58.encode(data) == text
    assert base58.decode(text) == data


def test_keys_and_signatures_are_written_as_solders_writes_them() -> None:
    rng = random.Random(58)
    for _ in range(200):
        key = Keypair.from_seed(rng.randbytes(32))
        signature = Signature.from_bytes(rng.randbytes(64))
        assert base58.encode(bytes(key.pubkey())) == str(key.pubkey())
        assert base58.encode(bytes(signature)) == str(signature)


def test_any_bytes_round_trip_whatever_their_length_and_leading_zeros() -> None:
    rng = random.Random(7)
    for length in range(0, 300, 7):
        for zeros in (0, 1, 3):
            data = b"\0" * zeros + rng.randbytes(length)
            assert base58.decode(base58.encode(data)) == data


def test_a_character_outside_the_alphabet_is_refused() -> None:
    with pytest.raises(ValueError, match="invalid base58 character"):
        base58.decode("0OIl")
