"""The simulated market's earnings and dividends (DESIGN "Data sources": demo): deterministic per ticker and day.

Each ticker reports on a quarterly cycle (every 91 days from a phase of its own, moved to the next session, at a
time of its own), so about a third of a watch-list reports within the next four weeks; about half the tickers pay
a quarterly dividend (its own phase and a yield of 0.5-3.5 %). The simulation knows every date, so what it does not
list does not happen: both are covered always.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from functools import lru_cache

from scanner.market.calendar import is_trading_day
from scanner.market.events import ALWAYS, EarningsTime, TickerEvents

_QUARTER = 91  # days between two reports (and two ex-dividend dates)
_EPOCH = date(2024, 1, 1).toordinal()
_TIMES = (EarningsTime.AMC, EarningsTime.BMO, EarningsTime.AMC, EarningsTime.BMO, EarningsTime.DMH)
_PAYER_SHARE = 0.5


@lru_cache(maxsize=4096)
def _session_on_or_after(day: date) -> date:
    """Cached: every ticker of a scan walks the same few dates, and each calendar lookup costs pandas calls."""
    while not is_trading_day(day):
        day += timedelta(days=1)
    return day


def _next_in_cycle(phase: int, quote_date: date, keep: Callable[[date], bool]) -> date:
    """The first date of the quarterly cycle at `phase` (moved to a session) that `keep` accepts."""
    start = quote_date.toordinal() - _QUARTER  # a date a quarter back: its successor is never missed
    cycles = (start - _EPOCH - phase) // _QUARTER
    while True:
        day = _session_on_or_after(date.fromordinal(_EPOCH + phase + cycles * _QUARTER))
        if keep(day):
            return day
        cycles += 1


def simulated_events(symbol: str, quote_date: date, spot: float, draws: tuple[float, float, float, float]) -> \
        TickerEvents:
    """`symbol`'s events as of `quote_date`, from four uniform draws fixed per ticker (earnings phase and time,
    dividend phase and yield); `spot` sizes the dividend."""
    earnings_phase, time_draw, dividend_draw, yield_draw = draws
    time = _TIMES[int(time_draw * len(_TIMES))]
    earnings = _next_in_cycle(int(earnings_phase * _QUARTER), quote_date,
                              lambda day: day > quote_date or (day == quote_date and time is not EarningsTime.BMO))
    if dividend_draw >= _PAYER_SHARE:
        return TickerEvents(earnings, time, earnings_known_through=ALWAYS, dividends_known_through=ALWAYS)
    ex_dividend = _next_in_cycle(int(dividend_draw / _PAYER_SHARE * _QUARTER), quote_date,
                                 lambda day: day > quote_date)
    dividend = round(float(spot) * (0.005 + 0.03 * float(yield_draw)) / 4, 2)
    return TickerEvents(earnings, time, ex_dividend, dividend, ALWAYS, ALWAYS)
