"""Filtering 100,000 screened rows with every filter set. Prints figures, asserts nothing.

Run: .venv/bin/python bench/bench_filters.py
"""

from __future__ import annotations

import statistics
import time

import _common
import numpy as np
import pandas as pd

from scanner.results.filters import Filters

ROWS, RUNS = 100_000, 21


def synthetic_rows(rows: int = ROWS, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    tickers = np.array(_common.symbols(500))
    strike = rng.uniform(10, 900, rows).round(1)
    return pd.DataFrame({
        "ticker": pd.array(tickers[rng.integers(0, len(tickers), rows)], dtype="str"),
        "side": pd.array(np.where(rng.random(rows) < 0.5, "put", "call"), dtype="str"),
        "expiration": pd.Timestamp("2026-12-04") + pd.to_timedelta(rng.integers(0, 4, rows) * 7, unit="D"),
        "dte": rng.integers(0, 30, rows),
        "strike": strike,
        "delta": rng.uniform(-0.6, 0.6, rows),
        "annualized_return_pct": rng.uniform(0, 120, rows),
        "open_interest": rng.integers(0, 5000, rows),
        "volume": rng.integers(0, 2000, rows),
        "spread_pct": rng.uniform(0, 60, rows),
        "change_pct": rng.uniform(-5, 30, rows),
        "otm_pct": rng.uniform(-5, 30, rows),
        "option_symbol": pd.array([f"SYM{i:08d}" for i in range(rows)], dtype="str"),
        "match": rng.random(rows) < 0.3,
    })


def main() -> None:
    frame = synthetic_rows()
    every = Filters(side="put", min_annualized=20, delta_min=-0.3, delta_max=-0.05, dte_min=3, dte_max=25,
                    min_open_interest=100, min_volume=10, max_spread_pct=25, min_below_pct=2,
                    tickers=tuple(_common.symbols(200)), search="SYM0000", only_matches=True)
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        kept = every.apply(frame)
        times.append((time.perf_counter() - start) * 1000)
    print(f"filtering {ROWS:,} rows with every filter set: median {statistics.median(times):.1f} ms "
          f"(min {min(times):.1f}, {len(kept)} rows kept)   target <= 30 ms")


if __name__ == "__main__":
    main()
