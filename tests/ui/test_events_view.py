"""AppTest of the events on the results page: the red earnings marker in a ticker's title and on its rows, the
ex-dividend marker on calls, each ticker's next earnings in the summary, and the "contracts through earnings"
filter in the URL."""

from __future__ import annotations

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from scanner.store.scans import ScanStore
from scanner.ui.markdown import plain
from tests.support.paths import ROOT
from tests.support.results_view import opened
from tests.support.rows import known_rows
from tests.support.stored import store_scan

EVERYTHING = {"rules": "0", "side": "both", "min_ann": "", "delta_min": "", "delta_max": ""}


def events_rows() -> pd.DataFrame:
    """``known_rows`` with events: AAPL reports Thursday 12-03 after the close (inside both its contracts' lives),
    MSFT's call lives through an ex-dividend date, NVDA's source said nothing."""
    rows = known_rows()
    aapl, msft = (rows["ticker"] == "AAPL").to_numpy(), (rows["ticker"] == "MSFT").to_numpy()
    rows["earnings_date"] = pd.to_datetime(["2026-12-03", "2026-12-03", "2027-01-28", "2027-01-28", None, None])
    rows["earnings_time"] = ["amc", "amc", "bmo", "bmo", None, None]
    rows["earnings_in_window"] = pd.array([*aapl[:4], None, None], dtype="boolean")
    rows["ex_dividend_date"] = pd.to_datetime([None, None, "2026-12-03", "2026-12-03", None, None])
    rows["dividend"] = [None, None, 0.83, 0.83, None, None]
    rows["ex_dividend_in_window"] = pd.array([None, None, True, True, None, None], dtype="boolean")
    rows["assignment_risk"] = pd.array([None, None, None, False, None, None], dtype="boolean")
    assert msft.sum() == 2
    return rows


@pytest.fixture
def with_events(scanner_env, real_store: ScanStore) -> ScanStore:
    store_scan(real_store, "events", events_rows(), 1_700_000_000.0, criteria={"side": "both", "earnings": "flag"})
    return real_store


def _main(query: dict[str, str]) -> AppTest:
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    for name, value in query.items():
        at.query_params[name] = value
    return at.run()


def _labels(at: AppTest) -> dict[str, str]:
    return {e.label.split(" — ")[0]: e.label for e in at.expander}


def test_the_ticker_reporting_inside_its_contracts_lives_carries_the_red_marker(with_events) -> None:
    at = opened(_main(EVERYTHING))
    assert not at.exception
    labels = _labels(at)
    assert labels["AAPL"].startswith("AAPL — 2 options — :red[earnings Thu 12-03 after close] — last scan ")
    assert "earnings" not in labels["MSFT"] and "earnings" not in labels["NVDA"]
    aapl = next(e for e in at.expander if e.label.startswith("AAPL")).dataframe[0].value
    assert aapl["events"].tolist() == ["🔴 earnings", "🔴 earnings"]
    msft = next(e for e in at.expander if e.label.startswith("MSFT")).dataframe[0].value.set_index("side")
    assert msft.loc["call", "events"] == "ex-div" and msft.loc["put", "events"] == ""  # on calls only
    summary = at.dataframe[0].value.set_index("ticker")
    assert summary.loc["AAPL", "next_earnings"] == pd.Timestamp("2026-12-03")
    assert pd.isna(summary.loc["NVDA", "next_earnings"])


@pytest.mark.parametrize(("choice", "shown"), [("hide", {"MSFT", "NVDA"}), ("only", {"AAPL"}),
                                               ("show", {"AAPL", "MSFT", "NVDA"})])
def test_the_through_earnings_filter_hides_or_keeps_them_and_goes_to_the_url(with_events, choice: str,
                                                                             shown: set[str]) -> None:
    at = _main(EVERYTHING)
    at.selectbox(key="filter_earnings").set_value(choice).run()
    assert not at.exception
    assert set(_labels(at)) == shown
    assert at.query_params.get("earnings") == (None if choice == "show" else choice)
    again = _main({**EVERYTHING, "earnings": choice})
    assert set(_labels(again)) == shown


def test_a_contracts_detail_says_its_events(with_events) -> None:
    at = _main({})  # the scan's rules (flag): AAPL's 200 put and MSFT's 400 put match
    at.session_state["main-summary"] = {"selection": {"rows": [0], "columns": [], "cells": []}}  # AAPL's best
    at.run()
    assert not at.exception
    texts = [m.value for m in at.markdown]
    inside = plain("Earnings Thu 12-03 after close: inside the contract's life.")
    assert f":red[{inside}]" in texts
    assert plain("Ex-dividend: the source does not say.") in texts
