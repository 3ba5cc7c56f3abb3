"""What a source says of a ticker for one quote date, cached in Redis until the next New York midnight.

Events (scan.events_cache) and daily closes (scan.volatility) change at most once a day and a metered source
charges for each ask, so each is kept in a per-ticker hash, one field per source and quote date, expiring at the
next New York midnight: a second scan the same day asks nothing. The cache never fails a scan: Redis unavailable or
an unreadable entry only costs asking the source again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Generic, TypeVar

import redis

from scanner.errors import REDIS_ERRORS, ProviderError
from scanner.market.calendar import NY

log = logging.getLogger(__name__)
T = TypeVar("T")


def next_midnight(now: datetime) -> datetime:
    """The next New York midnight after `now`: when a day's cached entries expire."""
    local = now.astimezone(NY)
    return datetime.combine(local.date() + timedelta(days=1), time(0), NY)


class DayCache(Generic[T]):
    """Hashes ``key_of(ticker)``: field ``<source>:<quote date>`` → ``encode(value)``, expiring at midnight."""

    def __init__(self, client: redis.Redis, key_of: Callable[[str], str], encode: Callable[[T], str],
                 decode: Callable[[str | bytes], T], what: str,
                 now: Callable[[], datetime] = lambda: datetime.now(NY)) -> None:
        self._client, self._key_of, self._encode, self._decode = client, key_of, encode, decode
        self._what, self._now = what, now

    @staticmethod
    def _field(source: str, as_of: date) -> str:
        return f"{source}:{as_of.isoformat()}"

    def get(self, source: str, ticker: str, as_of: date) -> T | None:
        """The cached value, or None when there is none (or Redis cannot say, or the entry is unreadable)."""
        try:
            text = self._client.hget(self._key_of(ticker), self._field(source, as_of))
        except REDIS_ERRORS as exc:
            log.warning("%s cache unreadable for %s (%s); asking the source", self._what, ticker, type(exc).__name__)
            return None
        if text is None:
            return None
        try:
            return self._decode(text)
        except (ValueError, KeyError, TypeError):
            log.warning("cached %s of %s unreadable; asking the source", self._what, ticker)
            return None

    def put(self, source: str, ticker: str, as_of: date, value: T) -> None:
        """Cache `value` until the next New York midnight; a Redis failure only costs a second ask."""
        key = self._key_of(ticker)
        try:
            pipe = self._client.pipeline(transaction=True)  # never a field without its expiry
            pipe.hset(key, self._field(source, as_of), self._encode(value))
            pipe.expireat(key, int(next_midnight(self._now()).timestamp()))
            pipe.execute()
        except REDIS_ERRORS as exc:
            log.warning("%s of %s not cached (%s)", self._what, ticker, type(exc).__name__)

    def get_or_ask(self, source: str, ticker: str, as_of: date, ask: Callable[[], T], unknown: T) -> T:
        """The cached value, else `ask()`'s, cached. Never raises: a source that fails for this ticker (ProviderError,
        or a bug) gives `unknown`, uncached, so the next scan asks again."""
        cached = self.get(source, ticker, as_of)
        if cached is not None:
            return cached
        try:
            value = ask()
        except ProviderError as exc:
            log.warning("%s of %s unknown: %s", self._what, ticker, exc)
            return unknown
        except Exception:  # a source's bug must not cost the ticker its chain
            log.exception("unexpected error fetching the %s of %s", self._what, ticker)
            return unknown
        self.put(source, ticker, as_of, value)
        return value
