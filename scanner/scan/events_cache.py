"""A scan's events per ticker: asked of the source at most once per ticker and day, cached in Redis.

Earnings and dividend dates change a few times a quarter, and MarketData charges for each ask, so a ticker's events
are kept in ``events:<ticker>`` (one hash field per source and quote date) until the next New York midnight; a second
scan the same day asks nothing. Events never fail a ticker: a source's error, or Redis unavailable, leaves them
unknown (every flag empty) or simply uncached, and the chain is screened all the same.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

import redis

from scanner.market.calendar import NY
from scanner.market.events import UNKNOWN, TickerEvents
from scanner.providers.base import Provider
from scanner.scan.day_cache import DayCache, next_midnight
from scanner.store.keys import Keys

__all__ = ["EventsCache", "next_midnight", "ticker_events"]  # next_midnight lives in day_cache, named here as before


class EventsCache(DayCache[TickerEvents]):
    """``events:<ticker>`` hashes: field ``<source>:<quote date>`` → TickerEvents JSON, expiring at midnight."""

    def __init__(self, client: redis.Redis, keys: Keys, now: Callable[[], datetime] = lambda: datetime.now(NY)) -> None:
        super().__init__(client, keys.events, TickerEvents.to_json, TickerEvents.from_json, "events", now)


def ticker_events(provider: Provider, cache: EventsCache, ticker: str, as_of: date) -> TickerEvents:
    """`ticker`'s events as of `as_of`: from the cache, else asked of `provider` and cached. Never raises: a source
    that fails for this ticker leaves its events unknown (not cached, so the next scan asks again)."""
    return cache.get_or_ask(provider.name, ticker, as_of, lambda: provider.events(ticker, as_of), UNKNOWN)
