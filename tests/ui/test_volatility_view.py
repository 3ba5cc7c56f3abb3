"""AppTest of a scan's volatility figures on the results page (issue 17): the summary's IV30, IV rank with its
sessions and HV20, the ticker's expander title, the minimum IV rank and IV/HV filters in the URL, and the chart of
the ticker's IV30 history with HV20 beside it."""

from __future__ import annotations

import json
from datetime import date, timedelta

import numpy as np
import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest

from scanner.store.iv_history import IvHistory, IvPoint
from scanner.store.scans import ScanStore
from scanner.ui.filters_panel import MORE_SHOWN
from tests.support.paths import ROOT
from tests.support.results_view import opened
from tests.support.rows import known_rows
from tests.support.stored import store_scan

FIGURES = {  # ticker → iv30, iv_rank, iv_percentile, iv_rank_days, hv20, iv_hv_ratio
    "AAPL": (0.31, 64.0, 70.0, 38, 0.25, 1.24),
    "MSFT": (0.22, 12.0, 10.0, 252, 0.24, 0.92),
    "NVDA": (0.55, np.nan, np.nan, 12, 0.50, 1.10),
}


@pytest.fixture
def ranked_scan(scanner_env, real_store: ScanStore) -> ScanStore:
    rows = known_rows()
    columns = ("iv30", "iv_rank", "iv_percentile", "iv_rank_days", "hv20", "iv_hv_ratio")
    for index, name in enumerate(columns):
        rows[name] = rows["ticker"].map({ticker: values[index] for ticker, values in FIGURES.items()})
    rows["iv_rank_days"] = rows["iv_rank_days"].astype("Int64")
    store_scan(real_store, "ranked", rows, 1_700_000_000.0, criteria={"side": "both"})
    IvHistory(real_store.client, real_store.keys).record_many("demo", "AAPL", [
        IvPoint(date(2026, 10, 1) + timedelta(days=day), 0.25 + 0.001 * day, 0.2) for day in range(38)])
    return real_store


def _main(query: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    for name, value in {"rules": "0", "side": "both", "min_ann": "", "delta_min": "", "delta_max": "",
                        **(query or {})}.items():
        at.query_params[name] = value
    return at.run()


def test_the_summary_shows_iv30_the_iv_rank_with_its_sessions_and_hv20(ranked_scan) -> None:
    at = _main()
    assert not at.exception
    summary = at.dataframe[0].value.set_index("ticker")
    assert summary["iv_rank"].to_dict() == {"AAPL": "64 · 38 days", "MSFT": "12 · 252 days",
                                            "NVDA": "— · 12 days (needs 20)"}
    assert summary["iv30"].to_dict() == pytest.approx({"AAPL": 0.31, "MSFT": 0.22, "NVDA": 0.55})
    assert summary.loc["AAPL", "hv20"] == pytest.approx(0.25)
    sent = json.loads(at.dataframe[0].proto.columns)
    assert (sent["iv30"]["label"], sent["iv_rank"]["label"], sent["hv20"]["label"]) == ("IV30", "IV rank", "HV20")
    assert any(e.label.startswith("AAPL") and "IV rank 64 · 38 days" in e.label for e in at.expander)


def test_minimum_iv_rank_and_iv_hv_filter_the_tickers_and_live_in_the_url(ranked_scan) -> None:
    at = _main()
    at.sidebar.toggle(key=MORE_SHOWN).set_value(True).run()
    at.sidebar.number_input(key="filter_min_iv_rank").set_value(50.0).run()
    assert {e.label.split(" — ")[0] for e in at.expander} == {"AAPL"}
    assert at.query_params["min_ivr"] == "50"
    at = _main({"min_ivhv": "1"})
    assert not at.exception
    assert {e.label.split(" — ")[0] for e in at.expander} == {"AAPL", "NVDA"}
    assert at.sidebar.number_input(key="filter_min_iv_hv").value == 1.0


def test_the_charts_tab_draws_the_tickers_iv30_history_with_hv20_beside_it(ranked_scan) -> None:
    at = opened(_main(), tab="Charts")
    charts = [e for e in at.main if getattr(e, "type", None) == "vega_lite_chart"]
    data = [pa.ipc.open_stream(chart.proto.datasets[0].data.data).read_pandas() for chart in charts]
    history = next(frame for frame in data if "series" in frame)
    assert sorted(history["series"].unique()) == ["HV20", "IV30"]
    assert (history["series"] == "IV30").sum() == 38
    assert any("AAPL: IV30 history (demo)" in header.value for header in at.subheader)


def test_a_ticker_without_a_rank_yet_keeps_its_title_plain(ranked_scan) -> None:
    titles = {e.label.split(" — ")[0]: e.label for e in _main().expander}
    assert "IV rank" not in titles["NVDA"] and "IV rank 12 · 252 days" in titles["MSFT"]
