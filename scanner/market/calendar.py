"""NYSE sessions, holidays and weekly expirations, always in New York time.

The original app compared the local clock against 9:30-16:00 and ignored holidays, early closes and
time zones; every market-time question now goes through the XNYS calendar here.
"""

from __future__ import annotations

import threading
import warnings
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import exchange_calendars as xcals
import pandas as pd
from pandas.errors import PandasChangeWarning

NY = ZoneInfo("America/New_York")
REGULAR_OPEN, REGULAR_CLOSE = time(9, 30), time(16, 0)  # used only beyond the calendar's range
_CALENDAR_YEARS_AHEAD = 2  # the library's default horizon is 1 year; holidays are rule-based, so 2 is safe
_CALENDAR_BUILD = threading.Lock()


def _calendar() -> xcals.ExchangeCalendar:
    """The XNYS calendar, built once per process even when the scan's fetch threads all ask at once."""
    with _CALENDAR_BUILD:
        return _built_calendar()


@lru_cache(maxsize=1)
def _built_calendar() -> xcals.ExchangeCalendar:
    """Building takes ~0.5 s. exchange_calendars 4.13 trips pandas 3 deprecation warnings while building;
    they are the library's to fix and would otherwise surface in every scan log and in `-W error` test runs.
    ``catch_warnings`` swaps process-wide filters, so it must never run in two threads at once (one thread
    leaving it would restore the filters while the other still builds): the lock above sees to that.
    """
    end = pd.Timestamp.now(tz=NY).normalize().tz_localize(None) + pd.DateOffset(years=_CALENDAR_YEARS_AHEAD)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PandasChangeWarning)
        return xcals.get_calendar("XNYS", end=end)


def _in_range(d: date) -> bool:
    cal = _calendar()
    return cal.first_session.date() <= d <= cal.last_session.date()


def _aware(now: datetime | None) -> datetime:
    """`now` in New York; naive datetimes are refused because their zone is a guess."""
    if now is None:
        return datetime.now(NY)
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime")
    return now.astimezone(NY)


def today_ny(now: datetime | None = None) -> date:
    """The calendar date in New York (a UTC server is a day ahead every evening after 19:00/20:00 ET)."""
    return _aware(now).date()


def is_trading_day(d: date) -> bool:
    """True on NYSE sessions; weekdays count as sessions beyond the calendar's range."""
    return _calendar().is_session(pd.Timestamp(d)) if _in_range(d) else d.weekday() < 5


def _session_bounds(d: date) -> tuple[datetime, datetime] | None:
    """Open and close of the session on `d` in New York time (early closes included), None if closed."""
    if not is_trading_day(d):
        return None
    if not _in_range(d):
        return datetime.combine(d, REGULAR_OPEN, NY), datetime.combine(d, REGULAR_CLOSE, NY)
    cal, session = _calendar(), pd.Timestamp(d)
    return (cal.session_open(session).tz_convert(NY).to_pydatetime(),
            cal.session_close(session).tz_convert(NY).to_pydatetime())


def is_market_open(now: datetime | None = None) -> bool:
    """True between a session's open (inclusive) and close (exclusive)."""
    now = _aware(now)
    bounds = _session_bounds(now.date())
    return bounds is not None and bounds[0] <= now < bounds[1]


def next_open(now: datetime | None = None) -> datetime:
    """The first session open strictly after `now`, in New York time."""
    now = _aware(now)
    day = now.date()
    while True:  # ends within a few days: no exchange closes for weeks
        bounds = _session_bounds(day)
        if bounds is not None and bounds[0] > now:
            return bounds[0]
        day += timedelta(days=1)


def _expiration_for_week(friday: date) -> date | None:
    """The week's expiration: Friday, or the last trading day before it when Friday is a holiday."""
    for back in range(5):  # Friday back to Monday
        day = friday - timedelta(days=back)
        if is_trading_day(day):
            return day
    return None  # the whole week closed


def weekly_expirations(as_of: date, weeks: int) -> list[date]:
    """The next `weeks` weekly expirations strictly after `as_of`.

    A holiday Friday moves to the trading day before (Good Friday -> Thursday); a moved date that
    is not after `as_of` is skipped so the caller still gets `weeks` dates.
    """
    return list(_weekly_expirations(as_of, weeks))


@lru_cache(maxsize=64)
def _weekly_expirations(as_of: date, weeks: int) -> tuple[date, ...]:
    """Cached: every ticker of a scan asks for the same dates, and each calendar lookup costs pandas calls."""
    friday = as_of + timedelta(days=(4 - as_of.weekday()) % 7 or 7)
    out: list[date] = []
    while len(out) < weeks:
        expiration = _expiration_for_week(friday)
        if expiration is not None and expiration > as_of:
            out.append(expiration)
        friday += timedelta(days=7)
    return tuple(out)


@lru_cache(maxsize=4096)
def next_session(day: date) -> date:
    """The first NYSE session strictly after `day` (holidays skipped): an expiration's last cum-dividend day."""
    following = day + timedelta(days=1)
    while not is_trading_day(following):  # ends within a few days: no exchange closes for weeks
        following += timedelta(days=1)
    return following
