"""How fast screen() is, against the per-contract Python loop it replaces. Prints figures, asserts nothing.

Targets (the issue): >= 10 million contracts/s on a million contracts in provider order, and >= 20x
the per-row Python loop, both from medians of repeated timed runs in one process.

Run: .venv/bin/python bench/bench_screening.py
"""

from __future__ import annotations

import math
import statistics
import time
from datetime import date
from typing import Callable

import numpy as np
import pandas as pd

from scanner.market import blackscholes
from scanner.scan.criteria import Criteria
from scanner.scan.screening import screen

AS_OF = date(2026, 11, 30)
TICKERS, SIDES, EXPIRATIONS, STRIKES = 2_500, 2, 4, 50  # 1,000,000 contracts
LOOP_ROWS = 100_000
RUNS = 7  # timed runs per figure (after one warm-up); the figures are medians
TARGET_RATE, TARGET_RATIO = 10e6, 20.0


def synthetic_chain(seed: int = 1) -> pd.DataFrame:
    """A million contracts in provider order (ticker, side, expiration, strike), 2 % without a delta."""
    rng = np.random.default_rng(seed)
    ticker_i, side_i, exp_i, strike_i = np.indices((TICKERS, SIDES, EXPIRATIONS, STRIKES)).reshape(4, -1)
    n = ticker_i.size
    spot = np.exp(rng.uniform(np.log(15), np.log(900), TICKERS))[ticker_i]
    is_put = side_i == 1
    strike = np.round(spot * np.where(is_put, 1 - 0.006 * (STRIKES - strike_i), 1 + 0.006 * (strike_i + 1)), 1)
    dte = 4 + 7 * exp_i
    iv = rng.uniform(0.2, 0.8, TICKERS)[ticker_i] * (1 + 0.5 * np.abs(np.log(strike / spot)))
    fair = blackscholes.price(np.where(is_put, "put", "call"), spot, strike, blackscholes.year_fraction(dte), iv)
    bid = np.maximum(np.round(fair * 0.97 - 0.01, 2), 0.0)
    delta = blackscholes.delta(np.where(is_put, "put", "call"), spot, strike, blackscholes.year_fraction(dte), iv)
    delta[rng.random(n) < 0.02] = np.nan
    return pd.DataFrame({
        "ticker": pd.array(np.char.add("T", np.char.zfill(ticker_i.astype(str), 4)), dtype="str"),
        "side": pd.array(np.where(is_put, "put", "call"), dtype="str"),
        "expiration": (np.datetime64(AS_OF, "D") + dte).astype("datetime64[s]"),
        "strike": strike, "bid": bid, "ask": np.round(fair * 1.03 + 0.01, 2), "last": np.round(fair, 2),
        "volume": rng.integers(0, 5_000, n), "open_interest": rng.integers(0, 50_000, n),
        "iv": iv, "delta": delta, "underlying_price": spot,
        "quote_date": np.full(n, np.datetime64(AS_OF, "s")),
        "option_symbol": pd.array(np.full(n, "T0000 261204P00100000"), dtype="str"),
    })


def python_loop(rows: list[tuple], criteria: Criteria) -> list[tuple]:
    """The same metrics and match rules, one contract at a time (how the original app did it)."""
    out = []
    put_ok, call_ok = "put" in criteria.sides, "call" in criteria.sides
    for side, expiration, strike, bid, ask, iv, delta, spot in rows:
        dte = (expiration - AS_OF).days
        if math.isnan(delta) and 0 < iv <= 5 and strike > 0:
            t = (dte + 1) / 365
            d1 = (math.log(spot / strike) + (0.04 + 0.5 * iv * iv) * t) / (iv * math.sqrt(t))
            n_d1 = 0.5 * (1 + math.erf(d1 / math.sqrt(2)))
            delta = n_d1 if side == "call" else n_d1 - 1
        if strike > 0:
            annualized = max(bid, 0.0) / strike / max(dte, 1) * 365 * 100
            change = (spot - strike) / strike * 100
            break_even = strike - bid if side == "put" else strike + bid
        else:
            annualized = change = break_even = math.nan
        mid = (bid + ask) / 2
        spread = (ask - bid) / mid * 100 if mid > 0 else math.nan
        limit = next((v for d, v in criteria.call_delta_table if dte <= d), criteria.call_delta_beyond)
        match = strike > 0 and bid >= 0 and dte >= 0 and (
            (put_ok and side == "put" and annualized >= criteria.min_put_annualized and delta >= criteria.put_delta_floor)
            or (call_ok and side == "call" and annualized >= criteria.min_call_annualized and delta <= limit))
        out.append((dte, mid, spread, bid * 100, strike * 100, break_even, 1 - abs(delta), annualized, change, match))
    return out


def timed_runs(func: Callable[[], object], runs: int = RUNS) -> list[float]:
    """Wall-clock seconds of `runs` calls, after one untimed warm-up (lazy imports, first allocations)."""
    func()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        func()
        times.append(time.perf_counter() - started)
    return times


def median_seconds(func: Callable[[], object], runs: int = RUNS) -> float:
    return statistics.median(timed_runs(func, runs))


def main() -> None:
    criteria = Criteria(side="both")
    chain = synthetic_chain()
    n = len(chain)
    rates = [n / seconds for seconds in timed_runs(lambda: screen(chain, criteria, AS_OF))]
    vectorized = statistics.median(rates)

    shuffled = chain.sample(frac=1, random_state=2, ignore_index=True)
    unsorted = n / median_seconds(lambda: screen(shuffled, criteria, AS_OF), runs=3)

    small = chain.iloc[:60].copy()  # one ticker as a scan screens it: 4 expirations x 15 strikes
    per_call = median_seconds(lambda: [screen(small, criteria, AS_OF) for _ in range(100)]) / 100

    subset = chain.iloc[:LOOP_ROWS]
    rows = list(zip(subset.side, subset.expiration.dt.date, *(subset[c].tolist() for c in
                                                               ("strike", "bid", "ask", "iv", "delta", "underlying_price"))))
    looped = LOOP_ROWS / median_seconds(lambda: python_loop(rows, criteria), runs=3)

    check = screen(subset, criteria, AS_OF)
    agree = (check.match.to_numpy() == np.array([r[-1] for r in python_loop(rows, criteria)])).mean()

    ratio = vectorized / looped
    print(f"screen(), {n:,} contracts in provider order, side=both, {RUNS} runs (M contracts/s):")
    print("    " + "  ".join(f"{rate / 1e6:.1f}" for rate in rates))
    print(f"  median {vectorized / 1e6:6.1f} M contracts/s   (target >= {TARGET_RATE / 1e6:.0f}: "
          f"{'met' if vectorized >= TARGET_RATE else 'NOT met'})")
    print(f"python loop, {LOOP_ROWS:,} contracts, median of 3: {looped / 1e6:6.2f} M contracts/s")
    print(f"  ratio screen() / loop: {ratio:6.1f}x   (target >= {TARGET_RATIO:.0f}x: {'met' if ratio >= TARGET_RATIO else 'NOT met'})")
    print(f"match agreement screen() vs loop on those contracts: {agree:.4%}")
    print(f"screen(), same contracts shuffled, median of 3: {unsorted / 1e6:6.1f} M contracts/s (sort + gather)")
    print(f"screen(), one 60-contract ticker, median of {RUNS} x 100 calls: {per_call * 1e3:6.2f} ms per call")


if __name__ == "__main__":
    main()
