"""A ticker's events asked once per source, ticker and day: the cache's hits, misses, expiry and failures."""

from __future__ import annotations

from datetime import UTC, date, datetime

from scanner.errors import ProviderError
from scanner.market.calendar import NY
from scanner.market.events import UNKNOWN, EarningsTime, TickerEvents
from scanner.scan.events_cache import EventsCache, next_midnight, ticker_events
from scanner.store.scans import ScanStore

QUOTE = date(2026, 12, 1)
NOW = datetime.now(NY)  # the cache's clock is Redis's: an expiry set from a fixed past day would already have passed
REPORT = TickerEvents(date(2026, 12, 10), EarningsTime.AMC, earnings_known_through=date(2026, 12, 10))


class CountingSource:
    name = "counting"

    def __init__(self, answer: TickerEvents | Exception = REPORT) -> None:
        self.answer, self.asked = answer, []

    def events(self, ticker: str, as_of: date) -> TickerEvents:
        self.asked.append((ticker, as_of))
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def cache(store: ScanStore) -> EventsCache:
    return EventsCache(store.client, store.keys, now=lambda: NOW)


def test_asked_once_per_ticker_and_quote_date_then_cached_until_midnight(fake_store: ScanStore) -> None:
    source = CountingSource()
    for _ in range(3):
        assert ticker_events(source, cache(fake_store), "AAPL", QUOTE) == REPORT
    ticker_events(source, cache(fake_store), "AAPL", date(2026, 11, 30))  # an --as-of scan of another day
    assert source.asked == [("AAPL", QUOTE), ("AAPL", date(2026, 11, 30))]
    assert fake_store.client.expiretime(fake_store.keys.events("AAPL")) == int(next_midnight(NOW).timestamp())


def test_entries_expire_at_the_next_new_york_midnight() -> None:
    assert next_midnight(datetime(2026, 12, 1, 23, 30, tzinfo=NY)) == datetime(2026, 12, 2, 0, 0, tzinfo=NY)
    assert next_midnight(datetime(2026, 12, 2, 4, 30, tzinfo=UTC)) == datetime(2026, 12, 2, 0, 0, tzinfo=NY)


def test_a_failing_source_leaves_the_events_unknown_and_uncached(fake_store: ScanStore) -> None:
    source = CountingSource(ProviderError("AAPL: MarketData unavailable"))
    assert ticker_events(source, cache(fake_store), "AAPL", QUOTE) == UNKNOWN
    assert ticker_events(source, cache(fake_store), "AAPL", QUOTE) == UNKNOWN
    assert len(source.asked) == 2
    assert not fake_store.client.exists(fake_store.keys.events("AAPL"))


def test_an_unreadable_entry_is_asked_again(fake_store: ScanStore) -> None:
    fake_store.client.hset(fake_store.keys.events("AAPL"), f"counting:{QUOTE}", "{not json")
    source = CountingSource()
    assert ticker_events(source, cache(fake_store), "AAPL", QUOTE) == REPORT
    assert len(source.asked) == 1
