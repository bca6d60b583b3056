"""The terminal client's command line: its commands, their arguments and what each means."""

from __future__ import annotations

import argparse
import os

from engine.commands.reconnecting import PATIENCE

STATUSES = ("pending", "waiting", "routing", "building", "submitted", "confirmed",
            "partially_filled", "failed", "expired", "cancelled")  # as the API writes them


# An order's fields as the API names them, and the options of `submit` that set them.
FIELDS = {"slippage": "slippage", "limitPrice": "limit_price", "maxPrice": "max_price",
          "triggerPrice": "trigger_price", "trail": "trail",
          "takeProfitPrice": "take_profit_price", "stopPrice": "stop_price",
          "slices": "slices", "intervalSeconds": "interval_seconds", "ttlSeconds": "ttl",
          "priorityFee": "priority_fee"}
OPTIONS = {"swapMode": "--exact-out",
           **{field: "--" + dest.replace("_", "-") for field, dest in FIELDS.items()}}


def _pair_and_amount(p: argparse.ArgumentParser) -> None:
    p.add_argument("token_in", help="what is sold: a listed symbol (SOL, USDC, USDT, BONK, JUP, "
                                    "WIF, RAY) or a mint on the cluster")
    p.add_argument("token_out", help="what is bought, likewise")
    p.add_argument("amount", help="how much of TOKEN_IN, in its units (1.5 = 1.5 SOL); with "
                                  "--exact-out, how much of TOKEN_OUT")


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m engine", description=description,
                                epilog="Without a command, `python -m engine` serves the engine "
                                       "(see `python -m engine serve --help`).")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--url", default=os.environ.get("ENGINE_URL", "http://127.0.0.1:8080"),
                        help="the engine [env ENGINE_URL; default: %(default)s]")
    common.add_argument("--key", default=os.environ.get("ENGINE_KEY"),
                        help="an API key, once the engine has keys [env ENGINE_KEY]")
    following = argparse.ArgumentParser(add_help=False)
    following.add_argument("--reconnect-for", type=float, default=PATIENCE, metavar="SECONDS",
                           help="how long to wait for an engine that went away (a restart) "
                                "to come back, reading on where the stream stopped, or that "
                                "cannot take an order for now (default: %(default)g)")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("submit", parents=[common, following],
                       help="submit an order and follow it to the end")
    _pair_and_amount(s)
    s.add_argument("--type", default="market",
                   choices=("market", "limit", "stop", "stop_limit", "trailing_stop", "bracket",
                            "twap", "sniper"))
    s.add_argument("--slippage", help="the most the fill may fall short of the quote, as a "
                   "fraction in (0, 0.5] (default 0.01)")
    s.add_argument("--limit-price", help="limit, stop_limit, twap: the least net price it "
                   "sells at")
    s.add_argument("--max-price", help="sniper: the most paid per token, in TOKEN_IN per "
                   "TOKEN_OUT (without it, any price)")
    s.add_argument("--trigger-price", help="stop: sell once the net price falls to this; "
                   "stop_limit: then become a limit order at --limit-price")
    s.add_argument("--trail", help="trailing stops: sell this fraction below the best price")
    s.add_argument("--take-profit-price", help="brackets: sell once the net price rises to this")
    s.add_argument("--stop-price", help="brackets: or once it falls to this")
    s.add_argument("--slices", type=int, help="twap: how many slices (2..1000)")
    s.add_argument("--interval-seconds", type=int, help="twap: seconds between slices")
    s.add_argument("--exact-out", action="store_true",
                   help="market, limit, stop, stop_limit: AMOUNT is what you receive of "
                   "TOKEN_OUT")
    s.add_argument("--ttl", type=float, help="seconds a waiting order may wait")
    s.add_argument("--priority-fee", metavar="auto|high|N",
                   help="auto (from recent fees; the default), high, or N micro-lamports per "
                        "compute unit")
    s.add_argument("--detach", action="store_true",
                   help="print the order's id and exit, without following it")
    w = sub.add_parser("watch", parents=[common, following], help="follow an order's stream")
    w.add_argument("order_id", nargs="?", help="the order's id, or a unique prefix of it")
    w.add_argument("--all", action="store_true",
                   help="every order's events from now on, until Ctrl-C")
    c = sub.add_parser("cancel", parents=[common], help="cancel an order that has not started "
                                                        "executing, or every waiting one")
    c.add_argument("order_id", nargs="?", help="the order's id, or a unique prefix of it")
    c.add_argument("--all-waiting", action="store_true",
                   help="cancel every waiting order you own (all of them with an admin key)")
    o = sub.add_parser("orders", parents=[common], help="a table of recent orders")
    o.add_argument("--status", choices=STATUSES, metavar="STATUS",
                   help=f"only orders in this status: {', '.join(STATUSES)}")
    o.add_argument("--limit", type=int, default=20,
                   help="how many, newest first, up to 200 (default: %(default)s)")
    q = sub.add_parser("quote", parents=[common], help="what an order would get now, from "
                                                      "each venue, without submitting it")
    _pair_and_amount(q)
    q.add_argument("--exact-out", action="store_true",
                   help="AMOUNT is what you would receive of TOKEN_OUT")
    q.add_argument("--slippage", default="0.01",
                   help="as a fraction, for the least out (or most in) it allows "
                        "(default %(default)s, as submit's)")
    sub.add_parser("wallet", parents=[common], help="the wallet's address and balances")
    d = sub.add_parser("demo", parents=[common],
                       help="orders of every type, streamed side by side")
    d.add_argument("--plain", action="store_true", help="no colours")
    return p
