"""The cluster's `Runs` with the programs: each landing executed by the bytecode, then the wallet
and every pool it named read back from the runtime's accounts."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from solders.pubkey import Pubkey

from engine.domain.tokens import WSOL_MINT
from engine.simulator.bytecode import Bytecode
from engine.simulator.execution import Outcome
from engine.simulator.message import Message
from engine.simulator.wallet import Wallet
from engine.solana.programs import EXCEEDED_MAXIMUM_IN, EXCEEDED_SLIPPAGE, PROGRAMS


class RuntimeExecutor:
    """The cluster's `Runs` with programs: each landing executed by the bytecode, then the
    wallet and every pool the transaction named read back from the runtime's accounts. Any
    transaction runs, not only the engine's swaps (a transfer, a token instruction, someone
    else's swap): its programs judge it."""

    def __init__(self, bytecode: Bytecode, chain: ChainView,
                 read_back: Callable[[Sequence[Pubkey]], object],
                 slips: Callable[[str, int], bool]) -> None:
        self._bytecode, self._chain, self._read_back, self._slips = (
            bytecode, chain, read_back, slips)

    def shortfall(self, message: Message) -> str | None:
        """Never judged ahead: the programs find what is missing, in the preflight (their
        error and logs) or in the landing (failed, and its fee charged)."""
        return None

    def run(self, message: Message, now: int, *, dry: bool = False,
            detail: bool = False) -> Outcome:
        chain, bytecode = self._chain, self._bytecode
        bytecode.at(chain.block_height, now)
        if dry:
            done = bytecode.execute(message.payload, dry=True, detail=detail)
            return Outcome(err=done.err, code=done.code, message=done.message,
                           logs=list(done.logs), units=done.units, inner=done.inner,
                           post_accounts=dict(done.post))
        wallet = chain.wallet
        mints = {m for ix in message.instructions for m in (ix.mint_in, ix.mint_out)}
        before, held = dict(wallet.balances), set(wallet.accounts)
        if message.instructions and self._slips(message.order_id, message.attempt):
            bytecode.charge(message.fee_payer, message.fee)
            self._follow_wallet(mints)
            return scripted_slip(message)
        keys = message.account_keys
        pre = bytecode.balances(keys)
        done = bytecode.execute(message.payload)
        post = bytecode.balances(keys)
        balances: dict[str, list[Any]] = {"preBalances": pre[0], "postBalances": post[0],
                                          "preTokenBalances": pre[1], "postTokenBalances": post[1]}
        self._follow_wallet(mints)
        ran = Outcome(err=done.err, code=done.code, message=done.message, logs=list(done.logs),
                      units=done.units, inner=done.inner, charged=True, balances=balances)
        if done.err is not None:
            return ran
        self._read_back(keys)
        if not message.instructions or message.fee_payer != chain.owner:
            return ran  # not the engine's kind of swap: no amounts of its own to report
        rent = len(wallet.accounts - held) * bytecode.rent_of_token_account
        lamports = wallet.balances.get(WSOL_MINT, 0) - before.get(WSOL_MINT, 0)
        spent = {m: before.get(m, 0) - wallet.balances.get(m, 0) for m in mints}
        spent[WSOL_MINT] = -lamports - message.fee - rent  # SOL moved by the swap itself
        return Outcome(spent[message.mint_in], -spent[message.mint_out], logs=list(done.logs),
                       rent=rent, units=done.units, inner=done.inner, charged=True,
                       balances=balances)

    def _follow_wallet(self, mints: set[str]) -> None:
        """The funded wallet as the runtime holds it (any transaction may have paid it)."""
        owner, wallet = self._chain.owner, self._chain.wallet
        if owner is not None:
            self._bytecode.read_wallet(owner, wallet, mints | wallet.accounts)


class ChainView(Protocol):
    """What the executor reads of the cluster."""

    wallet: Wallet
    owner: str | None

    @property
    def block_height(self) -> int: ...


def scripted_slip(message: Message) -> Outcome:
    """A slip the test harness scripted for this attempt: the last swap fails its bound, as
    the program would fail it (its error code and log), and changes nothing but the fee."""
    kind, n = message.kinds[-1], len(message.instructions) - 1
    ix = message.instructions[-1]
    code = (EXCEEDED_MAXIMUM_IN if ix.exact_out else EXCEEDED_SLIPPAGE)[kind]
    index = message.swap_indexes[n] if message.swap_indexes else 0
    return Outcome(err={"InstructionError": [index, {"Custom": code}]}, code="SLIPPAGE_EXCEEDED",
                   message=f"{ix.venue}: the price moved past the order's bound (scripted)",
                   logs=[f"Program {PROGRAMS[kind]} invoke [1]",
                         f"Program {PROGRAMS[kind]} failed: custom program error: {hex(code)}"],
                   charged=True)
