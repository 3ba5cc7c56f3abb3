"""The IV30 history (issue 17): one point per source, ticker and NYSE session, the last scan of the session winning,
400 days kept, every history listed in the index."""

from __future__ import annotations

import math
from datetime import date, timedelta

from scanner.store.iv_history import KEEP_DAYS, IvHistory, IvPoint, session_of
from scanner.store.scans import ScanStore


def history(store: ScanStore) -> IvHistory:
    return IvHistory(store.client, store.keys)


def test_three_scans_in_a_session_keep_one_point_the_last(fake_store: ScanStore) -> None:
    ivs = history(fake_store)
    for iv in (0.30, 0.32, 0.31):
        window = ivs.record("demo", {"AAPL": IvPoint(date(2026, 12, 1), iv, 0.2)})["AAPL"]
    assert window == [IvPoint(date(2026, 12, 1), 0.31, 0.2)]
    assert ivs.points("demo", "AAPL") == window


def test_record_reads_back_the_window_up_to_the_session_oldest_first(fake_store: ScanStore) -> None:
    ivs = history(fake_store)
    ivs.record_many("demo", "AAPL", [IvPoint(date(2026, 11, 30), 0.20), IvPoint(date(2026, 12, 2), 0.40)])
    window = ivs.record("demo", {"AAPL": IvPoint(date(2026, 12, 1), 0.30)})["AAPL"]
    assert [point.iv30 for point in window] == [0.20, 0.30]  # a later (backfilled) session is not today's window
    assert math.isnan(window[0].hv20)


def test_points_older_than_400_days_are_trimmed(fake_store: ScanStore) -> None:
    ivs = history(fake_store)
    today = date(2026, 12, 1)
    ivs.record_many("demo", "AAPL", [IvPoint(today - timedelta(days=KEEP_DAYS + 1), 0.5),
                                     IvPoint(today - timedelta(days=KEEP_DAYS), 0.4)])
    ivs.record("demo", {"AAPL": IvPoint(today, 0.3)})
    assert [point.iv30 for point in ivs.points("demo", "AAPL")] == [0.4, 0.3]


def test_histories_are_per_source_and_listed_in_the_index(fake_store: ScanStore) -> None:
    ivs = history(fake_store)
    ivs.record("demo", {"AAPL": IvPoint(date(2026, 12, 1), 0.9)})
    ivs.record("marketdata", {"AAPL": IvPoint(date(2026, 12, 1), 0.3)})
    assert ivs.points("marketdata", "AAPL") == [IvPoint(date(2026, 12, 1), 0.3)]  # the demo's never mixes in
    assert ivs.sources_of("AAPL") == ["demo", "marketdata"] and ivs.sources_of("MSFT") == []
    assert fake_store.client.smembers(fake_store.keys.iv_index) == {"demo:AAPL", "marketdata:AAPL"}


def test_a_weekend_quote_belongs_to_the_friday_session() -> None:
    assert session_of(date(2026, 12, 5)) == date(2026, 12, 4)  # Saturday
    assert session_of(date(2026, 11, 26)) == date(2026, 11, 25)  # Thanksgiving
    assert session_of(date(2026, 12, 1)) == date(2026, 12, 1)


def test_an_unreadable_member_is_skipped(fake_store: ScanStore) -> None:
    fake_store.client.zadd(fake_store.keys.iv_history("demo", "AAPL"), {"not json": 1})
    assert history(fake_store).record("demo", {"AAPL": IvPoint(date(2026, 12, 1), 0.3)})["AAPL"] == [
        IvPoint(date(2026, 12, 1), 0.3)]


def test_a_batch_of_tickers_records_each_point_and_reads_each_window_in_one_multi(fake_store: ScanStore) -> None:
    ivs = history(fake_store)
    ivs.record_many("demo", "AAPL", [IvPoint(date(2026, 11, 27), 0.20), IvPoint(date(2026, 11, 30), 0.25)])
    ivs.record_many("demo", "MSFT", [IvPoint(date(2026, 11, 30), 0.40)])
    sent = []
    pipeline = fake_store.client.pipeline

    def counted(*args: object, **kwargs: object) -> object:
        pipe = pipeline(*args, **kwargs)
        sent.append(pipe)
        return pipe

    fake_store.client.pipeline = counted  # type: ignore[method-assign]
    windows = ivs.record("demo", {"AAPL": IvPoint(date(2026, 12, 1), 0.30, 0.2),
                                           "MSFT": IvPoint(date(2026, 12, 1), 0.50)})
    assert len(sent) == 1  # one MULTI for the batch
    assert [p.iv30 for p in windows["AAPL"]] == [0.20, 0.25, 0.30] and windows["AAPL"][-1].hv20 == 0.2
    assert [p.iv30 for p in windows["MSFT"]] == [0.40, 0.50]
    assert ivs.points("demo", "MSFT") == windows["MSFT"] and ivs.record("demo", {}) == {}
