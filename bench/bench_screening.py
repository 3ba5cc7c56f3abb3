"""How long screening takes in a scan: screen() runs once per ticker on the chain its provider returned.

Figures: one 120-contract chain (4 expirations x 15 strikes x 2 sides, target <= 1.5 ms median), median and
p95 over many calls; and a whole 500-ticker scan's screening, 500 separate chains screened one by one.
Prints figures, asserts nothing.

Run: .venv/bin/python bench/bench_screening.py
"""

from __future__ import annotations

import statistics
import time
from datetime import date

import numpy as np
import pandas as pd

from scanner.market import blackscholes
from scanner.scan.criteria import Criteria
from scanner.scan.screening import screen

AS_OF = date(2026, 11, 30)
EXPIRATION_DAYS = (4, 11, 18, 25)  # the next 4 weekly expirations
STRIKES = 15  # per side and expiration
CALLS = 2_000  # timed screen() calls on one chain, after a warm-up
SCAN_TICKERS = 500
SCAN_PASSES = 3
TARGET_MS = 1.5


def provider_chain(ticker: str, rng: np.random.Generator) -> pd.DataFrame:
    """A chain as a provider hands it over: sorted by side, expiration and strike, columns typed as chain_frame
    makes them (dates as date objects, counts as floats), deltas present except where the IV is missing."""
    spot = float(np.exp(rng.uniform(np.log(15), np.log(900))))
    side, days, step = (grid.ravel() for grid in np.meshgrid(["call", "put"], EXPIRATION_DAYS, np.arange(STRIKES),
                                                            indexing="ij"))
    is_put = side == "put"
    strike = np.round(spot * np.where(is_put, 1 - 0.01 * (STRIKES - step), 1 + 0.01 * (step + 1)), 1)
    dte = days.astype(int)
    iv = rng.uniform(0.2, 0.8) * (1 + 0.5 * np.abs(np.log(strike / spot)))
    t_years = blackscholes.year_fraction(dte)
    fair = blackscholes.price(side, spot, strike, t_years, iv)
    delta = blackscholes.delta(side, spot, strike, t_years, iv)
    no_iv = rng.random(len(side)) < 0.02
    iv[no_iv] = delta[no_iv] = np.nan
    n = len(side)
    return pd.DataFrame({
        "ticker": np.full(n, ticker, dtype=object), "side": side.astype(object),
        "expiration": np.array([date.fromordinal(AS_OF.toordinal() + d) for d in dte], dtype=object),
        "strike": strike, "bid": np.maximum(np.round(fair * 0.97 - 0.01, 2), 0.0),
        "ask": np.round(fair * 1.03 + 0.01, 2), "last": np.round(fair, 2),
        "volume": rng.integers(0, 5_000, n).astype(float), "open_interest": rng.integers(0, 50_000, n).astype(float),
        "iv": iv, "delta": delta, "underlying_price": np.full(n, spot),
        "quote_date": np.full(n, AS_OF, dtype=object),
        "option_symbol": np.array([f"{ticker}  {AS_OF:%y%m%d}P{i:08d}" for i in range(n)], dtype=object),
    })


def main() -> None:
    criteria = Criteria(side="both")
    rng = np.random.default_rng(1)
    chain = provider_chain("AAPL", rng)
    for _ in range(50):  # warm-up: lazy imports, first allocations
        screen(chain, criteria, AS_OF)
    calls = []
    for _ in range(CALLS):
        started = time.perf_counter()
        screen(chain, criteria, AS_OF)
        calls.append(time.perf_counter() - started)
    median_ms, p95_ms = statistics.median(calls) * 1e3, float(np.percentile(calls, 95)) * 1e3
    print(f"screen(), one {len(chain)}-contract chain, {CALLS:,} calls: median {median_ms:.3f} ms, p95 {p95_ms:.3f} ms"
          f"   (target median <= {TARGET_MS} ms: {'met' if median_ms <= TARGET_MS else 'NOT met'})")

    chains = [provider_chain(f"T{i:03d}", rng) for i in range(SCAN_TICKERS)]
    for scan in range(1, SCAN_PASSES + 1):
        started = time.perf_counter()
        for ticker_chain in chains:
            screen(ticker_chain, criteria, AS_OF)
        total = time.perf_counter() - started
        print(f"a {SCAN_TICKERS}-ticker scan's screening, pass {scan}: {total * 1e3:.0f} ms in all "
              f"({total / SCAN_TICKERS * 1e3:.3f} ms per ticker)")


if __name__ == "__main__":
    main()
