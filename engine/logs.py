"""Logging: readable lines carrying the order id, one path for ours and the libraries' records,
and no secret in any of them.

Every line is redacted as it is written, whatever wrote it (our code, aiohttp, asyncpg, a
traceback's text): API keys, and the values of `Authorization` and `Sec-WebSocket-Protocol`.
A client's malformed request is one line at debug level, never a traceback: anyone can send
one, so at any other level it would flood the log on demand. A failure that repeats (a database
away) is said the first time and then when its count doubles (`Repeats`).
"""

from __future__ import annotations

import asyncio
import logging
import re
import sys
from typing import Any

from aiohttp.http_exceptions import HttpProcessingError
from loguru import logger

FORMAT = ("<green>{time:YYYY-MM-DD HH:mm:ss.SSS}</green> <level>{level: <7}</level> "
          "<cyan>{extra[order_id]}</cyan> {message}")
# One of `--processes N`'s engines: its lines interleave with the others', so each names its pid.
CHILD_FORMAT = FORMAT.replace("</level> ", "</level> [{process}] ", 1)
REDACTED = "[redacted]"
SECRETS = (
    re.compile(r"oek_[A-Za-z0-9_\-]*"),  # an API key, whole or cut short
    re.compile(r"(?i)(bearer[.\s]+)[^\s'\",;\]\)}]+"),  # Authorization: Bearer x, bearer.x
    # A header's value, as a line, a repr or a JSON pair writes it: up to the line's end.
    re.compile(r"(?i)((?:authorization|sec-websocket-protocol)['\"]?\s*[:=,]\s*['\"]?)"
               r"[^\r\n'\"]+"),
    re.compile(r"(?i)(password=)[^&\s'\"]+"),  # a password in a URL's query
    # A hosted node's API key in its URL's query (…/?api-key=…, &token=…).
    re.compile(r"(?i)([?&](?:api[-_]?key|access[-_]?token|token|key)=)[^&#\s'\"]+"),
    re.compile(r"(://[^:/\s@]+:)[^@\s/]+(?=@)"),  # or in its credentials
)
# Each pattern needs one of these (case-folded) in the line: most lines hold none, and are
# written without running the patterns (two lines an order, so their cost showed in profiles).
TRIGGERS = ("oek_", "bearer", "authorization", "sec-websocket-protocol", "password=", "://",
            "key=", "token=")
# aiohttp's message when it refuses a request it cannot parse (400) or that broke mid-way.
CLIENT_ERROR = "Error handling request"


class Repeats:
    """A failure that repeats every few seconds while it lasts (the database away): said the
    first time and whenever the count in a row doubles, so that an hour of it is a dozen
    lines, not a line a try; its end, once (when there are words for it)."""

    def __init__(self, failing: str, again: str = "") -> None:
        """`failing`: what did not happen ("leases not renewed"); `again`: what the end
        says ("leases renewed again")."""
        self._failing, self._again = failing, again
        self.count = 0

    def failed(self, error: BaseException, log: Any = logger) -> None:
        """One more in a row, said at the first and at each doubling (`log`: a bound one)."""
        self.count += 1
        if self.count & (self.count - 1) == 0:
            log.warning("{}: {} ({} in a row; said again when that count doubles)",
                        self._failing, error, self.count)

    def ended(self) -> None:
        """It went through: the end of a run of failures is said once."""
        if self.count and self._again:
            logger.info("{}, after {} failed tries", self._again, self.count)
        self.count = 0


def said_if_failed(task: asyncio.Task[Any]) -> None:
    """A done callback for a part that runs until the stop (an accounts' follower, a key
    refresher, a market clock): one that ended on an error is said at once, with its traceback.
    Else it would be silent until the stop gathered it, and the process would go on without it."""
    if not task.cancelled() and (error := task.exception()) is not None:
        logger.opt(exception=error).error("{} stopped on an error, and is not running: {}",
                                          task.get_name(), error)


def redact(text: str) -> str:
    folded = text.casefold()
    if not any(trigger in folded for trigger in TRIGGERS):
        return text
    for pattern in SECRETS:
        text = pattern.sub(lambda m: (m.group(1) if m.groups() else "") + REDACTED, text)
    return text


def printable(text: str) -> str:
    """A client's text as one log line: control characters and escapes shown, not obeyed."""
    return text.encode("unicode_escape").decode("ascii")


def _write(message: Any) -> None:
    sys.stderr.write(redact(str(message)))


def configure(level: str, as_json: bool = False, *, one_of_several: bool = False) -> None:
    """Readable lines, or with `as_json` one JSON object per line (loguru's serialisation,
    which carries the pid). `one_of_several`: the process is one of several writing to the
    same terminal, so each readable line names its pid."""
    logger.remove()
    logger.configure(extra={"order_id": "-"})
    # Local variables in a traceback could hold a key, a signature secret or a body: only at
    # debug level, where the operator asked for everything.
    debug = level.upper() in ("DEBUG", "TRACE")
    if as_json:
        logger.add(_write, level=level.upper(), serialize=True, diagnose=debug, backtrace=debug)
    else:
        logger.add(_write, level=level.upper(), format=CHILD_FORMAT if one_of_several
                   else FORMAT, diagnose=debug, backtrace=debug, colorize=sys.stderr.isatty())
    logging.basicConfig(handlers=[_ToLoguru()], level=logging.DEBUG if debug else logging.INFO,
                        force=True)
    logging.getLogger("aiosqlite").setLevel(logging.INFO)  # every statement, at debug


class _ToLoguru(logging.Handler):
    """The standard library's records (aiohttp, asyncio, asyncpg) written as ours."""

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, HttpProcessingError) and message.startswith(CLIENT_ERROR):
            why = (error.message or "").strip().splitlines()
            logger.debug("refused a malformed request{}: {}{}", message[len(CLIENT_ERROR):],
                         type(error).__name__, f": {printable(why[0][:120])}" if why else "")
            return
        level: str | int = record.levelname if record.levelname in _LEVELS else record.levelno
        if record.levelno <= logging.WARNING and _connection_failure(error):
            # A library's warning that a connection failed (asyncpg restoring its pool while the
            # database is away, every 2 s): one line; a traceback says nothing more of it.
            logger.log(level, "{}: {}: {}: {}", record.name, message, type(error).__name__, error)
            return
        logger.opt(depth=6, exception=record.exc_info).log(level, "{}: {}", record.name, message)


def _connection_failure(error: BaseException | None) -> bool:
    return isinstance(error, OSError) or (
        error is not None and type(error).__module__.startswith("asyncpg")
        and "Connect" in type(error).__name__)


_LEVELS = frozenset({"TRACE", "DEBUG", "INFO", "SUCCESS", "WARNING", "ERROR", "CRITICAL"})
