"""One contract in detail: picking a row of a results table opens its figures, payoff chart and neighbouring strikes."""

from __future__ import annotations

import json

import pandas as pd
import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest

from scanner.scan.engine import counters
from scanner.store.lock import ScanLock
from scanner.store.scans import ScanStore
from scanner.ui.detail import OPEN, neighbours, payoff_chart
from tests.support.paths import ROOT
from tests.support.results_view import opened
from tests.support.rows_clock import RowsClock
from tests.support.stored import PRICE, ranked_rows, store_scan


@pytest.fixture
def ranked(scanner_env, real_store: ScanStore) -> ScanStore:
    store_scan(real_store, "ranked", ranked_rows(), 1_700_000_000.0, criteria={"side": "both"})
    return real_store


def _main() -> AppTest:
    return AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60).run()


def _pick(at: AppTest, key: str, row: int) -> AppTest:
    """Pick ``row`` of the table ``key``, as a click on it does."""
    at.session_state[key] = {"selection": {"rows": [row], "columns": [], "cells": []}}
    return at.run()


def _figures(at: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in at.metric}


def _payoff(at: AppTest) -> tuple[dict, list[pd.DataFrame]]:
    chart = next(e for e in at.get("vega_lite_chart") if "layer" in json.loads(e.proto.spec))
    return json.loads(chart.proto.spec), [pa.ipc.open_stream(d.data.data).read_pandas() for d in chart.proto.datasets]


def test_picking_a_summary_row_opens_its_best_contracts_figures_payoff_and_neighbours(ranked) -> None:
    at = _pick(_main(), "main-summary", 0)  # AAPL: its best by annualized, the 200 put of 12-04
    assert not at.exception
    figures = _figures(at)
    assert figures["Premium"] == "$100.00" and figures["Collateral"] == "$20,000.00"
    assert figures["POP"] == "92.10%" and figures["Delta"] == "-0.150" and figures["IV"] == "30.00%"
    assert figures["Spread"] == "5.00%" and figures["Open int."] == "500" and figures["Break-even"] == "$199.00"
    assert figures["Annualized"] == "36.50%" and figures["DTE"] == "5"
    assert "If called" not in figures  # a put
    assert [s.value for s in at.success] == ["Passes the scan's rules."]
    near = next(d for d in at.dataframe if "picked" in d.value.columns).value
    assert near["strike"].tolist() == [190.0, 200.0, 205.0]  # AAPL's 12-04 puts
    assert near["picked"].tolist() == [False, True, False]
    assert near["reason"].tolist() == ["", "", "delta -0.25 < -0.20"]
    spec, data = _payoff(at)
    marks = next(frame for frame in data if "mark" in frame.columns).set_index("mark")["price"].to_dict()
    assert marks == {"Break-even": 199.0, "Strike": 200.0, "Price now": PRICE, "−1 exp. move": 202.5,
                     "+1 exp. move": 217.5}
    curve = next(frame for frame in data if "pnl" in frame.columns and "price" in frame.columns).set_index("price")
    assert curve.loc[199.0, "pnl"] == pytest.approx(0.0) and curve.loc[210.0, "pnl"] == pytest.approx(100.0)


def test_a_pick_in_the_flat_table_opens_that_contract_and_a_non_match_says_why(ranked) -> None:
    at = _main()
    at.checkbox(key="filter_only_matches").uncheck().run()
    at.number_input(key="filter_min_annualized").set_value(None).run()
    every = next(t for t in opened(at, tab="All shown").tabs if t.label.startswith("All shown")).dataframe[0].value
    place = every["option_symbol"].tolist().index("AAPL  261204P00205000")
    _pick(at, "main-all", place)
    assert [w.value for w in at.warning] == ["Not a match: delta -0.25 < -0.20."]
    assert _figures(at)["Delta"] == "-0.250"


def test_a_pick_in_a_tickers_near_misses_opens_it_and_the_detail_stays_open_until_closed(ranked) -> None:
    at = _pick(opened(_main()), "main-near-AAPL", 0)  # the nearest miss: the 195 put of 12-11
    assert [w.value for w in at.warning] == ["Not a match: annualized 23.40% < 30%."]
    assert _figures(at)["Premium"] == "$150.00"
    at.run()  # the page's own rerun (its idle check): still open
    assert _figures(at)["Premium"] == "$150.00"
    del at.session_state[OPEN]  # what closing the dialog does
    at.run()
    assert not at.metric and not at.warning  # the row is still picked, but only a new pick opens it again
    _pick(at, "main-rows-AAPL", 1)  # AAPL's contracts, by expiration then strike: the 200 put
    assert _figures(at)["Premium"] == "$100.00"


def test_a_covered_calls_detail_shows_its_return_if_called_and_the_history_page_opens_details_too(ranked) -> None:
    at = _pick(opened(_main()), "main-near-MSFT", 0)  # the 450 call, bid 1.20, on shares bought at 210
    figures = _figures(at)
    assert figures["If called"] == "115.52%"  # (1.20 + 450 − 210) / (210 − 1.20)
    assert figures["Collateral"] == "$21,000.00" and figures["Break-even"] == "$208.80"
    assert any("on 100 shares bought at the price now" in c.value for c in at.caption)
    history = opened(AppTest.from_file(str(ROOT / "pages" / "history.py"), default_timeout=60).run(), scope="history",
                     tab="All shown")
    history = _pick(history, "history-all", 2)
    assert not history.exception
    assert _figures(history)["Collateral"] == "$40,000.00"  # the MSFT 400 put


def test_the_detail_stays_open_while_a_running_scan_adds_tickers(scanner_env, real_store: ScanStore,
                                                                 rows_clock: RowsClock) -> None:
    rows = ranked_rows().assign(underlying_price=PRICE)
    assert ScanLock(real_store.client, real_store.keys, ttl=30).acquire()
    real_store.create("live", provider="demo", provider_label="Demo", criteria={"side": "both"},
                      tickers=["AAPL", "MSFT"])
    real_store.mark_running("live", pid=1, host="test")
    aapl, msft = rows[rows["ticker"] == "AAPL"], rows[rows["ticker"] == "MSFT"]
    real_store.record_ticker("live", "MSFT", msft, None, counters(1, 2, len(msft), 1, 0, "MSFT"))
    at = _pick(_main(), "main-summary", 0)  # MSFT, the only ticker in: its 400 put
    assert _figures(at)["Collateral"] == "$40,000.00"
    real_store.record_ticker("live", "AAPL", aapl, None, counters(2, 2, len(aapl), 2, 0, "AAPL"))
    rows_clock.past_the_window()
    at.run()  # the running page's refresh: AAPL is in, before MSFT, and the scan's version moved
    assert at.dataframe[0].value["ticker"].tolist() == ["AAPL", "MSFT"]
    assert _figures(at)["Collateral"] == "$40,000.00"


def test_a_covered_calls_payoff_chart_keeps_the_premium_at_the_price_and_breaks_even_below_it() -> None:
    call = ranked_rows().assign(underlying_price=PRICE).loc[3]  # MSFT 450 call, bid 1.20, on shares bought at 210
    spec = payoff_chart(call).to_dict()
    curve = pd.DataFrame(spec["datasets"][spec["layer"][0]["data"]["name"]]).set_index("price")
    assert curve.loc[PRICE, "pnl"] == pytest.approx(120.0)  # the premium
    assert curve.loc[208.8, "pnl"] == pytest.approx(0.0)  # the break-even: 210 − 1.20


def test_neighbours_are_a_few_strikes_either_side_of_the_same_expiration_and_side() -> None:
    rows = ranked_rows()
    wide = pd.concat([rows, rows.iloc[[0] * 5].assign(strike=[170.0, 175.0, 180.0, 210.0, 215.0])], ignore_index=True)
    near = neighbours(wide, wide.loc[0], count=2)  # the AAPL 200 put of 12-04
    assert near["strike"].tolist() == [180.0, 190.0, 200.0, 205.0, 210.0]
    assert near["picked"].tolist() == [False, False, True, False, False]
    assert set(near["expiration"]) == {pd.Timestamp("2026-12-04")} and set(near["side"]) == {"put"}
