"""Program ids, instruction tags and discriminators, and the addresses a pool's swaps name.

From ../shared/market/wire.md. Addresses are derived as the programs derive them where the
fact sheet gives the seeds (CPMM's config, pool, authority, vaults and observation; DLMM's bin
arrays and event authority; AMM v4's authority); the others (AMM v4 pools and vaults, DLMM pairs,
reserves and oracles) are generated from the pool's id, the same on every run and every machine.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from functools import lru_cache

from solders.pubkey import Pubkey

SYSTEM = Pubkey.from_string("11111111111111111111111111111111")
TOKEN = Pubkey.from_string("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA")
ASSOCIATED_TOKEN = Pubkey.from_string("ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL")
COMPUTE_BUDGET = Pubkey.from_string("ComputeBudget111111111111111111111111111111")
MEMO = Pubkey.from_string("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr")
AMM_V4 = Pubkey.from_string("675kPX9MHTjS2zt1qfr1NYHuzeLXfQM9H24wFSUt1Mp8")
CPMM = Pubkey.from_string("CPMMoo8L3F4NbTegBCKVNunggL7H1ZpdTHKxQB5qKP1C")
DLMM = Pubkey.from_string("LBUZKhRxPF3XUpBCjp4YzTKgLccjZhTSDM9YuVaPwxo")
WSOL = Pubkey.from_string("So11111111111111111111111111111111111111112")
CLOCK_SYSVAR = Pubkey.from_string("SysvarC1ock11111111111111111111111111111111")
SYSVAR = Pubkey.from_string("Sysvar1111111111111111111111111111111111111")

# AMM v4 (not Anchor): one tag byte, then little-endian u64 arguments.
SWAP_BASE_IN_V2, SWAP_BASE_OUT_V2 = 16, 17
# What every AMM v4 binary runs (V2 came in 2025-09): the same swap, naming the pool's market.
SWAP_BASE_IN, SWAP_BASE_OUT = 9, 11
OPENBOOK = Pubkey.from_string("srmqPvymJeFKQ4zGQed1GFppgkRHL9kaELCbyksJtPX")  # AMM v4's market
# Anchor: sha256("global:<name>")[:8], then Borsh arguments.
CPMM_SWAP_BASE_INPUT = bytes([143, 190, 90, 218, 196, 30, 51, 222])
CPMM_SWAP_BASE_OUTPUT = bytes([55, 217, 98, 86, 163, 74, 180, 173])
DLMM_SWAP = bytes([248, 198, 158, 145, 225, 117, 135, 200])
DLMM_SWAP_EXACT_OUT = bytes([250, 73, 101, 33, 38, 207, 75, 184])
# SPL Token and Associated Token Account instruction tags.
TOKEN_CLOSE_ACCOUNT, TOKEN_SYNC_NATIVE = 9, 17
ATA_CREATE_IDEMPOTENT = 1

BINS_PER_ARRAY = 70
CPMM_FEE_TIERS = (2_500, 10_000, 20_000, 40_000)  # trade fee rates over 1e6: config index
# Custom program errors (6000 + index for Anchor programs; AMM v4 uses plain codes).
EXCEEDED_SLIPPAGE = {"amm_v4": 30, "cpmm": 6005, "dlmm": 6003}
# An exact out whose maximum in is too small: the same, but DLMM's own (6104), as its bytecode
# raises it.
EXCEEDED_MAXIMUM_IN = {**EXCEEDED_SLIPPAGE, "dlmm": 6104}
MAXIMUM_IN_NAMES = {"dlmm": "InsufficientInAmount"}
SLIPPAGE_NAMES = {"amm_v4": "ExceededSlippage", "cpmm": "ExceededSlippage",
                  "dlmm": "ExceededAmountSlippageTolerance"}
PROGRAMS = {"amm_v4": AMM_V4, "cpmm": CPMM, "dlmm": DLMM}


def anchor_discriminator(name: str, namespace: str = "global") -> bytes:
    return hashlib.sha256(f"{namespace}:{name}".encode()).digest()[:8]


def generated(pool_id: str, role: str) -> Pubkey:
    """An address with no seeds in the fact sheet: fixed by the pool's id and its role."""
    return Pubkey(hashlib.sha256(f"sim-pool:{pool_id}:{role}".encode()).digest())


@lru_cache(maxsize=65536)
def pda_bump(program: Pubkey, *seeds: bytes) -> tuple[Pubkey, int]:
    """A program-derived address and its bump; remembered, since a pool's accounts are written
    out again at every change and the search hashes up to 255 times."""
    return Pubkey.find_program_address(list(seeds), program)


def pda(program: Pubkey, *seeds: bytes) -> Pubkey:
    return pda_bump(program, *seeds)[0]


@dataclass(frozen=True, slots=True)
class PoolKeys:
    """Every address a swap on this pool names. `mint_a`/`vault_a` are the base (Raydium) or
    X (Meteora) side; `extra` holds the program-specific ones in the program's own words."""

    pool_id: str
    kind: str  # amm_v4, cpmm or dlmm
    program: Pubkey
    address: Pubkey
    mint_a: Pubkey
    mint_b: Pubkey
    vault_a: Pubkey
    vault_b: Pubkey
    authority: Pubkey  # AMM v4 / CPMM authority; DLMM event authority
    config: Pubkey  # CPMM amm_config; DLMM oracle; AMM v4: the pool itself
    observation: Pubkey  # CPMM observation state; DLMM: the program (no bitmap extension)
    # AMM v4: its open orders, market program and market (from AmmInfo), which the legacy
    # swap names; a pool that trades without its order book (status 6) reads none of them.
    market: tuple[Pubkey, Pubkey, Pubkey] | None = None

    def vault(self, mint: Pubkey) -> Pubkey:
        return self.vault_a if mint == self.mint_a else self.vault_b

    def bin_array(self, index: int) -> Pubkey:
        return _bin_array(self.address, index)


def dlmm_pair_address(mint_x: Pubkey, mint_y: Pubkey, bin_step: int) -> tuple[Pubkey, int]:
    """A permissionless DLMM pair's address and bump: [min mint, max mint, bin step (u16 LE)]."""
    low, high = sorted((mint_x, mint_y), key=bytes)
    return pda_bump(DLMM, bytes(low), bytes(high), struct.pack("<H", bin_step))


@lru_cache(maxsize=64)
def preset_parameter_address(bin_step: int, base_factor: int) -> Pubkey:
    """Where DLMM keeps the preset a pair of this bin step and base factor is made from."""
    return pda(DLMM, b"preset_parameter", struct.pack("<H", bin_step),
               struct.pack("<H", base_factor))


@lru_cache(maxsize=4096)
def pool_keys(pool_id: str, kind: str, mint_a: str, mint_b: str, fee_rate: int = 2_500,
              bin_step: int = 0) -> PoolKeys:
    a, b = Pubkey.from_string(mint_a), Pubkey.from_string(mint_b)
    if kind == "amm_v4":
        address = generated(pool_id, "amm")
        authority = pda(AMM_V4, b"amm authority")
        return PoolKeys(pool_id, kind, AMM_V4, address, a, b, generated(pool_id, "coin_vault"),
                        generated(pool_id, "pc_vault"), authority, address, address,
                        (generated(pool_id, "open_orders"), OPENBOOK,
                         generated(pool_id, "market")))
    if kind == "cpmm":
        index = CPMM_FEE_TIERS.index(fee_rate) if fee_rate in CPMM_FEE_TIERS else 0
        config = pda(CPMM, b"amm_config", struct.pack(">H", index))
        token_0, token_1 = sorted((a, b), key=bytes)
        address = pda(CPMM, b"pool", bytes(config), bytes(token_0), bytes(token_1))
        return PoolKeys(pool_id, kind, CPMM, address, a, b,
                        pda(CPMM, b"pool_vault", bytes(address), bytes(a)),
                        pda(CPMM, b"pool_vault", bytes(address), bytes(b)),
                        pda(CPMM, b"vault_and_lp_mint_auth_seed"), config,
                        pda(CPMM, b"observation", bytes(address)))
    if kind == "dlmm":  # as the program derives them: it signs for the pair with its seeds
        pair = dlmm_pair_address(a, b, bin_step)[0]
        return PoolKeys(pool_id, kind, DLMM, pair, a, b,
                        pda(DLMM, bytes(pair), bytes(a)), pda(DLMM, bytes(pair), bytes(b)),
                        pda(DLMM, b"__event_authority"), pda(DLMM, b"oracle", bytes(pair)), DLMM)
    raise ValueError(f"unknown pool program {kind!r}")


@dataclass(frozen=True, slots=True)
class PoolInfo:
    """What building or reading a swap needs to know of a pool: its program, its mints (base
    and quote, or X and Y), its fee tier (CPMM's config) and, for DLMM, the active bin."""

    pool_id: str
    kind: str
    mint_a: str
    mint_b: str
    fee_rate: int = 2_500
    active_bin: int | None = None
    bin_step: int = 0  # DLMM: a part of the pair's address
    read: PoolKeys | None = None  # the addresses as read from the pool's account, if it was

    @property
    def keys(self) -> PoolKeys:
        if self.read is not None:
            return self.read
        return pool_keys(self.pool_id, self.kind, self.mint_a, self.mint_b, self.fee_rate,
                         self.bin_step)

    @property
    def venue(self) -> str:
        return "meteora" if self.kind == "dlmm" else "raydium"


def bin_array_index(bin_id: int) -> int:
    return bin_id // BINS_PER_ARRAY  # floor, also for negative ids


@lru_cache(maxsize=65536)
def associated_token_address(owner: Pubkey, mint: Pubkey) -> Pubkey:
    """The wallet's token account for a mint (a PDA: derived once, then remembered)."""
    return pda(ASSOCIATED_TOKEN, bytes(owner), bytes(TOKEN), bytes(mint))


@lru_cache(maxsize=65536)
def _bin_array(pair: Pubkey, index: int) -> Pubkey:
    return pda(DLMM, b"bin_array", bytes(pair), struct.pack("<q", index))
