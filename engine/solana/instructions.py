"""Instructions in the programs' own layouts: the swaps of the three pool programs, and the
token-account housekeeping around them (wSOL wrap and unwrap, associated token accounts)."""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey

from engine.solana.programs import (
    AMM_V4,
    ASSOCIATED_TOKEN,
    ATA_CREATE_IDEMPOTENT,
    CPMM_SWAP_BASE_INPUT,
    CPMM_SWAP_BASE_OUTPUT,
    DLMM,
    DLMM_SWAP,
    DLMM_SWAP_EXACT_OUT,
    MEMO,
    SWAP_BASE_IN,
    SWAP_BASE_OUT,
    SYSTEM,
    TOKEN,
    TOKEN_CLOSE_ACCOUNT,
    TOKEN_SYNC_NATIVE,
    PoolKeys,
    associated_token_address,
)


@dataclass(frozen=True, slots=True)
class Swap:
    """One swap instruction's meaning: exact in (`amount` in, at least `threshold` out) or
    exact out (exactly `amount` out, at most `threshold` in)."""

    keys: PoolKeys
    mint_in: Pubkey
    mint_out: Pubkey
    amount: int
    threshold: int
    exact_out: bool
    bin_arrays: tuple[int, ...] = ()  # DLMM: the arrays the swap may cross, in swap order


def _w(key: Pubkey) -> AccountMeta:
    return AccountMeta(key, is_signer=False, is_writable=True)


def _r(key: Pubkey) -> AccountMeta:
    return AccountMeta(key, is_signer=False, is_writable=False)


def swap(s: Swap, owner: Pubkey) -> Instruction:
    source = associated_token_address(owner, s.mint_in)
    destination = associated_token_address(owner, s.mint_out)
    k, signer = s.keys, AccountMeta(owner, is_signer=True, is_writable=False)
    args = (s.threshold, s.amount) if s.exact_out else (s.amount, s.threshold)
    if k.kind == "amm_v4":
        return _amm_v4_swap(s, args, source, destination, signer)
    if k.kind == "cpmm":
        discriminator = CPMM_SWAP_BASE_OUTPUT if s.exact_out else CPMM_SWAP_BASE_INPUT
        payer = AccountMeta(owner, is_signer=True, is_writable=True)
        return Instruction(k.program, discriminator + struct.pack("<QQ", *args), [
            payer, _r(k.authority), _r(k.config), _w(k.address), _w(source), _w(destination),
            _w(k.vault(s.mint_in)), _w(k.vault(s.mint_out)), _r(TOKEN), _r(TOKEN),
            _r(s.mint_in), _r(s.mint_out), _w(k.observation)])
    discriminator = DLMM_SWAP_EXACT_OUT if s.exact_out else DLMM_SWAP
    return Instruction(DLMM, discriminator + struct.pack("<QQ", *args), [
        _w(k.address), _r(DLMM), _w(k.vault_a), _w(k.vault_b), _w(source), _w(destination),
        _r(k.mint_a), _r(k.mint_b), _w(k.config), _r(DLMM), signer, _r(TOKEN), _r(TOKEN),
        _r(k.authority), _r(DLMM), *(_w(k.bin_array(i)) for i in s.bin_arrays)])


def _amm_v4_swap(s: Swap, args: tuple[int, int], source: Pubkey, destination: Pubkey,
                 signer: AccountMeta) -> Instruction:
    """The legacy SwapBaseIn / SwapBaseOut (tags 9 and 11), which every AMM v4 binary runs:
    17 accounts, the market's among them. The order book's own accounts (bids, asks, event
    queue, its vaults and signer) are named by the market's address: a pool trading without
    its order book (status 6) checks none of them, and a transaction names it only once."""
    k = s.keys
    assert k.market is not None, "an AMM v4 pool's market accounts come from its AmmInfo"
    open_orders, market_program, market = k.market
    tag = bytes([SWAP_BASE_OUT if s.exact_out else SWAP_BASE_IN])
    return Instruction(AMM_V4, tag + struct.pack("<QQ", *args), [
        _r(TOKEN), _w(k.address), _r(k.authority), _w(open_orders), _w(k.vault_a),
        _w(k.vault_b), _r(market_program), _w(market), *(_w(market) for _ in range(5)),
        _r(market), _w(source), _w(destination), signer])


def create_ata_idempotent(payer: Pubkey, owner: Pubkey, mint: Pubkey) -> Instruction:
    return Instruction(ASSOCIATED_TOKEN, bytes([ATA_CREATE_IDEMPOTENT]), [
        AccountMeta(payer, is_signer=True, is_writable=True),
        _w(associated_token_address(owner, mint)), _r(owner), _r(mint), _r(SYSTEM), _r(TOKEN)])


def sync_native(account: Pubkey) -> Instruction:
    return Instruction(TOKEN, bytes([TOKEN_SYNC_NATIVE]), [_w(account)])


def close_account(account: Pubkey, destination: Pubkey, owner: Pubkey) -> Instruction:
    return Instruction(TOKEN, bytes([TOKEN_CLOSE_ACCOUNT]), [
        _w(account), _w(destination), AccountMeta(owner, is_signer=True, is_writable=False)])


def memo(text: str) -> Instruction:
    return Instruction(MEMO, text.encode(), [])


def writable(instructions: Sequence[Instruction]) -> list[Pubkey]:
    """The writable accounts, as getRecentPrioritizationFees takes them (at most 128)."""
    seen = dict.fromkeys(m.pubkey for ix in instructions for m in ix.accounts if m.is_writable)
    return list(seen)[:128]
