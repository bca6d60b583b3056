"""Account layouts from ../shared/market/wire.md: the pools' state as the programs store it.

A `Layout` is the fields in order (Anchor accounts after their 8-byte discriminator; zero-copy
ones packed, offsets the running sum of the sizes); it encodes a mapping of field values (the
ones not given are zero) and decodes bytes back to one."""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from typing import Any

from solders.pubkey import Pubkey

from engine.solana.programs import anchor_discriminator

KINDS = {"u8": "B", "bool": "?", "u16": "H", "i32": "i", "u32": "I", "u64": "Q", "i64": "q",
         "u128": "16s", "pubkey": "32s"}


class Layout:
    def __init__(self, discriminator: bytes, fields: Sequence[tuple[str, str]]) -> None:
        self.discriminator, self.fields = discriminator, list(fields)
        codes = [f"{kind[4:]}x" if kind.startswith("pad:") else KINDS[kind] for _, kind in fields]
        self._struct = struct.Struct("<" + "".join(codes))
        self._named = [(name, kind) for name, kind in fields if not kind.startswith("pad:")]
        self.size = len(discriminator) + self._struct.size

    def offset(self, name: str) -> int:
        at = len(self.discriminator)
        for field, kind in self.fields:
            if field == name:
                return at
            at += int(kind[4:]) if kind.startswith("pad:") else struct.calcsize(
                "<" + KINDS[kind])
        raise KeyError(name)

    def encode(self, values: Mapping[str, Any]) -> bytes:
        packed: list[Any] = []
        for name, kind in self._named:
            value = values.get(name)
            if kind == "pubkey":
                packed.append(bytes(value) if value is not None else bytes(32))
            elif kind == "u128":
                packed.append(int(value or 0).to_bytes(16, "little"))
            else:
                packed.append(value or 0)
        return self.discriminator + self._struct.pack(*packed)

    def decode(self, data: bytes) -> dict[str, Any]:
        head = len(self.discriminator)
        if len(data) < self.size or data[:head] != self.discriminator:
            raise ValueError(f"not this account: {len(data)} bytes, {data[:head].hex()}")
        values = self._struct.unpack_from(data, head)
        out: dict[str, Any] = {}
        for (name, kind), value in zip(self._named, values, strict=True):
            if kind == "pubkey":
                out[name] = Pubkey.from_bytes(value)
            elif kind == "u128":
                out[name] = int.from_bytes(value, "little")
            else:
                out[name] = value
        return out


def _u64s(*names: str) -> list[tuple[str, str]]:
    return [(name, "u64") for name in names]


def _pubkeys(*names: str) -> list[tuple[str, str]]:
    return [(name, "pubkey") for name in names]


# Raydium AMM v4 (not Anchor: no discriminator), 752 bytes.
AMM_INFO = Layout(b"", [
    *_u64s("status", "nonce", "order_num", "depth", "coin_decimals", "pc_decimals", "state",
           "reset_flag", "min_size", "vol_max_cut_ratio", "amount_wave", "coin_lot_size",
           "pc_lot_size", "min_price_multiplier", "max_price_multiplier", "sys_decimal_value",
           "min_separate_numerator", "min_separate_denominator", "trade_fee_numerator",
           "trade_fee_denominator", "pnl_numerator", "pnl_denominator", "swap_fee_numerator",
           "swap_fee_denominator", "need_take_pnl_coin", "need_take_pnl_pc", "total_pnl_pc",
           "total_pnl_coin", "pool_open_time"), ("padding", "pad:16"),
    ("orderbook_to_init_time", "u64"), ("swap_coin_in_amount", "u128"),
    ("swap_pc_out_amount", "u128"), ("swap_acc_pc_fee", "u64"), ("swap_pc_in_amount", "u128"),
    ("swap_coin_out_amount", "u128"), ("swap_acc_coin_fee", "u64"),
    *_pubkeys("coin_vault", "pc_vault", "coin_vault_mint", "pc_vault_mint", "lp_mint",
              "open_orders", "market", "market_program", "target_orders"),
    ("padding1", "pad:64"), ("amm_owner", "pubkey"),
    *_u64s("lp_amount", "client_order_id", "recent_epoch", "padding2")])

# Raydium CPMM, 637 bytes with the discriminator.
CPMM_POOL = Layout(anchor_discriminator("PoolState", "account"), [
    *_pubkeys("amm_config", "pool_creator", "token_0_vault", "token_1_vault", "lp_mint",
              "token_0_mint", "token_1_mint", "token_0_program", "token_1_program",
              "observation_key"),
    ("auth_bump", "u8"), ("status", "u8"), ("lp_mint_decimals", "u8"),
    ("mint_0_decimals", "u8"), ("mint_1_decimals", "u8"),
    *_u64s("lp_supply", "protocol_fees_token_0", "protocol_fees_token_1",
           "fund_fees_token_0", "fund_fees_token_1", "open_time", "recent_epoch"),
    ("creator_fee_on", "u8"), ("enable_creator_fee", "bool"), ("padding1", "pad:6"),
    *_u64s("creator_fees_token_0", "creator_fees_token_1"), ("padding", "pad:224")])

CPMM_CONFIG = Layout(anchor_discriminator("AmmConfig", "account"), [
    ("bump", "u8"), ("disable_create_pool", "bool"), ("index", "u16"),
    *_u64s("trade_fee_rate", "protocol_fee_rate", "fund_fee_rate", "create_pool_fee"),
    *_pubkeys("protocol_owner", "fund_owner"), ("creator_fee_rate", "u64"),
    ("padding", "pad:120")])

_REWARD = [*_pubkeys("mint", "vault", "funder"), ("reward_duration", "u64"),
           ("reward_duration_end", "u64"), ("reward_rate", "u128"), ("last_update_time", "u64"),
           ("cumulative_seconds_with_empty_liquidity_reward", "u64")]

# Meteora DLMM, 904 bytes with the discriminator.
LB_PAIR = Layout(bytes([33, 11, 49, 98, 181, 101, 177, 13]), [
    ("base_factor", "u16"), ("filter_period", "u16"), ("decay_period", "u16"),
    ("reduction_factor", "u16"), ("variable_fee_control", "u32"),
    ("max_volatility_accumulator", "u32"), ("min_bin_id", "i32"), ("max_bin_id", "i32"),
    ("protocol_share", "u16"), ("base_fee_power_factor", "u8"), ("function_type", "u8"),
    ("collect_fee_mode", "u8"), ("parameters_padding", "pad:3"),
    ("volatility_accumulator", "u32"), ("volatility_reference", "u32"),
    ("index_reference", "i32"), ("v_padding", "pad:4"), ("last_update_timestamp", "i64"),
    ("v_padding_1", "pad:8"),
    ("bump_seed", "u8"), ("bin_step_seed", "u16"), ("pair_type", "u8"), ("active_id", "i32"),
    ("bin_step", "u16"), ("status", "u8"), ("require_base_factor_seed", "u8"),
    ("base_factor_seed", "u16"), ("activation_type", "u8"),
    ("creator_pool_on_off_control", "u8"),
    *_pubkeys("token_x_mint", "token_y_mint", "reserve_x", "reserve_y"),
    ("protocol_fee_x", "u64"), ("protocol_fee_y", "u64"), ("padding_1", "pad:32"),
    *[(f"reward_{n}_{name}", kind) for n in (0, 1) for name, kind in _REWARD],
    ("oracle", "pubkey"), *[(f"bin_array_bitmap_{n}", "u64") for n in range(16)],
    ("last_updated_at", "i64"), ("padding_2", "pad:32"),
    *_pubkeys("pre_activation_swap_address", "base_key"),
    ("activation_point", "u64"), ("pre_activation_duration", "u64"), ("padding_3", "pad:8"),
    ("padding_4", "u64"), ("creator", "pubkey"), ("token_mint_x_program_flag", "u8"),
    ("token_mint_y_program_flag", "u8"), ("version", "u8"), ("reserved", "pad:21")])

BIN = Layout(b"", [
    ("amount_x", "u64"), ("amount_y", "u64"), ("price", "u128"), ("liquidity_supply", "u128"),
    *_u64s("fulfilled_order_amount_x", "fulfilled_order_amount_y", "limit_order_fee_ask_side",
           "limit_order_fee_bid_side"),
    ("fee_amount_x_per_token_stored", "u128"), ("fee_amount_y_per_token_stored", "u128"),
    *_u64s("open_order_amount", "total_processing_order_amount",
           "processed_order_remaining_amount"),
    ("order_age", "u32"), ("limit_order_ask_side", "u8"), ("padding_1", "pad:3")])
BINS_PER_ARRAY = 70
BIN_ARRAY_HEAD = Layout(bytes([92, 142, 92, 220, 5, 148, 70, 181]), [
    ("index", "i64"), ("version", "u8"), ("padding_1", "pad:7"), ("lb_pair", "pubkey")])
BIN_ARRAY_SIZE = BIN_ARRAY_HEAD.size + BINS_PER_ARRAY * BIN.size
_AMOUNTS = struct.Struct(f"<QQ{BIN.size - 16}x")  # a bin's two amounts, the rest skipped

# SPL Token account, 165 bytes (COption: a u32 tag, then the value).
TOKEN_ACCOUNT = Layout(b"", [
    ("mint", "pubkey"), ("owner", "pubkey"), ("amount", "u64"), ("delegate_tag", "u32"),
    ("delegate", "pubkey"), ("state", "u8"), ("is_native_tag", "u32"), ("is_native", "u64"),
    ("delegated_amount", "u64"), ("close_authority_tag", "u32"), ("close_authority", "pubkey")])


# CPMM's ObservationState: 4,075 bytes; a swap writes its price into it (at most once a second).
OBSERVATION_SIZE = 8 + 1 + 2 + 32 + 100 * 40 + 4 * 8
OBSERVATION = anchor_discriminator("ObservationState", "account")


def observation_state(pool: Pubkey) -> bytes:
    """As `initialize` leaves it: not yet written (`initialized` false), for `pool`."""
    head = OBSERVATION + struct.pack("<?H", False, 0) + bytes(pool)
    return head + bytes(OBSERVATION_SIZE - len(head))


MINT_SIZE, MINT_DECIMALS = 82, 44  # an SPL Token mint's length, and its decimals' offset


def mint(authority: Pubkey | None, supply: int, decimals: int) -> bytes:
    """An initialised SPL Token mint (82 bytes), with or without a mint authority."""
    tag, key = (1, bytes(authority)) if authority is not None else (0, bytes(32))
    return struct.pack("<I32sQBBI32s", tag, key, supply, decimals, 1, 0, bytes(32))


# The Clock sysvar (SysvarC1ock11111111111111111111111111111111), 40 bytes: what aggregators
# read for the cluster's time (DLMM's fees decay with it).
CLOCK = Layout(b"", [("slot", "u64"), ("epoch_start_timestamp", "i64"), ("epoch", "u64"),
                     ("leader_schedule_epoch", "u64"), ("unix_timestamp", "i64")])


# A bin as the simulation fills it: its amounts and price, the rest zero (a third of the
# cost of a full encode, which a pool's 210 bins pay at every change).
_BIN_AMOUNTS = struct.Struct(f"<QQ16s16s{BIN.size - 48}x")


def encode_bin_array(index: int, pair: Pubkey, bins: Sequence[tuple[int, int, int]]) -> bytes:
    """A BinArray: `bins` are the 70 bins in id order (index × 70 ... + 69), each (amount of
    X, amount of Y, Q64.64 price). Each bin's liquidity supply is what a first deposit of its
    amounts mints (price·x + y, in Q64.64): the program divides its fees by it."""
    return BIN_ARRAY_HEAD.encode({"index": index, "lb_pair": pair}) + b"".join(
        _BIN_AMOUNTS.pack(x, y, price.to_bytes(16, "little"),
                          min(price * x + (y << 64), 2**128 - 1).to_bytes(16, "little"))
        for x, y, price in bins)


# Meteora DLMM's Oracle: a header (index, active size, length) then `length` observations of
# 32 bytes; `initialize_lb_pair` makes it with room for 10.
ORACLE = bytes([139, 194, 131, 179, 140, 179, 229, 244])
ORACLE_LENGTH = 10


# What `initialize_preset_parameter` leaves: the fee parameters a pair of that bin step and base
# factor is created with (an admin-only account; no swap reads it).
PRESET_PARAMETER = Layout(anchor_discriminator("PresetParameter", "account"), [
    ("bin_step", "u16"), ("base_factor", "u16"), ("filter_period", "u16"),
    ("decay_period", "u16"), ("reduction_factor", "u16"), ("variable_fee_control", "u32"),
    ("max_volatility_accumulator", "u32"), ("min_bin_id", "i32"), ("max_bin_id", "i32"),
    ("protocol_share", "u16")])


def oracle_state() -> bytes:
    return ORACLE + struct.pack("<QQQ", 0, 0, ORACLE_LENGTH) + bytes(32 * ORACLE_LENGTH)


def bin_array_amounts(data: bytes) -> tuple[int, list[tuple[int, int]]]:
    """A BinArray's index and each bin's (amount of X, amount of Y): all a quote needs, read
    in one pass (the pools' reader does this after every swap that touched the array)."""
    if len(data) < BIN_ARRAY_SIZE or data[:8] != BIN_ARRAY_HEAD.discriminator:
        raise ValueError(f"a BinArray is {BIN_ARRAY_SIZE} bytes with its discriminator")
    index = struct.unpack_from("<q", data, 8)[0]
    head, end = BIN_ARRAY_HEAD.size, BIN_ARRAY_HEAD.size + BINS_PER_ARRAY * BIN.size
    return index, list(_AMOUNTS.iter_unpack(data[head:end]))


def decode_bin_array(data: bytes) -> tuple[int, Pubkey, list[dict[str, Any]]]:
    head = BIN_ARRAY_HEAD.decode(data)
    if len(data) < BIN_ARRAY_SIZE:
        raise ValueError(f"a BinArray is {BIN_ARRAY_SIZE} bytes, not {len(data)}")
    at = BIN_ARRAY_HEAD.size
    bins = [BIN.decode(data[at + n * BIN.size: at + (n + 1) * BIN.size])
            for n in range(BINS_PER_ARRAY)]
    return head["index"], head["lb_pair"], bins
