"""The window rules of earnings and ex-dividend dates on whole columns (DESIGN "Screening": Events), each edge."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from scanner.market.events import (
    ALWAYS,
    UNKNOWN,
    EarningsTime,
    TickerEvents,
    assignment_risk,
    earnings_in_window,
    event_columns,
    ex_dividend_in_window,
    next_report,
)

QUOTE = date(2026, 12, 1)  # a Tuesday
EXPIRATION = date(2026, 12, 11)  # a Friday


def _earnings(events: TickerEvents, expiration: date = EXPIRATION) -> object:
    columns = event_columns(pd.Series(["AAPL"]), 1, {"AAPL": events}, QUOTE)
    flag = earnings_in_window(QUOTE, np.array([expiration], dtype="datetime64[D]"), columns)
    return flag.tolist()[0]


def _ex_dividend(events: TickerEvents, expiration: date = EXPIRATION) -> object:
    columns = event_columns(pd.Series(["KO"]), 1, {"KO": events}, QUOTE)
    return ex_dividend_in_window(QUOTE, np.array([expiration], dtype="datetime64[D]"), columns).tolist()[0]


@pytest.mark.parametrize(("time", "inside"), [(EarningsTime.BMO, False), (EarningsTime.AMC, True),
                                              (EarningsTime.DMH, True), (EarningsTime.UNKNOWN, True)])
def test_a_report_on_the_quote_day_is_inside_unless_it_came_out_before_the_open(time: EarningsTime,
                                                                                inside: bool) -> None:
    assert _earnings(TickerEvents(QUOTE, time)) is inside


@pytest.mark.parametrize("time", [EarningsTime.BMO, EarningsTime.AMC])
def test_a_report_on_the_expiration_day_is_inside_before_the_open_and_after_the_close(time: EarningsTime) -> None:
    assert _earnings(TickerEvents(EXPIRATION, time)) is True


def test_a_report_the_day_after_expiration_is_outside() -> None:
    assert _earnings(TickerEvents(date(2026, 12, 12), EarningsTime.BMO)) is False


def test_a_report_already_past_at_the_quote_leaves_the_next_one_unknown() -> None:
    assert _earnings(TickerEvents(date(2026, 11, 30), EarningsTime.AMC, earnings_known_through=ALWAYS)) is pd.NA


def test_no_report_is_false_only_when_the_source_covers_the_expiration() -> None:
    assert _earnings(TickerEvents(earnings_known_through=ALWAYS)) is False
    assert _earnings(TickerEvents(earnings_known_through=EXPIRATION)) is False
    assert _earnings(TickerEvents(earnings_known_through=date(2026, 12, 10))) is pd.NA
    assert _earnings(UNKNOWN) is pd.NA


def test_a_ticker_without_events_is_empty_in_every_flag() -> None:
    columns = event_columns(pd.Series(["MSFT"]), 1, {"AAPL": TickerEvents(QUOTE)}, QUOTE)
    expiration = np.array([EXPIRATION], dtype="datetime64[D]")
    assert earnings_in_window(QUOTE, expiration, columns).tolist() == [pd.NA]
    assert ex_dividend_in_window(QUOTE, expiration, columns).tolist() == [pd.NA]


def test_ex_dividend_counts_through_the_first_session_after_expiration() -> None:
    assert _ex_dividend(TickerEvents(ex_dividend_date=date(2026, 12, 14), dividend=0.5)) is True  # Monday after
    assert _ex_dividend(TickerEvents(ex_dividend_date=date(2026, 12, 15), dividend=0.5)) is False


def test_a_holiday_after_expiration_moves_the_first_session() -> None:
    thursday = date(2026, 12, 24)  # Friday the 25th is Christmas: the first session after is Monday the 28th
    assert _ex_dividend(TickerEvents(ex_dividend_date=date(2026, 12, 28), dividend=0.5), thursday) is True
    assert _ex_dividend(TickerEvents(ex_dividend_date=date(2026, 12, 29), dividend=0.5), thursday) is False


def test_an_ex_dividend_date_on_or_before_the_quote_is_past_and_the_next_unknown() -> None:
    assert _ex_dividend(TickerEvents(ex_dividend_date=QUOTE, dividend=0.5, dividends_known_through=ALWAYS)) is pd.NA


def test_a_known_non_payer_is_false_and_an_unknown_one_empty() -> None:
    assert _ex_dividend(TickerEvents(dividends_known_through=ALWAYS)) is False
    assert _ex_dividend(UNKNOWN) is pd.NA


def test_assignment_risk_by_hand() -> None:
    # S = 100; calls K 95 (bid 5.20: extrinsic 0.20 < 0.50), K 90 (bid 10.60: 0.60 ≥ 0.50), K 105 (OTM), a put
    is_call = np.array([True, True, True, False])
    strike = np.array([95.0, 90.0, 105.0, 95.0])
    spot = np.full(4, 100.0)
    bid = np.array([5.20, 10.60, 0.40, 1.0])
    dividend = np.full(4, 0.50)
    inside = pd.array([True, True, True, True], dtype="boolean")
    assert assignment_risk(is_call, strike, spot, bid, dividend, inside).tolist() == [True, False, False, pd.NA]
    outside = pd.array([False] * 4, dtype="boolean")
    assert assignment_risk(is_call, strike, spot, bid, dividend, outside).tolist() == [False, False, False, pd.NA]
    unknown = pd.array([None] * 4, dtype="boolean")
    assert assignment_risk(is_call, strike, spot, bid, dividend, unknown).tolist() == [pd.NA, pd.NA, False, pd.NA]
    no_amount = np.full(4, np.nan)
    assert assignment_risk(is_call, strike, spot, bid, no_amount, inside).tolist() == [pd.NA, pd.NA, False, pd.NA]


def test_the_next_report_skips_one_out_this_morning_when_a_later_one_is_listed() -> None:
    later = (date(2027, 3, 2), EarningsTime.AMC)
    assert next_report([(QUOTE, EarningsTime.BMO), later], QUOTE) == later
    assert next_report([(QUOTE, EarningsTime.BMO)], QUOTE) == (QUOTE, EarningsTime.BMO)
    assert next_report([(date(2026, 11, 1), EarningsTime.AMC)], QUOTE) is None


def test_time_words_of_sources_are_read() -> None:
    assert [EarningsTime.read(text) for text in ("bmo", "After Market Close", "pre", "during market hours", "",
                                                 None, "tbd")] == [
        EarningsTime.BMO, EarningsTime.AMC, EarningsTime.BMO, EarningsTime.DMH, EarningsTime.UNKNOWN,
        EarningsTime.UNKNOWN, EarningsTime.UNKNOWN]


def test_events_round_trip_through_their_cached_form() -> None:
    events = TickerEvents(QUOTE, EarningsTime.AMC, date(2026, 12, 4), 0.26, ALWAYS, None, "note")
    assert TickerEvents.from_json(events.to_json()) == events
