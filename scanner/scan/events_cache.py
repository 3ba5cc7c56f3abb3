"""A scan's events per ticker: asked of the source at most once per ticker and day, cached in Redis.

Earnings and dividend dates change a few times a quarter, and MarketData charges for each ask, so a ticker's events
are kept in ``events:<ticker>`` (one hash field per source and quote date) until the next New York midnight; a second
scan the same day asks nothing. Events never fail a ticker: a source's error, or Redis unavailable, leaves them
unknown (every flag empty) or simply uncached, and the chain is screened all the same.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime, time, timedelta

import redis

from scanner.errors import REDIS_ERRORS, ProviderError
from scanner.market.calendar import NY
from scanner.market.events import UNKNOWN, TickerEvents
from scanner.providers.base import Provider
from scanner.store.keys import Keys

log = logging.getLogger(__name__)


def next_midnight(now: datetime) -> datetime:
    """The next New York midnight after `now`: when a day's cached events expire."""
    local = now.astimezone(NY)
    return datetime.combine(local.date() + timedelta(days=1), time(0), NY)


class EventsCache:
    """``events:<ticker>`` hashes: field ``<source>:<quote date>`` → TickerEvents JSON, expiring at midnight."""

    def __init__(self, client: redis.Redis, keys: Keys, now: Callable[[], datetime] = lambda: datetime.now(NY)) -> None:
        self._client, self._keys, self._now = client, keys, now

    @staticmethod
    def _field(source: str, as_of: date) -> str:
        return f"{source}:{as_of.isoformat()}"

    def get(self, source: str, ticker: str, as_of: date) -> TickerEvents | None:
        """The cached events, or None when there are none (or Redis cannot say, or the entry is unreadable)."""
        try:
            text = self._client.hget(self._keys.events(ticker), self._field(source, as_of))
        except REDIS_ERRORS as exc:
            log.warning("events cache unreadable for %s (%s); asking the source", ticker, type(exc).__name__)
            return None
        if text is None:
            return None
        try:
            return TickerEvents.from_json(text)
        except (ValueError, KeyError, TypeError):
            log.warning("cached events of %s unreadable; asking the source", ticker)
            return None

    def put(self, source: str, ticker: str, as_of: date, events: TickerEvents) -> None:
        """Cache `events` until the next New York midnight; a Redis failure only costs a second ask."""
        key = self._keys.events(ticker)
        try:
            pipe = self._client.pipeline(transaction=True)  # never a field without its expiry
            pipe.hset(key, self._field(source, as_of), events.to_json())
            pipe.expireat(key, int(next_midnight(self._now()).timestamp()))
            pipe.execute()
        except REDIS_ERRORS as exc:
            log.warning("events of %s not cached (%s)", ticker, type(exc).__name__)


def ticker_events(provider: Provider, cache: EventsCache, ticker: str, as_of: date) -> TickerEvents:
    """`ticker`'s events as of `as_of`: from the cache, else asked of `provider` and cached. Never raises: a source
    that fails for this ticker leaves its events unknown (not cached, so the next scan asks again)."""
    cached = cache.get(provider.name, ticker, as_of)
    if cached is not None:
        return cached
    try:
        events = provider.events(ticker, as_of)
    except ProviderError as exc:
        log.warning("events of %s unknown: %s", ticker, exc)
        return UNKNOWN
    except Exception:  # a source's bug must not cost the ticker its chain
        log.exception("unexpected error fetching the events of %s", ticker)
        return UNKNOWN
    cache.put(provider.name, ticker, as_of, events)
    return events
