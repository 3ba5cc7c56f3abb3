"""NYSE hours in New York time: holidays, early closes, weekends, expirations around holidays."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from scanner.market import calendar as mh
from scanner.market.calendar import NY


def ny(*args: int) -> datetime:
    return datetime(*args, tzinfo=NY)


def test_regular_session_bounds() -> None:
    assert not mh.is_market_open(ny(2026, 11, 30, 9, 29))
    assert mh.is_market_open(ny(2026, 11, 30, 9, 30))
    assert mh.is_market_open(ny(2026, 11, 30, 15, 59, 59))
    assert not mh.is_market_open(ny(2026, 11, 30, 16, 0))


def test_thanksgiving_closed_and_black_friday_early_close() -> None:
    assert not mh.is_trading_day(date(2026, 11, 26))
    assert not mh.is_market_open(ny(2026, 11, 26, 12, 0))
    assert mh.is_trading_day(date(2026, 11, 27))
    assert mh.is_market_open(ny(2026, 11, 27, 12, 0))
    assert not mh.is_market_open(ny(2026, 11, 27, 13, 30))  # closes at 13:00


def test_weekend_closed() -> None:
    assert not mh.is_trading_day(date(2026, 11, 28))
    assert not mh.is_market_open(ny(2026, 11, 28, 11, 0))
    assert not mh.is_market_open(ny(2026, 11, 29, 11, 0))


def test_time_zones_are_respected() -> None:
    # 14:45 UTC is 09:45 in New York (EST): open. A naive clock would have said 14:45 local.
    assert mh.is_market_open(datetime(2026, 11, 30, 14, 45, tzinfo=UTC))
    # 20:30 UTC is 15:30 EST: still open, although past 16:00 by a UTC clock.
    assert mh.is_market_open(datetime(2026, 11, 30, 20, 30, tzinfo=UTC))
    assert not mh.is_market_open(datetime(2026, 11, 30, 21, 0, tzinfo=UTC))


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        mh.is_market_open(datetime(2026, 11, 30, 10, 0))


def test_next_open() -> None:
    assert mh.next_open(ny(2026, 11, 29, 12, 0)) == ny(2026, 11, 30, 9, 30)  # Sunday -> Monday
    assert mh.next_open(ny(2026, 11, 25, 17, 0)) == ny(2026, 11, 27, 9, 30)  # over Thanksgiving
    assert mh.next_open(ny(2026, 11, 30, 8, 0)) == ny(2026, 11, 30, 9, 30)  # later the same day
    assert mh.next_open(ny(2026, 11, 30, 10, 0)) == ny(2026, 12, 1, 9, 30)  # already open: the next one
    assert mh.next_open(ny(2026, 11, 29, 12, 0)).tzinfo is NY
    assert mh.next_open() > datetime.now(NY)


@pytest.mark.parametrize(("now", "expected"), [
    (ny(2026, 12, 2, 18, 45), ny(2026, 12, 3, 9, 30)),  # a weekday evening: the next morning
    (ny(2026, 12, 4, 22, 0), ny(2026, 12, 7, 9, 30)),  # a Friday night: Monday
    (ny(2026, 12, 24, 16, 30), ny(2026, 12, 28, 9, 30)),  # Christmas Eve (Thursday) after the close: past Christmas
    (ny(2026, 11, 27, 14, 0), ny(2026, 11, 30, 9, 30)),  # the afternoon after an early close (1 PM): Monday
    (ny(2026, 12, 31, 9, 29, 59), ny(2026, 12, 31, 9, 30)),  # a second before the open: that open
    (ny(2026, 12, 31, 12, 0), ny(2027, 1, 4, 9, 30)),  # New Year's Eve midday: past New Year's Day and the weekend
])
def test_next_open_is_the_exact_next_session_open(now: datetime, expected: datetime) -> None:
    assert mh.next_open(now) == expected


def test_today_ny_across_utc_midnight() -> None:
    assert mh.today_ny(datetime(2026, 12, 1, 2, 0, tzinfo=UTC)) == date(2026, 11, 30)
    assert mh.today_ny(ny(2026, 12, 1, 0, 5)) == date(2026, 12, 1)


def test_good_friday_expiration_moves_to_thursday() -> None:
    assert not mh.is_trading_day(date(2027, 3, 26))
    assert mh.weekly_expirations(date(2027, 3, 20), 2) == [date(2027, 3, 25), date(2027, 4, 2)]


def test_moved_expiration_not_after_as_of_is_skipped() -> None:
    # On Thursday 2027-03-25 that week's expiration is today: the next four weeks are returned instead.
    assert mh.weekly_expirations(date(2027, 3, 25), 4) == [date(2027, 4, d) for d in (2, 9, 16, 23)]


def test_weekly_expirations_count_and_order() -> None:
    for as_of in (date(2026, 11, 27), date(2026, 11, 28), date(2026, 11, 30), date(2026, 12, 4)):
        out = mh.weekly_expirations(as_of, 4)
        assert len(out) == 4
        assert out == sorted(out) and out[0] > as_of
        assert all(mh.is_trading_day(d) for d in out)
    # Christmas 2026 is a Friday: that week expires on Thursday the 24th.
    assert mh.weekly_expirations(date(2026, 12, 14), 2) == [date(2026, 12, 18), date(2026, 12, 24)]
    assert len(mh.weekly_expirations(date(2026, 11, 30), 52)) == 52


def test_beyond_calendar_range_falls_back_to_weekdays() -> None:
    far = date.today() + timedelta(days=365 * 15)
    monday = far - timedelta(days=far.weekday())
    assert mh.is_trading_day(monday) and not mh.is_trading_day(monday + timedelta(days=5))
    assert mh.weekly_expirations(monday, 2) == [monday + timedelta(days=4), monday + timedelta(days=11)]
    assert mh.is_market_open(datetime.combine(monday, datetime.min.time(), NY).replace(hour=10))
    evening = datetime.combine(monday, datetime.min.time(), NY).replace(hour=17)
    assert mh.next_open(evening).date() == monday + timedelta(days=1)


def test_fetch_threads_asking_at_once_build_the_calendar_once_and_hear_no_library_warning(monkeypatch) -> None:
    import threading
    import warnings

    builds: list[int] = []
    real_get_calendar = mh.xcals.get_calendar

    def counted(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        builds.append(1)
        return real_get_calendar(*args, **kwargs)

    monkeypatch.setattr(mh.xcals, "get_calendar", counted)
    mh._built_calendar.cache_clear()
    start = threading.Barrier(8)

    def ask() -> None:
        start.wait()
        mh.is_trading_day(date(2026, 11, 27))

    with warnings.catch_warnings(record=True) as heard:
        warnings.simplefilter("always")
        threads = [threading.Thread(target=ask) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert builds == [1]
    assert not [w for w in heard if "pandas" in w.category.__module__], [str(w.message) for w in heard]
