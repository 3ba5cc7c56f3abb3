"""Earnings and ex-dividend dates inside a contract's life (DESIGN "Screening": Events).

A source says what it knows of a ticker as one ``TickerEvents``: the next earnings report (date and time), the
next ex-dividend date with its amount, and how far its knowledge reaches (``*_known_through``). That last part is
what tells "no earnings before this expiration" (false) from "the source does not say" (empty): a flag is false
only when the source covers the dates through the expiration. The window rules then run on whole columns,
once per chain, as the rest of screening does.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, fields, replace
from datetime import date
from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd

from scanner.market.calendar import next_session


class EarningsTime(StrEnum):
    """When in the day a report comes out."""

    BMO = "bmo"  # before the open: already out by a quote that day
    AMC = "amc"  # after the close
    DMH = "dmh"  # during market hours
    UNKNOWN = "unknown"  # not announced

    @property
    def words(self) -> str:
        """How a reason or a page says it ("after close")."""
        return _TIME_WORDS[self]

    @classmethod
    def read(cls, value: Any) -> EarningsTime:
        """A source's time text ("bmo", "after market close", "pre", "post", empty) as an EarningsTime."""
        text = str(value or "").strip().lower()
        if text in cls._value2member_map_:
            return cls(text)
        for words, time in _TIME_SYNONYMS:
            if any(word in text for word in words):
                return time
        return cls.UNKNOWN


_TIME_WORDS = {EarningsTime.BMO: "before the open", EarningsTime.AMC: "after close",
               EarningsTime.DMH: "during market hours", EarningsTime.UNKNOWN: "time not announced"}
_TIME_SYNONYMS = ((("before", "pre", "morning"), EarningsTime.BMO), (("after", "post", "evening"), EarningsTime.AMC),
                  (("during",), EarningsTime.DMH))
ALWAYS = date.max  # what a source that knows every date covers (the demo; a ticker listed without dates)


@dataclass(frozen=True)
class TickerEvents:
    """What a source knows of one ticker's events as of a quote date; the defaults know nothing.

    ``earnings_known_through``: the source lists every report up to that day (a known next report covers the days
    before it by itself). ``dividends_known_through`` likewise for ex-dividend dates. ``note``: what the scan should
    say once about this source's events (a refused endpoint), never an error of the ticker.
    """

    earnings_date: date | None = None
    earnings_time: EarningsTime = EarningsTime.UNKNOWN
    ex_dividend_date: date | None = None
    dividend: float | None = None
    earnings_known_through: date | None = None
    dividends_known_through: date | None = None
    note: str = ""

    def to_json(self) -> str:
        return json.dumps({name: value.isoformat() if isinstance(value, date) else value
                           for name, value in asdict(self).items()})

    @classmethod
    def from_json(cls, text: str | bytes) -> TickerEvents:
        """The cached form back; ValueError (or KeyError/TypeError) when it is not one."""
        raw = json.loads(text)
        dates = {name: None if raw.get(name) is None else date.fromisoformat(raw[name])
                 for name in ("earnings_date", "ex_dividend_date", "earnings_known_through", "dividends_known_through")}
        dividend = raw.get("dividend")
        return cls(**dates, earnings_time=EarningsTime(raw.get("earnings_time", "unknown")),
                   dividend=None if dividend is None else float(dividend), note=str(raw.get("note", "")))

    def as_of(self, quote_date: date) -> TickerEvents:
        """These events as a quote on `quote_date` sees them: a report before that day is out (the next one is not
        known), and an ex-dividend date on or before it is past (the next one is not known either)."""
        events = self
        if events.earnings_date is not None and events.earnings_date < quote_date:
            events = replace(events, earnings_date=None, earnings_time=EarningsTime.UNKNOWN,
                             earnings_known_through=None)
        if events.ex_dividend_date is not None and events.ex_dividend_date <= quote_date:
            events = replace(events, ex_dividend_date=None, dividend=None, dividends_known_through=None)
        return events


UNKNOWN = TickerEvents()


def next_report(reports: Iterable[tuple[date, EarningsTime]], quote_date: date) -> tuple[date, EarningsTime] | None:
    """The earliest report not yet out at a quote on `quote_date` (a `bmo` report that day is out), else the one
    out that very morning (the window rule reads it as outside every contract), else None."""
    upcoming = sorted(report for report in reports if report[0] >= quote_date)
    not_out = [report for report in upcoming
               if not (report[0] == quote_date and report[1] is EarningsTime.BMO)]
    return (not_out or upcoming or [None])[0]


def _days(values: Iterable[date | None]) -> np.ndarray:
    return np.array([np.datetime64("NaT") if day is None else np.datetime64(day, "D") for day in values],
                    dtype="datetime64[D]")


@dataclass(frozen=True)
class EventColumns:
    """Per row, its ticker's events (NaT/NaN/"" where unknown) and what the source covers."""

    earnings_date: np.ndarray  # datetime64[D]
    earnings_time: np.ndarray  # object: EarningsTime values, "" without a date
    ex_dividend_date: np.ndarray
    dividend: np.ndarray  # float
    earnings_known_through: np.ndarray
    dividends_known_through: np.ndarray

    def take(self, rows: np.ndarray) -> EventColumns:
        """These columns at `rows`: events worked out once per group of rows, given to each of its rows."""
        return EventColumns(*(getattr(self, field.name)[rows] for field in fields(self)))

    def knows_nothing(self) -> bool:
        """No date and no coverage on any row (a source without events): every window flag is empty."""
        return all(np.isnat(days).all() for days in (self.earnings_date, self.ex_dividend_date,
                                                     self.earnings_known_through, self.dividends_known_through))


def event_columns(tickers: pd.Series | np.ndarray | None, n: int, events: Mapping[str, TickerEvents],
                  quote_date: date) -> EventColumns:
    """Each row's ticker's events as `quote_date` sees them, broadcast once per distinct ticker (a ticker the
    mapping lacks knows nothing)."""
    if tickers is None:
        codes, uniques = np.full(n, -1), []
    else:
        codes, uniques = pd.factorize(np.asarray(tickers, dtype=object))
    known = [events.get(str(ticker), UNKNOWN).as_of(quote_date) for ticker in uniques] + [UNKNOWN]
    return EventColumns(
        earnings_date=_days(e.earnings_date for e in known)[codes],
        earnings_time=np.array([e.earnings_time.value if e.earnings_date else "" for e in known], dtype=object)[codes],
        ex_dividend_date=_days(e.ex_dividend_date for e in known)[codes],
        dividend=np.array([np.nan if e.dividend is None else e.dividend for e in known], dtype=float)[codes],
        earnings_known_through=_days(e.earnings_known_through for e in known)[codes],
        dividends_known_through=_days(e.dividends_known_through for e in known)[codes],
    )


def _flag(true: np.ndarray, false: np.ndarray) -> pd.arrays.BooleanArray:
    """A nullable boolean column: true where `true`, false where `false` (and not true), empty elsewhere."""
    return pd.arrays.BooleanArray(true, ~(true | false))


def earnings_in_window(quote_date: date, expiration: np.ndarray, columns: EventColumns) -> pd.arrays.BooleanArray:
    """quote_date ≤ earnings_date ≤ expiration, except a `bmo` report on the quote date (already out). False where
    the next report falls after the expiration or the source covers every date through it; empty otherwise."""
    quote = np.datetime64(quote_date, "D")
    day = columns.earnings_date
    out_this_morning = (day == quote) & (columns.earnings_time == EarningsTime.BMO.value)
    with np.errstate(invalid="ignore"):
        inside = (day >= quote) & (day <= expiration) & ~out_this_morning
        after = (day > expiration) | out_this_morning
        covered = ~np.isnat(columns.earnings_known_through) & (columns.earnings_known_through >= expiration)
    dated = ~np.isnat(expiration)
    return _flag(inside & dated, (after | (np.isnat(day) & covered)) & dated & ~inside)


def first_sessions_after(expiration: np.ndarray) -> np.ndarray:
    """Per row, the first NYSE session after its expiration (NaT for none), once per distinct expiration."""
    days = expiration.astype("datetime64[D]").astype(object).tolist()  # dates, None for NaT
    following = {day: next_session(day) for day in set(days) if day is not None}
    return _days(following.get(day) for day in days)


def ex_dividend_in_window(quote_date: date, expiration: np.ndarray, columns: EventColumns) -> pd.arrays.BooleanArray:
    """quote_date < ex_dividend_date ≤ the first NYSE session after the expiration (the day before it is the last
    cum-dividend day, the early-exercise day). False where the next ex-date is later or the source covers every
    date through that session; empty otherwise."""
    quote = np.datetime64(quote_date, "D")
    last = first_sessions_after(expiration)
    day = columns.ex_dividend_date
    with np.errstate(invalid="ignore"):
        inside = (day > quote) & (day <= last)
        after = day > last
        covered = ~np.isnat(columns.dividends_known_through) & (columns.dividends_known_through >= last)
    dated = ~np.isnat(last)
    return _flag(inside & dated, (after | (np.isnat(day) & covered)) & dated & ~inside)


def assignment_risk(is_call: np.ndarray, strike: np.ndarray, spot: np.ndarray, bid: np.ndarray, dividend: np.ndarray,
                    ex_dividend: pd.arrays.BooleanArray) -> pd.arrays.BooleanArray:
    """Calls only: ex-dividend inside the window, in the money (K < S), and extrinsic value bid − (S − K) below the
    dividend, so a holder gains by exercising the day before the ex-date. False where any of these is known not to
    hold; empty for puts and where it cannot be told (an unknown ex-date, or an unknown dividend on an ITM call)."""
    in_window = ex_dividend.to_numpy(dtype=bool, na_value=False)
    outside = ~(in_window | ex_dividend.isna())
    with np.errstate(all="ignore"):  # quotes out of scale overflow: those rows are unusable anyway
        itm = strike < spot
        otm = strike >= spot
        extrinsic = bid - (spot - strike)
        cheap = extrinsic < dividend
        rich = extrinsic >= dividend
    return _flag(is_call & in_window & itm & cheap, is_call & (outside | otm | (in_window & rich)))
