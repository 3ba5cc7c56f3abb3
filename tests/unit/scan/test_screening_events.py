"""Screening with events: the event columns per contract and the `earnings` criterion (exclude or flag)."""

from __future__ import annotations

from datetime import date

import pandas as pd

from scanner.market.events import ALWAYS, EarningsTime, TickerEvents
from scanner.providers.base import ChainRequest
from scanner.providers.demo import DemoProvider
from scanner.scan.criteria import Criteria, EarningsRule
from scanner.scan.screening import near_misses, screen

QUOTE = date(2026, 12, 1)
REPORT = TickerEvents(date(2026, 12, 10), EarningsTime.AMC, date(2026, 12, 4), 0.26, ALWAYS, ALWAYS)


def _chain() -> pd.DataFrame:
    return DemoProvider().fetch("NVDA", ChainRequest(sides=("put", "call"), as_of=QUOTE))


def _flagged() -> pd.DataFrame:
    return screen(_chain(), Criteria(side="both", earnings=EarningsRule.FLAG), QUOTE, events={"NVDA": REPORT})


def test_contracts_through_the_report_never_match_and_say_why() -> None:
    flagged = _flagged()
    excluded = screen(_chain(), Criteria(side="both"), QUOTE, events={"NVDA": REPORT})
    through = flagged["earnings_in_window"].to_numpy(dtype=bool)
    assert flagged["match"][through].any(), "some contracts through the report pass every other rule"
    assert not excluded["match"][through].any()
    newly_failing = through & flagged["match"].to_numpy()
    assert set(excluded["reason"][newly_failing]) == {"earnings 2026-12-10 after close, inside the contract's life"}
    assert excluded["match"][~through].equals(flagged["match"][~through])
    assert (excluded["rules_failed"][newly_failing] == 1).all()
    assert not near_misses(excluded)["reason"].str.startswith("earnings").any()  # not measurable: no near miss


def test_the_earnings_reason_comes_after_annualized() -> None:
    excluded = screen(_chain(), Criteria(side="both"), QUOTE, events={"NVDA": REPORT})
    through = excluded["earnings_in_window"].to_numpy(dtype=bool)
    poor = through & (excluded["annualized_return_pct"] < 20).to_numpy()
    assert poor.any()
    assert excluded["reason"][poor].str.startswith("annualized").all()


def test_each_contract_carries_its_tickers_events_and_windows() -> None:
    rows = _flagged()
    assert set(rows["earnings_date"]) == {pd.Timestamp("2026-12-10")}
    assert set(rows["earnings_time"]) == {"amc"}
    assert rows["dividend"].eq(0.26).all()
    by_expiration = rows.groupby("expiration")["earnings_in_window"].first()
    assert by_expiration.tolist() == [False, True, True, True]  # 12-04 ends before the report
    assert rows["ex_dividend_in_window"].all()  # 12-04 is the first session after nothing: inside every life
    puts = rows["side"] == "put"
    assert rows["assignment_risk"][puts].isna().all()
    assert not rows["assignment_risk"][~puts].any()  # the demo's calls are out of the money


def test_a_ticker_without_events_has_them_empty_and_matches_as_before() -> None:
    without = screen(_chain(), Criteria(side="both"), QUOTE)
    with_other = screen(_chain(), Criteria(side="both"), QUOTE, events={"AAPL": REPORT})
    for rows in (without, with_other):
        assert rows["earnings_in_window"].isna().all()
        assert rows["ex_dividend_in_window"].isna().all()
        assert rows["earnings_date"].isna().all()
    assert without["match"].equals(with_other["match"])
    assert without["match"].equals(_flagged()["match"])
