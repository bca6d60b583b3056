"""Pools as accounts: the simulated cluster writes its pools' state in the programs' layouts,
as the programs would have written it (`pool_reading.py` is the other way)."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from functools import lru_cache

from solders.pubkey import Pubkey

from engine.domain.tokens import LAUNCH_DECIMALS, lookup
from engine.pools.cpmm import CpPool
from engine.pools.dlmm import DlmmPool, FeeParams, bin_price_q64
from engine.solana.accounts import (
    AMM_INFO,
    BINS_PER_ARRAY,
    CPMM_CONFIG,
    CPMM_POOL,
    LB_PAIR,
    PRESET_PARAMETER,
    TOKEN_ACCOUNT,
    encode_bin_array,
    mint,
    observation_state,
    oracle_state,
)
from engine.solana.programs import (
    AMM_V4,
    CPMM,
    CPMM_FEE_TIERS,
    DLMM,
    TOKEN,
    PoolInfo,
    PoolKeys,
    bin_array_index,
    dlmm_pair_address,
    pda,
    pda_bump,
    preset_parameter_address,
)

LOCKED_LP = 100  # LP tokens CPMM's initialize keeps from the first depositor, for ever
# Who created the pools and owns the configs' fees (no one's key: the cluster made them).
POOL_CREATOR = Pubkey.find_program_address([b"pool creator"], CPMM)[0]
BITMAP_HALF = 512  # LbPair's own bitmap covers bin arrays -512..511
MAX_BIN_ID = 351_639  # over the bin step: the widest bin ids a pair may use (price in range)
PROTOCOL_SHARE = 1_000  # of each DLMM fee, in basis points (the fact sheet)


def rent_exempt(size: int) -> int:
    """The lamports that keep an account of `size` bytes alive: two years of rent, as the
    runtime's default Rent sysvar asks (3,480 lamports a byte-year, 128 bytes of overhead)."""
    return (128 + size) * 3_480 * 2


@dataclass(frozen=True, slots=True)
class Account:
    owner: Pubkey
    data: bytes
    lamports: int = -1  # -1: rent-exempt for the data's size
    executable: bool = False  # a program's account

    def __post_init__(self) -> None:
        if self.lamports < 0:
            object.__setattr__(self, "lamports", rent_exempt(len(self.data)))


def _decimals(mint: str) -> int:
    token = lookup(mint)
    return token.decimals if token else LAUNCH_DECIMALS


def token_account(mint: Pubkey, owner: Pubkey, amount: int) -> Account:
    return Account(TOKEN, TOKEN_ACCOUNT.encode({"mint": mint, "owner": owner, "amount": amount,
                                                "state": 1}))


# -- the cluster's side: state -> accounts ---------------------------------------------------
def encode_pool(info: PoolInfo, pool: CpPool | DlmmPool, opened: int) -> dict[Pubkey, Account]:
    """Every account of one pool: its state, its vaults (and CPMM's config, DLMM's bin arrays).
    `opened` is when it became tradable (a slot for DLMM, unix seconds for Raydium)."""
    k = info.keys
    if isinstance(pool, CpPool):
        a, b = pool.reserve_base, pool.reserve_quote
        vaults = {k.vault_a: token_account(k.mint_a, k.authority, a),
                  k.vault_b: token_account(k.mint_b, k.authority, b)}
        if pool.program == "amm_v4":
            state = _amm_info(k, pool, opened)
            return {k.address: Account(AMM_V4, state), **vaults}
        return _encode_cpmm(k, pool, opened, vaults)
    return _encode_dlmm(k, pool, opened)


def _amm_info(k: PoolKeys, pool: CpPool, opened: int) -> bytes:
    """AmmInfo as `initialize2` and the admin leave a pool that trades without its order book
    (status 6): the fee, PnL and decimal parameters mainnet pools carry."""
    nonce = pda_bump(AMM_V4, b"amm authority")[1]
    assert k.market is not None
    open_orders, market_program, market = k.market
    coin, pc = _decimals(pool.base), _decimals(pool.quote)
    return AMM_INFO.encode({
        "status": 6, "nonce": nonce, "order_num": 7, "depth": 3, "coin_decimals": coin,
        "pc_decimals": pc, "state": 1, "min_size": 1, "vol_max_cut_ratio": 500,
        "amount_wave": 500_000, "coin_lot_size": 1, "pc_lot_size": 1,
        "min_price_multiplier": 1, "max_price_multiplier": 1_000_000_000,
        "sys_decimal_value": 10 ** max(coin, pc), "min_separate_numerator": 5,
        "min_separate_denominator": 10_000, "trade_fee_numerator": pool.fee_num,
        "trade_fee_denominator": pool.fee_den, "pnl_numerator": 12, "pnl_denominator": 100,
        "swap_fee_numerator": pool.fee_num, "swap_fee_denominator": pool.fee_den,
        "pool_open_time": opened, "coin_vault": k.vault_a, "pc_vault": k.vault_b,
        "coin_vault_mint": k.mint_a, "pc_vault_mint": k.mint_b,
        "lp_mint": pda(AMM_V4, bytes(k.address), b"lp_mint_associated_seed"),
        "open_orders": open_orders, "market": market, "market_program": market_program,
        "target_orders": pda(AMM_V4, bytes(k.address), b"target_associated_seed"),
        "amm_owner": POOL_CREATOR,
        "lp_amount": pool.lp_supply})


def _encode_cpmm(k: PoolKeys, pool: CpPool, opened: int,
                 vaults: dict[Pubkey, Account]) -> dict[Pubkey, Account]:
    """PoolState, AmmConfig, the LP mint and the observation, as `initialize` and
    `create_amm_config` leave them: LP supply sqrt(x·y) less the 100 the program locks."""
    token_0, token_1 = sorted((k.mint_a, k.mint_b), key=bytes)
    lp_mint = pda(CPMM, b"pool_lp_mint", bytes(k.address))
    authority, auth_bump = pda_bump(CPMM, b"vault_and_lp_mint_auth_seed")
    lp_supply = max(pool.lp_supply - LOCKED_LP, 0)
    index = CPMM_FEE_TIERS.index(pool.fee_num) if pool.fee_num in CPMM_FEE_TIERS else 0
    state = CPMM_POOL.encode({
        "amm_config": k.config, "pool_creator": POOL_CREATOR,
        "token_0_vault": k.vault(token_0), "token_1_vault": k.vault(token_1), "lp_mint": lp_mint,
        "token_0_mint": token_0, "token_1_mint": token_1, "token_0_program": TOKEN,
        "token_1_program": TOKEN, "observation_key": k.observation, "auth_bump": auth_bump,
        "lp_mint_decimals": 9, "mint_0_decimals": _decimals(str(token_0)),
        "mint_1_decimals": _decimals(str(token_1)), "lp_supply": lp_supply,
        "open_time": opened})
    config = CPMM_CONFIG.encode({
        "bump": pda_bump(CPMM, b"amm_config", struct.pack(">H", index))[1],
        "index": index, "trade_fee_rate": pool.fee_num, "protocol_fee_rate": pool.protocol_rate,
        "fund_fee_rate": pool.fund_rate, "create_pool_fee": 150_000_000,
        "protocol_owner": POOL_CREATOR, "fund_owner": POOL_CREATOR})
    return {k.address: Account(CPMM, state), k.config: Account(CPMM, config),
            k.observation: Account(CPMM, observation_state(k.address)),
            lp_mint: Account(TOKEN, mint(authority, lp_supply, 9)), **vaults}


def _encode_dlmm(k: PoolKeys, pool: DlmmPool, opened: int) -> dict[Pubkey, Account]:
    arrays: dict[int, dict[int, list[int]]] = {}
    for bin_id, amounts in pool.bins.items():
        arrays.setdefault(bin_array_index(bin_id), {})[bin_id] = amounts
    bitmap = [0] * 16
    for index in arrays:
        if -BITMAP_HALF <= index < BITMAP_HALF:
            bit = index + BITMAP_HALF
            bitmap[bit // 64] |= 1 << (bit % 64)
    f = pool.fees
    state = LB_PAIR.encode({
        "base_factor": f.base_factor, "filter_period": f.filter_period,
        "decay_period": f.decay_period, "reduction_factor": f.reduction_factor,
        "variable_fee_control": f.variable_fee_control,
        "max_volatility_accumulator": f.max_volatility_accumulator,
        "min_bin_id": -(MAX_BIN_ID // pool.bin_step), "max_bin_id": MAX_BIN_ID // pool.bin_step,
        "protocol_share": PROTOCOL_SHARE, "bump_seed": dlmm_pair_address(
            k.mint_a, k.mint_b, pool.bin_step)[1],
        "base_fee_power_factor": f.power_factor,
        "volatility_accumulator": pool.volatility_accumulator,
        "volatility_reference": pool.volatility_reference,
        "index_reference": pool.index_reference, "last_update_timestamp": pool.last_update,
        "active_id": pool.active_id, "bin_step": pool.bin_step, "bin_step_seed": pool.bin_step,
        "token_x_mint": k.mint_a, "token_y_mint": k.mint_b, "reserve_x": k.vault_a,
        "reserve_y": k.vault_b, "oracle": k.config, "activation_point": opened,
        **{f"bin_array_bitmap_{n}": word for n, word in enumerate(bitmap)}})
    accounts = {k.address: Account(DLMM, state), k.config: _ORACLE,
                **_preset(pool.bin_step, f),
                k.vault_a: token_account(k.mint_a, k.address, sum(x for x, _ in pool.bins.values())),
                k.vault_b: token_account(k.mint_b, k.address, sum(y for _, y in pool.bins.values()))}
    for index, bins in arrays.items():
        first = index * BINS_PER_ARRAY
        held: tuple[tuple[int, int], ...] = tuple(
            (b[0], b[1]) if (b := bins.get(first + n)) else (0, 0) for n in range(BINS_PER_ARRAY))
        key = (k.address, index, pool.bin_step)
        cached = _ARRAYS.get(key)
        if cached is None or cached[0] != held:  # a swap changed this array's bins
            data = encode_bin_array(index, k.address, [
                (x, y, bin_price_q64(pool.bin_step, first + n)) for n, (x, y) in enumerate(held)])
            cached = _ARRAYS[key] = (held, data)
        accounts[k.bin_array(index)] = Account(DLMM, cached[1])
    return accounts


_ORACLE = Account(DLMM, oracle_state())  # a pair's Oracle as `initialize` leaves it


@lru_cache(maxsize=64)
def _preset(bin_step: int, f: FeeParams) -> dict[Pubkey, Account]:
    """The PresetParameter a pair of this bin step and fee parameters is made from."""
    preset = PRESET_PARAMETER.encode({
        "bin_step": bin_step, "base_factor": f.base_factor,
        "filter_period": f.filter_period, "decay_period": f.decay_period,
        "reduction_factor": f.reduction_factor, "variable_fee_control": f.variable_fee_control,
        "max_volatility_accumulator": f.max_volatility_accumulator,
        "min_bin_id": -(MAX_BIN_ID // bin_step), "max_bin_id": MAX_BIN_ID // bin_step,
        "protocol_share": PROTOCOL_SHARE})
    return {preset_parameter_address(bin_step, f.base_factor): Account(DLMM, preset)}


# The last bytes written for each bin array, with the amounts they hold: most changes touch one
# array of a pair, so the others are not encoded again.
_ARRAYS: dict[tuple[Pubkey, int, int], tuple[tuple[tuple[int, int], ...], bytes]] = {}
