"""The words a page marks events with: row markers, a ticker's title marker, a contract's detail lines."""

from __future__ import annotations

import pandas as pd

from scanner.results.events_marks import detail_lines, row_marks, ticker_markers


def _rows() -> pd.DataFrame:
    return pd.DataFrame({
        "ticker": ["AAPL", "AAPL", "KO", "KO"], "side": ["put", "call", "put", "call"],
        "earnings_date": pd.to_datetime(["2026-12-10", "2026-12-10", None, None]),
        "earnings_time": ["amc", "amc", None, None],
        "earnings_in_window": pd.array([False, True, None, None], dtype="boolean"),
        "ex_dividend_date": pd.to_datetime([None, None, "2026-12-04", "2026-12-04"]),
        "dividend": [None, None, 0.51, 0.51],
        "ex_dividend_in_window": pd.array([None, None, True, True], dtype="boolean"),
        "assignment_risk": pd.array([None, None, None, True], dtype="boolean"),
    })


def test_row_markers_say_earnings_and_ex_dividend_on_calls_only() -> None:
    assert row_marks(_rows()).tolist() == ["", "🔴 earnings", "", "ex-div · early assignment"]


def test_the_title_marker_names_the_report_of_tickers_with_contracts_through_it() -> None:
    assert ticker_markers(_rows()) == {"AAPL": "earnings Thu 12-10 after close"}


def test_detail_lines_warn_of_what_falls_inside_the_life() -> None:
    aapl_call, ko_call = _rows().iloc[1], _rows().iloc[3]
    assert detail_lines(aapl_call) == [("Earnings Thu 12-10 after close: inside the contract's life.", True),
                                       ("Ex-dividend: the source does not say.", False)]
    assert detail_lines(ko_call)[1:] == [
        ("Ex-dividend Fri 12-04 ($0.51): inside the contract's life.", True),
        ("Early assignment risk: in the money, with less extrinsic value than the dividend: a holder may exercise "
         "the day before the ex-date.", True)]
    assert detail_lines(ko_call)[0] == ("Earnings: the source does not say.", False)


def test_rows_stored_before_events_have_no_marker() -> None:
    old = pd.DataFrame({"ticker": ["A"], "side": ["call"]})
    assert row_marks(old).tolist() == [""] and ticker_markers(old.assign(earnings_in_window=None)) == {}
