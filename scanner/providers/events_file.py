"""A snapshot folder's optional ``events.csv`` (DESIGN "Data sources": snapshot).

Columns ``ticker,earnings_date,earnings_time,ex_dividend_date,dividend``; ``earnings_time`` one of bmo, amc, dmh or
empty. A ticker listed with empty dates has none (every flag false); a ticker not listed is unknown (every flag
empty), and so is a date that cannot be read (logged) or one already past at the quote: the file names the next
report, and a past one says nothing of the one after it.
"""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path

import pandas as pd

from scanner.market.events import ALWAYS, UNKNOWN, EarningsTime, TickerEvents

log = logging.getLogger(__name__)

NAME = "events.csv"
_COLUMNS = ("ticker", "earnings_date", "earnings_time", "ex_dividend_date", "dividend")


def _day(value: object, what: str, ticker: str) -> tuple[date | None, bool]:
    """(the date, whether the cell was readable): an empty cell is readable and no date."""
    if pd.isna(value) or not str(value).strip():
        return None, True
    try:
        return date.fromisoformat(str(value).strip()), True
    except ValueError:
        log.warning("%s: %s %r in %s is not a YYYY-MM-DD date; taken as unknown", ticker, what, value, NAME)
        return None, False


def _amount(value: object) -> float | None:
    number = pd.to_numeric(pd.Series([value]), errors="coerce").iloc[0]
    return None if pd.isna(number) or number < 0 else float(number)


def _ticker_events(row: pd.Series) -> TickerEvents:
    ticker = str(row["ticker"])
    earnings, earnings_readable = _day(row.get("earnings_date"), "earnings_date", ticker)
    ex_dividend, dividend_readable = _day(row.get("ex_dividend_date"), "ex_dividend_date", ticker)
    return TickerEvents(
        earnings_date=earnings, earnings_time=EarningsTime.read(row.get("earnings_time")) if earnings else
        EarningsTime.UNKNOWN,
        ex_dividend_date=ex_dividend, dividend=_amount(row.get("dividend")) if ex_dividend else None,
        earnings_known_through=ALWAYS if earnings_readable else None,
        dividends_known_through=ALWAYS if dividend_readable else None)


def read_events(folder: Path) -> dict[str, TickerEvents]:
    """Every ticker's events in the folder's events.csv ({} without one, or when it cannot be read: logged)."""
    path = folder / NAME
    if not path.is_file():
        return {}
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        log.warning("%s skipped: %s", NAME, exc)
        return {}
    if "ticker" not in frame:
        log.warning("%s skipped: no ticker column (expected %s)", NAME, ",".join(_COLUMNS))
        return {}
    frame["ticker"] = frame["ticker"].str.strip().str.upper()
    return {row["ticker"]: _ticker_events(row) for _, row in frame[frame["ticker"] != ""].iterrows()}


def events_of(table: dict[str, TickerEvents], ticker: str, as_of: date) -> TickerEvents:
    """One ticker's events from the file's table as a quote on `as_of` sees them (unknown when not listed)."""
    return table.get(str(ticker).strip().upper(), UNKNOWN).as_of(as_of)
