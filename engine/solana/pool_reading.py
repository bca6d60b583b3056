"""Pools read from their accounts, as the engine reads them: the bytes the programs keep, back
into the pool math and the addresses a swap names (`pool_accounts.py` writes them)."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from solders.pubkey import Pubkey

from engine.pools.cpmm import CpPool
from engine.pools.dlmm import DlmmPool, FeeParams
from engine.solana.accounts import (
    AMM_INFO,
    BINS_PER_ARRAY,
    CPMM_CONFIG,
    CPMM_POOL,
    LB_PAIR,
    TOKEN_ACCOUNT,
    bin_array_amounts,
)
from engine.solana.pool_accounts import BITMAP_HALF, LOCKED_LP
from engine.solana.programs import AMM_V4, CPMM, DLMM, PoolInfo, PoolKeys, pda


def related(owner: Pubkey, address: Pubkey, data: bytes) -> list[Pubkey]:
    """The other accounts a pool's quote needs: vaults, CPMM's config, DLMM's bin arrays."""
    if owner == AMM_V4:
        state = AMM_INFO.decode(data)
        return [state["coin_vault"], state["pc_vault"]]
    if owner == CPMM:
        state = CPMM_POOL.decode(data)
        return [state["token_0_vault"], state["token_1_vault"], state["amm_config"]]
    state = _lb_pair(data)
    keys = _dlmm_keys(address, state)
    return [keys.bin_array(index) for index in _arrays(state)]


def read_pool(pool_id: str, owner: Pubkey, address: Pubkey, data: bytes,
              accounts: Mapping[Pubkey, bytes]) -> tuple[CpPool | DlmmPool, PoolInfo, int]:
    """The pool math and the addresses a swap names, from its accounts; and when it opened."""
    if owner == AMM_V4:
        s = AMM_INFO.decode(data)
        if not s["swap_fee_denominator"]:  # the program would divide by it on every swap
            raise ValueError("swap_fee_denominator is 0")
        base, quote = s["coin_vault_mint"], s["pc_vault_mint"]
        coin = _amount(accounts, s["coin_vault"]) - s["need_take_pnl_coin"]
        pc = _amount(accounts, s["pc_vault"]) - s["need_take_pnl_pc"]
        pool = CpPool(pool_id, "amm_v4", str(base), str(quote), coin, pc,
                      s["swap_fee_numerator"], s["swap_fee_denominator"],
                      lp_supply=s["lp_amount"])
        authority = Pubkey.create_program_address([b"amm authority", bytes([s["nonce"]])],
                                                  AMM_V4)
        keys = PoolKeys(pool_id, "amm_v4", AMM_V4, address, base, quote, s["coin_vault"],
                        s["pc_vault"], authority, address, address,
                        (s["open_orders"], s["market_program"], s["market"]))
        return pool, PoolInfo(pool_id, "amm_v4", str(base), str(quote), pool.fee_num,
                              read=keys), s["pool_open_time"]
    if owner == CPMM:
        s = CPMM_POOL.decode(data)
        c = CPMM_CONFIG.decode(accounts[s["amm_config"]])
        r0 = (_amount(accounts, s["token_0_vault"]) - s["protocol_fees_token_0"]
              - s["fund_fees_token_0"] - s["creator_fees_token_0"])
        r1 = (_amount(accounts, s["token_1_vault"]) - s["protocol_fees_token_1"]
              - s["fund_fees_token_1"] - s["creator_fees_token_1"])
        m0, m1 = str(s["token_0_mint"]), str(s["token_1_mint"])
        pool = CpPool(pool_id, "cpmm", m0, m1, r0, r1, c["trade_fee_rate"], 10**6,
                      c["protocol_fee_rate"], c["fund_fee_rate"], s["lp_supply"] + LOCKED_LP)
        keys = PoolKeys(pool_id, "cpmm", CPMM, address, s["token_0_mint"], s["token_1_mint"],
                        s["token_0_vault"], s["token_1_vault"],
                        pda(CPMM, b"vault_and_lp_mint_auth_seed"), s["amm_config"],
                        s["observation_key"])
        return pool, PoolInfo(pool_id, "cpmm", m0, m1, pool.fee_num, read=keys), s["open_time"]
    s = _lb_pair(data)
    bins: dict[int, list[int]] = {}
    keys = _dlmm_keys(address, s)
    for index in _arrays(s):
        array = keys.bin_array(index)
        found = accounts.get(array)
        if found is None:
            continue
        for bin_id, amount_x, amount_y in _held_bins(array, found):
            bins[bin_id] = [amount_x, amount_y]
    fees = FeeParams(s["base_factor"], s["base_fee_power_factor"], s["filter_period"],
                     s["decay_period"], s["reduction_factor"], s["variable_fee_control"],
                     s["max_volatility_accumulator"])
    pair = DlmmPool(pool_id, str(s["token_x_mint"]), str(s["token_y_mint"]), s["bin_step"],
                    s["active_id"], fees, bins, s["volatility_accumulator"],
                    s["volatility_reference"], s["index_reference"], s["last_update_timestamp"])
    return pair, PoolInfo(pool_id, "dlmm", pair.token_x, pair.token_y,
                          active_bin=pair.active_id, bin_step=pair.bin_step, read=keys), \
        s["activation_point"]


def _dlmm_keys(address: Pubkey, s: dict[str, Any]) -> PoolKeys:
    return PoolKeys(str(address), "dlmm", DLMM, address, s["token_x_mint"], s["token_y_mint"],
                    s["reserve_x"], s["reserve_y"], pda(DLMM, b"__event_authority"),
                    s["oracle"], DLMM)


def _arrays(s: dict[str, Any]) -> list[int]:
    """The bin arrays the pair's bitmap says hold liquidity (its set bits, word by word)."""
    found = []
    for word in range(2 * BITMAP_HALF // 64):
        bits = s[f"bin_array_bitmap_{word}"]
        while bits:
            low = bits & -bits
            found.append(word * 64 + low.bit_length() - 1 - BITMAP_HALF)
            bits ^= low
    return found


@lru_cache(maxsize=64)
def _lb_pair(data: bytes) -> dict[str, Any]:
    """An LbPair decoded (read-only): a pair is read twice for each change, for the accounts
    it names and for its state."""
    return LB_PAIR.decode(data)


class _HeldBins:
    """(bin id, amount x, amount y) of a bin array's bins holding anything, remembered for
    each array's latest bytes: a pool's arrays are read again at every change, and most of
    them did not change. One entry an array, its older bytes let go (a cache by the bytes
    alone kept 4,096 of them, 10 KB each, and grew the engine by about 60 MB over its first
    15,000 orders, where only the latest bytes of each array are ever asked for again)."""

    LIMIT = 4_096  # arrays: far more than the pools have; past it, start afresh

    def __init__(self) -> None:
        self._latest: dict[Pubkey, tuple[bytes, tuple[tuple[int, int, int], ...]]] = {}

    def __call__(self, address: Pubkey, data: bytes) -> tuple[tuple[int, int, int], ...]:
        known = self._latest.get(address)
        if known is not None and (known[0] is data or known[0] == data):
            return known[1]
        start, amounts = bin_array_amounts(data)
        first = start * BINS_PER_ARRAY
        held = tuple((first + n, x, y) for n, (x, y) in enumerate(amounts) if x or y)
        if len(self._latest) >= self.LIMIT:
            self._latest.clear()
        self._latest[address] = (data, held)
        return held


_held_bins = _HeldBins()


def _amount(accounts: Mapping[Pubkey, bytes], address: Pubkey) -> int:
    found = accounts.get(address)
    if found is None:
        raise ValueError(f"token account {address} was not read")
    return int(TOKEN_ACCOUNT.decode(found)["amount"])
