"""Rows whose every filter outcome is known by reading them, shared by the filter and page tests."""

from __future__ import annotations

import numpy as np
import pandas as pd


def known_rows() -> pd.DataFrame:
    """Six contracts whose every filter outcome is known by reading the table."""
    return pd.DataFrame({
        "ticker": ["AAPL", "AAPL", "MSFT", "MSFT", "NVDA", "NVDA"],
        "side": ["put", "put", "put", "call", "put", "put"],
        "expiration": pd.to_datetime(["2026-12-04", "2026-12-11", "2026-12-04", "2026-12-04", "2026-12-18",
                                      "2026-12-24"]),
        "dte": [5, 12, 5, 5, 19, 25],
        "strike": [200.0, 195.0, 400.0, 450.0, 120.0, 115.0],
        "bid": [1.0, 1.5, 2.0, 1.2, 0.8, 0.9],
        "delta": [-0.15, -0.10, -0.19, 0.18, -0.12, np.nan],
        "annualized_return_pct": [36.5, 23.4, 36.5, 19.5, 12.8, 11.4],
        "open_interest": [500, 50, 1200, 300, 80, 10],
        "volume": [100, 5, 300, 40, 0, 1],
        "spread_pct": [5.0, 12.0, 3.0, 8.0, 30.0, 40.0],
        "change_pct": [5.0, 7.7, 4.0, -2.91, 10.0, 14.8],  # (S - K) / K: the original "Change"
        "otm_pct": [4.76, 7.15, 3.85, 3.0, 9.09, 12.89],  # puts (S - K) / S, calls (K - S) / S, of the same S
        "option_symbol": ["AAPL  261204P00200000", "AAPL  261211P00195000", "MSFT  261204P00400000",
                          "MSFT  261204C00450000", "NVDA  261218P00120000", "NVDA  261224P00115000"],
        "match": [True, False, True, False, False, False],
    })
