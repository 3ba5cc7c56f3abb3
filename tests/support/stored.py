"""Scans stored from known rows, for the page tests: each row's match, score, reason and misses read off the table."""

from __future__ import annotations

import numpy as np
import pandas as pd

from scanner.scan.engine import counters
from scanner.store.scans import ScanStore
from tests.support.rows import known_rows

PRICE = 210.0  # every stored row's underlying price


def store_scan(store: ScanStore, scan_id: str, rows: pd.DataFrame, started: float,
               criteria: dict | None = None) -> None:
    """``rows`` stored as a completed scan ``scan_id`` of the demo source, started at ``started``."""
    tickers = sorted(rows["ticker"].unique())
    store.create(scan_id, provider="demo", provider_label="Demo", criteria=criteria or {"side": "put"},
                 tickers=tickers)
    store.client.zadd(store.keys.scans, {scan_id: started})
    store.set_fields(scan_id, started_at=started)
    for done, (ticker, group) in enumerate(rows.assign(underlying_price=PRICE).groupby("ticker"), 1):
        store.record_ticker(scan_id, ticker, group, None,
                            counters(done, len(tickers), len(group), int(group["match"].sum()), 0, ticker))
    store.finish(scan_id, "completed")


def ranked_rows() -> pd.DataFrame:
    """``known_rows`` and three more AAPL puts, with what screening adds for "which one do I sell".

    Matches: AAPL 200 put (annualized 36.5, score 30.1), AAPL 190 put (annualized 34.0, lower, but score 31.5,
    higher), MSFT 400 put (score 33.0). Near misses (one rule failed): AAPL 195 put (annualized, 22 % short), AAPL
    190 put of 12-11 (annualized, 36 % short), MSFT 450 call (annualized, 2.5 % short), NVDA 120 put. Two rules
    failed: AAPL 205 put (delta and annualized), NVDA 115 put (delta missing). AAPL's 12-04 puts: 190, 200, 205.
    """
    extra = pd.DataFrame({
        "ticker": ["AAPL"] * 3, "side": ["put"] * 3,
        "expiration": pd.to_datetime(["2026-12-04", "2026-12-04", "2026-12-11"]), "dte": [5, 5, 12],
        "strike": [190.0, 205.0, 190.0], "bid": [0.885, 0.6, 1.2], "delta": [-0.08, -0.25, -0.08],
        "annualized_return_pct": [34.0, 21.37, 19.21], "open_interest": [900, 40, 70], "volume": [120, 2, 9],
        "spread_pct": [4.0, 20.0, 9.0], "change_pct": [10.53, 2.44, 10.53], "otm_pct": [9.52, 2.38, 9.52],
        "option_symbol": ["AAPL  261204P00190000", "AAPL  261204P00205000", "AAPL  261211P00190000"],
        "match": [True, False, False],
    })
    rows = pd.concat([known_rows(), extra], ignore_index=True)
    put = (rows["side"] == "put").to_numpy()
    rows["premium"] = rows["bid"] * 100
    rows["collateral"] = np.where(put, rows["strike"], PRICE) * 100
    rows["break_even"] = np.where(put, rows["strike"], PRICE) - rows["bid"]
    rows["period_return_pct"] = rows["bid"] / rows["break_even"] * 100  # the net capital: K − bid, calls S − bid
    rows["annualized_period_return_pct"] = rows["period_return_pct"] * 365 / rows["dte"]
    called = (rows["bid"] + rows["strike"] - PRICE) / rows["break_even"] * 100  # calls: on S − bid
    rows["if_called_return_pct"] = np.where(put, np.nan, called)
    rows["pop_pct"] = [92.1, 88.0, 85.5, 83.0, 90.0, np.nan, 95.2, 70.4, 93.0]
    rows["iv"] = [0.30, 0.31, 0.25, 0.24, 0.45, np.nan, 0.33, 0.28, 0.32]
    rows["atm_iv"] = 0.28
    rows["expected_move"] = 7.5
    rows["score"] = [30.1, np.nan, 33.0, np.nan, np.nan, np.nan, 31.5, np.nan, np.nan]
    rows["reason"] = ["", "annualized 23.40% < 30%", "", "annualized 19.50% < 20%", "annualized 12.80% < 30%",
                      "delta missing", "", "delta -0.25 < -0.20", "annualized 19.21% < 30%"]
    rows["rules_failed"] = pd.array([0, 1, 0, 1, 1, 2, 0, 2, 1], dtype="Int64")
    rows["miss_pct"] = [np.nan, 22.0, np.nan, 2.5, 57.33, np.nan, np.nan, 25.0, 35.97]
    return rows
