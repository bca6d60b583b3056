"""Running a landed transaction's swaps, atomically, as the programs would: the pool math, the
wallet's token accounts, the program's own error and logs, and the balances before and after
that getTransaction reports."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from solders.pubkey import Pubkey

from engine.domain.errors import InsufficientFunds
from engine.domain.tokens import LAUNCH_DECIMALS, WSOL_MINT, lookup
from engine.domain.transactions import SwapInstruction
from engine.simulator.message import Message
from engine.simulator.parsed_token import ui_amount
from engine.simulator.wallet import Wallet
from engine.solana.programs import (
    EXCEEDED_MAXIMUM_IN,
    EXCEEDED_SLIPPAGE,
    MAXIMUM_IN_NAMES,
    PROGRAMS,
    SLIPPAGE_NAMES,
    TOKEN,
)
from engine.solana.programs import associated_token_address as ata

TOKEN_INSUFFICIENT_FUNDS = 1  # SPL Token's custom error for a transfer beyond the balance


class SwapProgram(Protocol):
    """The venue side of a swap instruction, run when a transaction lands."""

    name: str

    def kind(self, pool: str) -> str: ...

    def preview(self, pool: str, mint_in: str, amount_in: int, now: int) -> int: ...

    def apply(self, pool: str, mint_in: str, amount_in: int, now: int) -> int: ...

    def preview_in(self, pool: str, mint_in: str, amount_out: int, now: int) -> int: ...

    def apply_exact_out(self, pool: str, mint_in: str, amount_out: int, now: int) -> int: ...


@dataclass
class Outcome:
    """What running a transaction did: amounts, the error (as the RPC reports it and as the
    engine's code), the logs and the units it consumed."""

    amount_in: int = 0
    amount_out: int = 0
    err: Any = None  # e.g. {"InstructionError": [4, {"Custom": 6005}]}
    code: str | None = None  # SLIPPAGE_EXCEEDED, INSUFFICIENT_FUNDS
    message: str = ""
    logs: list[str] = field(default_factory=list)
    rent: int = 0
    units: int | None = None  # what it consumed, where measured (None: the model's table)
    inner: list[dict[str, Any]] = field(default_factory=list)  # inner instructions
    charged: bool = False  # the fee of a failure already taken (the runtime takes its own)
    # Every account's lamports and token balances before and after, where the runtime read
    # them (getTransaction's pre/post balances); None: the model's own account of the wallet.
    balances: dict[str, list[Any]] | None = None
    # A simulation's accounts after it ran, where the runtime says (None: the model's, which
    # does not compute them).
    post_accounts: dict[Pubkey, Any] | None = None

    def meta(self, message: Message, balances: dict[str, list[Any]]) -> dict[str, Any]:
        """getTransaction's meta of this landing: its error, fee and units, `balances` (pre
        and post), logs, the addresses its lookups loaded and its inner instructions."""
        status = "succeeded" if self.err is None else "failed"
        loaded = message.loaded
        return {"err": self.err, "fee": message.fee,
                "computeUnitsConsumed": message.units if self.units is None else self.units,
                **balances,
                "logMessages": [*self.logs, f"Transaction {status}"],
                **({"loadedAddresses": {"writable": [str(k) for k in loaded[0]],
                                        "readonly": [str(k) for k in loaded[1]]}}
                   if any(loaded) else {}),
                **({"innerInstructions": self.inner} if self.inner else {})}


class ShortOfIntermediate(Exception):
    """A later hop names more of the intermediate token than the hops before it delivered."""

    def __init__(self, hop: int) -> None:
        super().__init__(f"hop {hop} is short of its input")
        self.hop = hop


def decimals(mint: str) -> int:
    token = lookup(mint)
    return token.decimals if token else LAUNCH_DECIMALS


class Runs(Protocol):
    """What runs a landed transaction: the Python model (`Executor`) or the programs'
    bytecode (`runtime_executor.RuntimeExecutor`)."""

    def shortfall(self, message: Message) -> str | None: ...

    def run(self, message: Message, now: int, *, dry: bool = False,
            detail: bool = False) -> Outcome:
        """`dry`: a simulation, which changes nothing; `detail`: it answers with its inner
        instructions and the accounts as it left them (where the runner can tell)."""
        ...


class Executor:
    def __init__(self, programs: Mapping[str, SwapProgram], wallet: Callable[[], Wallet],
                 slips: Callable[[str, int], bool]) -> None:
        self._programs, self._wallet, self._slips = programs, wallet, slips

    def shortfall(self, message: Message) -> str | None:
        return self._wallet().shortfall(message.mint_in, message.amount_in, message.mint_out,
                                        message.fee)

    def run(self, message: Message, now: int, *, dry: bool = False,
            detail: bool = False) -> Outcome:
        """The swaps of `message`, all or none; `dry` (a simulation) changes nothing. A failed
        outcome changes nothing either: the caller charges its fee."""
        wallet, logs = self._wallet(), _invocations(message)
        problem = self.shortfall(message)
        if problem is not None:
            return Outcome(err={"InstructionError": [self._index(message, 0),
                                                     {"Custom": TOKEN_INSUFFICIENT_FUNDS}]},
                           code=InsufficientFunds.code, message=problem,
                           logs=[*logs, f"Program {TOKEN} failed: custom program error: 0x1"])
        if message.compute_unit_limit < message.units:
            return Outcome(err={"InstructionError": [self._index(message, 0),
                                                     "ComputationalBudgetExceeded"]},
                           code="COMPUTE_BUDGET_EXCEEDED", logs=logs,
                           message=f"{message.units} units needed, limit "
                                   f"{message.compute_unit_limit}")
        try:
            amounts = self._plan(message, now)
        except ShortOfIntermediate as short:
            index = self._index(message, len(message.hops[0]) * short.hop)
            return Outcome(err={"InstructionError": [index, {"Custom": TOKEN_INSUFFICIENT_FUNDS}]},
                           code=InsufficientFunds.code,
                           message="the first swap delivered less than the second spends",
                           logs=[*logs, f"Program {TOKEN} failed: custom program error: 0x1"])
        for n, (ix, (_, result)) in enumerate(zip(message.instructions, amounts, strict=True)):
            last = ix.hop == message.instructions[-1].hop
            # A simulation neither sees nor uses up a scripted slip: only the landing does.
            slipped = last and not dry and self._slips(message.order_id, message.attempt)
            # Every swap enforces its own bound, as each program does: the last its slippage
            # floor, a first hop what the second spends.
            bad = (result > ix.amount_in or slipped) if ix.exact_out else (
                result < ix.min_out or (slipped and last))
            if bad:
                return self._slippage(message, n, ix, result, logs)
        if dry:
            return Outcome(logs=[*logs, "(simulated)"])
        outs = [self._programs[ix.venue].apply_exact_out(ix.pool, ix.mint_in, ix.min_out, now)
                if ix.exact_out else self._programs[ix.venue].apply(ix.pool, ix.mint_in, a, now)
                for ix, (a, _) in zip(message.instructions, amounts, strict=True)]
        last_hop = message.hops[-1]
        if message.exact_out:
            paid, got = outs[0], message.instructions[0].min_out
        else:
            paid, got = message.amount_in, sum(o for ix, o in zip(message.instructions, outs,
                                                                  strict=True) if ix in last_hop)
        rent = wallet.settle(message.mint_in, paid, message.mint_out, got, message.fee)
        if len(message.hops) > 1:  # what the first hop delivered beyond what the second spent
            pivot = message.hops[0][0].mint_out
            delivered = sum(o for ix, o in zip(message.instructions, outs, strict=True)
                            if ix in message.hops[0])
            spent = sum(ix.amount_in for ix in message.hops[1])
            wallet.balances[pivot] = wallet.balances.get(pivot, 0) + delivered - spent
        return Outcome(paid, got, logs=logs, rent=rent)

    def _plan(self, message: Message, now: int) -> list[tuple[int, int]]:
        """(input, result) per instruction: an exact out's result is what it would cost; every
        swap spends the amount its instruction names, as the programs do (a second hop the first
        did not deliver enough for fails on the token transfer; what the first delivered beyond
        it stays in the wallet)."""
        if message.exact_out:
            ix = message.instructions[0]
            try:
                cost = self._programs[ix.venue].preview_in(ix.pool, ix.mint_in, ix.min_out, now)
            except InsufficientFunds:
                cost = ix.amount_in + 1  # the pool cannot pay it: no maximum covers it
            return [(ix.amount_in, cost)]
        plan: list[tuple[int, int]] = []
        carried = 0
        for n, hop in enumerate(message.hops):
            inputs = [ix.amount_in for ix in hop]
            if n > 0 and carried < sum(inputs):  # the intermediate account is short of it
                if any(result < ix.min_out for ix, (_, result) in zip(
                        message.hops[n - 1], plan[-len(message.hops[n - 1]):], strict=True)):
                    # An earlier swap already fails its own bound, as the program would first.
                    return plan + [(ix.amount_in, 0) for h in message.hops[n:] for ix in h]
                raise ShortOfIntermediate(n)
            outs = [self._programs[ix.venue].preview(ix.pool, ix.mint_in, amount, now)
                    for ix, amount in zip(hop, inputs, strict=True)]
            plan += list(zip(inputs, outs, strict=True))
            carried = sum(outs)
        return plan

    def _slippage(self, message: Message, n: int, ix: SwapInstruction, result: int,
                  logs: list[str]) -> Outcome:
        kind = self._programs[ix.venue].kind(ix.pool)
        code, name = ((EXCEEDED_MAXIMUM_IN[kind], MAXIMUM_IN_NAMES.get(kind, SLIPPAGE_NAMES[kind]))
                      if ix.exact_out else (EXCEEDED_SLIPPAGE[kind], SLIPPAGE_NAMES[kind]))
        bound = (f"in {result} > maximum {ix.amount_in}" if ix.exact_out
                 else f"out {result} < minimum {ix.min_out}")
        text = f"{ix.venue}: {name} (custom program error: {hex(code)}): {bound}"
        return Outcome(err={"InstructionError": [self._index(message, n), {"Custom": code}]},
                       code="SLIPPAGE_EXCEEDED", message=text, logs=[
                           *logs, f"Program log: Error Number: {code}. Error Message: {name}.",
                           f"Program {PROGRAMS[kind]} failed: custom program error: "
                           f"{hex(code)}"])

    @staticmethod
    def _index(message: Message, swap: int) -> int:
        return message.swap_indexes[swap] if message.swap_indexes else 0


def _invocations(message: Message) -> list[str]:
    return [f"Program {PROGRAMS[kind]} invoke [1]" for kind in message.kinds]


def token_balances(message: Message, wallet: Wallet) -> list[dict[str, Any]]:
    """The wallet's token accounts this transaction names, as getTransaction reports them
    (wSOL is wrapped and unwrapped inside the transaction: its account never persists)."""
    owner = message.account_keys[0]
    keys = message.account_keys
    out = []
    for mint in dict.fromkeys(m for ix in message.instructions for m in (ix.mint_in, ix.mint_out)):
        if mint == WSOL_MINT or mint not in wallet.accounts:
            continue
        address = ata(owner, Pubkey.from_string(mint))
        if address not in keys:
            continue
        atoms, places = wallet.balances.get(mint, 0), decimals(mint)
        out.append({"accountIndex": keys.index(address), "mint": mint, "owner": message.fee_payer,
                    "programId": str(TOKEN), "uiTokenAmount": ui_amount(atoms, places)})
    return out


def fee_payer_lamports(message: Message, payer: int) -> list[int]:
    """The fee payer's lamports first; the simulation keeps no other account's lamports."""
    return [payer] + [0] * (len(message.account_keys) - 1)
