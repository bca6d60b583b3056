"""The differential suites' bookkeeping: a swap the program executed (or refused) against what
the engine quoted from the accounts just before."""

from __future__ import annotations

from dataclasses import dataclass, field

from engine.solana.instructions import Swap
from engine.svm.pools import Trader

U64_MAX = 2**64 - 1


def bounds_off(s: Swap) -> Swap:
    """The same swap with no slippage bound: the program alone decides what it pays."""
    return Swap(s.keys, s.mint_in, s.mint_out, s.amount, U64_MAX if s.exact_out else 0,
                s.exact_out, s.bin_arrays)


@dataclass
class Tally:
    executed: int = 0
    refused: int = 0
    differences: list[str] = field(default_factory=list)

    def amounts_agree(self, trader: Trader, s: Swap, expected: tuple[int, int] | None,
                      where: str) -> bool:
        """Run `s` holding just enough input; whether (spent, received) is what the engine
        quoted (None: the engine expects a refusal). A disagreement is written down."""
        budget = min(U64_MAX, max(10**18, expected[0] if expected else 0))
        trader.give(s.mint_in, budget)
        before = trader.balance(s.mint_out) if trader.runtime.data(
            trader.holding(s.mint_out)) is not None else 0
        outcome = trader.swap(bounds_off(s))
        if not outcome.ok:
            self.refused += 1
            if expected is not None:
                self.differences.append(f"{where}: the program refused ({outcome.error}, "
                                        f"{outcome.custom_error()}); the engine quoted "
                                        f"{expected}")
            return False
        self.executed += 1
        done = (budget - trader.balance(s.mint_in), trader.balance(s.mint_out) - before)
        if done != expected:
            self.differences.append(f"{where}: program {done}, engine {expected}")
            return False
        return True

    def verdict(self, name: str, least_executed: int) -> None:
        print(f"{name}: {self.executed} swaps executed by the program, {self.refused} refused, "
              f"{len(self.differences)} differences")
        assert not self.differences, "\n".join(self.differences[:20])
        assert self.executed >= least_executed
