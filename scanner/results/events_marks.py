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


def _known(value: object) -> bool:
    return value is not None and not (not isinstance(value, str) and pd.isna(value))


def _truth(value: object) -> bool | None:
    """A flag of one row as True, False or None (unknown), whatever scalar type the frame gave it."""
    return bool(value) if _known(value) else None


def detail_lines(row: pd.Series) -> list[tuple[str, bool]]:
    """A contract's events in words for its detail, each with whether it is a warning (inside its life)."""
    lines = []
    inside = _truth(row.get("earnings_in_window"))
    if _known(row.get("earnings_date")):
        where = ("inside the contract's life" if inside is True
                 else "after the contract's life" if inside is False else "the source does not cover its life")
        words = earnings_words(pd.Timestamp(row["earnings_date"]), row.get("earnings_time"))
        lines.append((f"E{words[1:]}: {where}.", inside is True))
    else:
        lines.append(("Earnings: none inside the contract's life." if inside is False
                      else "Earnings: the source does not say.", False))
    ex_inside = _truth(row.get("ex_dividend_in_window"))
    if _known(row.get("ex_dividend_date")):
        amount = f" (${row['dividend']:,.2f})" if _known(row.get("dividend")) else ""
        where = "inside the contract's life" if ex_inside is True else "after the contract's life"
        lines.append((f"Ex-dividend {pd.Timestamp(row['ex_dividend_date']):%a %m-%d}{amount}: {where}.",
                      ex_inside is True and row.get("side") == "call"))
    else:
        lines.append(("Ex-dividend: none inside the contract's life." if ex_inside is False
                      else "Ex-dividend: the source does not say.", False))
    if _truth(row.get("assignment_risk")) is True:
        lines.append(("Early assignment risk: in the money, with less extrinsic value than the dividend: a holder "
                      "may exercise the day before the ex-date.", True))
    return lines
