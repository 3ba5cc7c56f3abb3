"""How long screening takes in a scan: screen() runs once per ticker on the chain its provider returned.

Figures: one 120-contract chain (4 expirations x 15 strikes x 2 sides, target <= 1.5 ms median), median and
p95 over many calls, in a few rounds with the load average beside each (the machine is shared: a loaded one
slows every call; the CPU-time median, the time the call itself ran, moves less than the wall time); and a whole
500-ticker scan's screening, 500 separate chains screened one by one. Prints figures, asserts nothing.
To compare two versions in one run, alternate it with PYTHONPATH pointing at the other's checkout.

Run: .venv/bin/python bench/bench_screening.py
"""

from __future__ import annotations

import os
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
CALLS = 1_000  # timed screen() calls on one chain per round, after a warm-up
ROUNDS = 3
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
    for round_number in range(1, ROUNDS + 1):
        wall, cpu = [], []
        for _ in range(CALLS):
            started, started_cpu = time.perf_counter(), time.thread_time()
            screen(chain, criteria, AS_OF)
            cpu.append(time.thread_time() - started_cpu)
            wall.append(time.perf_counter() - started)
        median_ms, p95_ms = statistics.median(wall) * 1e3, float(np.percentile(wall, 95)) * 1e3
        print(f"round {round_number}: screen(), one {len(chain)}-contract chain, {CALLS:,} calls: "
              f"median {median_ms:.3f} ms, p95 {p95_ms:.3f} ms, CPU-time median {statistics.median(cpu) * 1e3:.3f} ms"
              f"   (target median <= {TARGET_MS} ms: {'met' if median_ms <= TARGET_MS else 'NOT met'})"
              f"   load average {_load()}")

    chains = [provider_chain(f"T{i:03d}", rng) for i in range(SCAN_TICKERS)]
    for scan in range(1, SCAN_PASSES + 1):
        started = time.perf_counter()
        for ticker_chain in chains:
            screen(ticker_chain, criteria, AS_OF)
        total = time.perf_counter() - started
        print(f"a {SCAN_TICKERS}-ticker scan's screening, pass {scan}: {total * 1e3:.0f} ms in all "
              f"({total / SCAN_TICKERS * 1e3:.3f} ms per ticker)   load average {_load()}")


def _load() -> str:
    """The 1, 5 and 15-minute load averages (the machine has few cores: above their number, calls wait for one)."""
    return " / ".join(f"{load:.1f}" for load in os.getloadavg())


if __name__ == "__main__":
    main()
