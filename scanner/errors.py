"""Every error the scanner raises on purpose, and the exit code each one means (DESIGN "Command line").

A ``ScannerError`` is a refusal with a message meant for the user (never a secret, never a traceback): the CLI
prints it and exits with its ``exit_code``; pages show it as a banner. ``REDIS_DOWN`` is the one tuple of Redis
errors that mean "unavailable right now" (retried, or shown as "Redis unavailable"); ``REDIS_ERRORS`` every error a
Redis client raises, which ``connection.redis_failure`` turns into a one-line ``RedisFailure``.
"""

from __future__ import annotations

from datetime import datetime
from enum import IntEnum

import redis
from redis.exceptions import RedisClusterException


class ExitCode(IntEnum):
    OK = 0
    FAILED = 1
    BAD_INPUT = 2
    LOCKED = 3
    MARKET_CLOSED = 4
    CANCELLED = 5
    BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for a writer whose reader went away


REDIS_DOWN: tuple[type[Exception], ...] = (redis.ConnectionError, redis.TimeoutError)
REDIS_ERRORS: tuple[type[Exception], ...] = (redis.RedisError, RedisClusterException)  # the latter is no RedisError

MARKET_CLOSED = "Market is closed. Scans only run during market hours (9:30 AM - 4:00 PM ET)."


class ScannerError(Exception):
    """A refusal the user can act on; nothing was changed."""

    exit_code: ExitCode = ExitCode.BAD_INPUT


class ConfigError(ScannerError, ValueError):
    """A setting is missing or malformed; the message names the variable, never a secret value."""


class RedisFailure(ScannerError):
    """A Redis error in one line (``connection.redis_failure`` builds every one): the message names where Redis is,
    secrets masked, and what to do; the subclass says whose side it is on."""

    exit_code = ExitCode.FAILED


class RedisUnavailable(RedisFailure):
    """Redis cannot be reached, or went away mid-command (a restart, a network cut): retried, or "unavailable"."""


class RedisRefused(RedisFailure):
    """The server answered with a refusal of its own state: out of memory, loading its data, a cluster down."""


class RedisMisconfigured(RedisFailure):
    """``REDIS_URL`` (or the server's set-up for it) is wrong: a malformed URL, refused credentials, a TLS
    certificate not verified, a missing ACL permission, a replica, a database index out of range, a cluster
    named without ``redis+cluster://`` (or the reverse)."""

    exit_code = ExitCode.BAD_INPUT


class SettingsError(ScannerError, ValueError):
    """Watch-list or criteria input refused; the message names the offending entries. Nothing was saved."""


def first_ten(bad: list[str]) -> str:
    """The first ten offending entries, quoted, and how many more there are."""
    return ", ".join(repr(b) for b in bad[:10]) + (f" and {len(bad) - 10} more" if len(bad) > 10 else "")


class InvalidSymbols(SettingsError):
    """Some entries are not ticker symbols; ``bad`` lists them and nothing was accepted."""

    def __init__(self, bad: list[str]) -> None:
        self.bad = bad
        super().__init__("not a ticker symbol (1-10 of A-Z, 0-9, '.', '-', the first a letter or digit): "
                         f"{first_ten(bad)}")


class InvalidCsv(SettingsError):
    """A CSV could not be read; ``bad`` lists the offending entries and nothing was accepted."""

    def __init__(self, message: str, bad: list[str] | None = None) -> None:
        self.bad = bad or []
        super().__init__(message)


class ScanRefused(ScannerError):
    """The scan was not started."""


class AlreadyRunning(ScanRefused):
    exit_code = ExitCode.LOCKED

    def __init__(self, scan_id: str | None) -> None:
        self.scan_id = scan_id
        super().__init__(f"A scan is already running ({scan_id or 'starting'}).")


class MarketClosed(ScanRefused):
    exit_code = ExitCode.MARKET_CLOSED

    def __init__(self, next_open: datetime) -> None:
        self.next_open = next_open
        super().__init__(f"{MARKET_CLOSED} Next open: {next_open:%a %Y-%m-%d %H:%M} ET.")


class LockLost(ScannerError):
    """The scan lock no longer holds this scan's token (it expired, was force-released, or vanished with a Redis
    restart): a fenced write refused, so the scan writes nothing more and stops."""

    exit_code = ExitCode.FAILED


class ControlRefused(ScannerError):
    """A cancel or lock release was not done."""

    def __init__(self, message: str, exit_code: ExitCode = ExitCode.BAD_INPUT) -> None:
        self.exit_code = exit_code
        super().__init__(message)


class ProviderError(ScannerError):
    """A per-ticker failure (unknown symbol, bad answer): recorded on the scan, the scan goes on."""


class ProviderFatal(ProviderError):
    """A failure that ends the whole scan (credits spent, bad key): partial results are kept."""
