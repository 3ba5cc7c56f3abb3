"""How a page marks earnings and ex-dividend dates inside a contract's life: the row marker (the view column
``events``), the ticker's title marker ("earnings Thu 12-10 after close") and each ticker's next report.

Words only, no Streamlit: the results view, the detail and the tests read the same texts.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from scanner.market.events import EarningsTime

EARNINGS_MARK = "🔴 earnings"
EX_DIVIDEND_MARK = "ex-div"
ASSIGNMENT_MARK = "early assignment"


def _flag(rows: pd.DataFrame, name: str) -> np.ndarray:
    """True where the flag is known true (rows stored before events have none)."""
    if name not in rows:
        return np.zeros(len(rows), dtype=bool)
    return rows[name].to_numpy(dtype=bool, na_value=False)


def row_marks(rows: pd.DataFrame) -> np.ndarray:
    """Per row, its marker: "🔴 earnings" when the report falls inside its life, "ex-div" on a call whose life holds
    an ex-dividend date (", early assignment" when it risks it); empty otherwise."""
    earnings = _flag(rows, "earnings_in_window")
    calls = (rows["side"] == "call").to_numpy(dtype=bool, na_value=False)
    ex_dividend = _flag(rows, "ex_dividend_in_window") & calls
    assignment = _flag(rows, "assignment_risk")
    parts = [np.where(earnings, EARNINGS_MARK, ""), np.where(ex_dividend, EX_DIVIDEND_MARK, ""),
             np.where(assignment, ASSIGNMENT_MARK, "")]
    joined = [" · ".join(part for part in row if part) for row in zip(*parts, strict=True)]
    return np.array(joined, dtype=object)


def earnings_words(day: pd.Timestamp, time: str | None) -> str:
    """A report as a title says it: "earnings Thu 12-10 after close"."""
    try:
        spoken = EarningsTime(time).words
    except ValueError:
        spoken = EarningsTime.UNKNOWN.words
    return f"earnings {day:%a %m-%d} {spoken}"


def ticker_markers(rows: pd.DataFrame) -> dict[str, str]:
    """Ticker → its title marker, for the tickers some of whose screened contracts live through the next report."""
    through = rows[_flag(rows, "earnings_in_window")].drop_duplicates("ticker")
    return {str(row.ticker): earnings_words(pd.Timestamp(row.earnings_date), row.earnings_time)
            for row in through.itertuples()}


def next_earnings(rows: pd.DataFrame) -> pd.Series:
    """Ticker → its next earnings date (NaT where the source does not say)."""
    if "earnings_date" not in rows or rows.empty:
        return pd.Series(dtype="datetime64[s]")
    return rows.groupby("ticker", sort=True)["earnings_date"].min()
