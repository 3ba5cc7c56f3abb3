"""Roll arithmetic by hand on the real chains in ../shared/data: net credit = new bid − the open contract's ask,
annualized on the new strike over the days added, best first; tested and expired open contracts."""

from __future__ import annotations

import json
from datetime import date

import pandas as pd
import pytest

from scanner.providers.marketdata import chain_frame
from scanner.providers.snapshot import td_frame
from scanner.scan.positions import Book, ShortOption, parse_option_symbol
from scanner.scan.rolls import is_tested, open_statuses
from tests.support.paths import shared_file


def _spy() -> pd.DataFrame:
    return td_frame(json.loads(shared_file("tdameritrade/spy_chain_2020-01-29.json").read_text()))


def test_a_tested_spy_put_rolls_out_two_days_at_or_below_its_strike() -> None:
    book = Book(options=(ShortOption("SPY200129P00326000", 1, 0.50),))
    [status] = open_statuses(book, _spy(), today=date(2020, 1, 29))
    assert (status.bid, status.ask, status.underlying) == (0.02, 0.03, 326.22)  # the chain's own 326 put
    assert status.tested and not status.expired  # 326.22 ≤ 326 × 1.05
    best, second = status.candidates.iloc[0], status.candidates.iloc[1]
    assert (best.option_symbol, best.days_added) == ("SPY_013120P326", 2)
    assert best.net_credit == pytest.approx(1.33 - 0.03)
    assert best.annualized_net_credit_pct == pytest.approx(1.30 / 326 * 365 / 2 * 100)  # 72.78 %
    assert second.option_symbol == "SPY_013120P325.5" and second.net_credit == pytest.approx(1.15 - 0.03)
    assert second.annualized_net_credit_pct == pytest.approx(1.12 / 325.5 * 365 / 2 * 100)  # 62.80 %
    assert (status.candidates.strike <= 326).all()
    assert (pd.to_datetime(status.candidates.expiration).dt.date == date(2020, 1, 31)).all()
    assert status.candidates.annualized_net_credit_pct.is_monotonic_decreasing


def test_an_aapl_put_rolls_into_the_real_marketdata_expiration() -> None:
    """The MarketData chain holds one expiration (2023-06-16): a short 2023-06-02 175 put, quoted at an ask of 1.10
    (a row as a quote by option symbol adds it), rolls into its puts at 175 and below."""
    chain = chain_frame(json.loads(shared_file("marketdata/options_chain_AAPL_2023-05-21.json").read_text()))
    open_quote = chain[chain.option_symbol == "AAPL230616P00175000"].assign(
        expiration=date(2023, 6, 2), option_symbol="AAPL230602P00175000", bid=1.05, ask=1.10)
    rows = pd.concat([chain, open_quote], ignore_index=True)
    [status] = open_statuses(Book(options=(ShortOption("AAPL230602P00175000", 2, 1.5),)), rows, date(2023, 5, 21))
    assert status.ask == 1.10 and status.underlying == 175.13 and status.tested
    top = status.candidates.head(3)
    assert list(top.strike) == [175.0, 170.0, 165.0]
    assert top.net_credit.tolist() == pytest.approx([3.30 - 1.10, 1.74 - 1.10, 0.92 - 1.10])  # a debit last
    assert top.days_added.tolist() == [14, 14, 14]
    assert top.annualized_net_credit_pct.iloc[0] == pytest.approx(2.20 / 175 * 365 / 14 * 100)  # 32.78 %
    assert top.annualized_net_credit_pct.iloc[1] == pytest.approx(0.64 / 170 * 365 / 14 * 100)  # 9.82 %


def test_a_call_rolls_up_an_expired_one_not_and_an_unquoted_contract_has_no_net_credit() -> None:
    call = Book(options=(ShortOption("SPY200129C00330000", 1, 0.2),))
    [status] = open_statuses(call, _spy(), date(2020, 1, 29))
    assert not status.expired and (status.candidates.strike >= 330).all() and len(status.candidates)
    assert status.candidates.days_added.eq(2).all()
    [expired] = open_statuses(call, _spy(), date(2020, 1, 30))
    assert expired.expired and expired.candidates.empty  # 2020-01-29 is past: it asks to be recorded, not rolled
    [unquoted] = open_statuses(Book(options=(ShortOption("SPY200129P00100000", 1, 0.2),)), _spy(), date(2020, 1, 29))
    assert unquoted.ask is None and unquoted.candidates.net_credit.isna().all()


def test_tested_means_within_the_alert_percent_of_the_strike_or_beyond() -> None:
    put, call = parse_option_symbol("X261218P00100000"), parse_option_symbol("X261218C00100000")
    assert is_tested(put, 105.0, 5.0) and not is_tested(put, 105.01, 5.0) and is_tested(put, 90.0, 5.0)
    assert is_tested(call, 95.0, 5.0) and not is_tested(call, 94.99, 5.0) and not is_tested(call, None, 5.0)
    assert not is_tested(put, 108.0, 5.0) and is_tested(put, 108.0, 10.0)


def test_the_headline_says_why_an_open_contract_has_no_quote() -> None:
    call = Book(options=(ShortOption("SPY200129C00330000", 1, 0.2),))
    [quoted] = open_statuses(call, _spy(), date(2020, 1, 29))
    assert quoted.headline == (f"SPY200129C00330000 ×1 (call 330, exp 2020-01-29): bid {quoted.bid:.2f} / ask "
                               f"{quoted.ask:.2f}, stock {quoted.underlying:.2f}")
    [expired] = open_statuses(call, pd.DataFrame(), date(2020, 1, 30))  # a scan asks no quote of an expired one
    assert expired.headline.endswith(": expired, not quoted, stock not scanned")
    [unquoted] = open_statuses(Book(options=(ShortOption("SPY200129P00100000", 1, 0.2),)), _spy(), date(2020, 1, 29))
    assert "no quote in the scan (its source had none: the scan's log says why)" in unquoted.headline
    [unscanned] = open_statuses(call, pd.DataFrame(), date(2020, 1, 29))
    assert unscanned.headline.endswith(": no quote in the scan, stock not scanned")
