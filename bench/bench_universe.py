"""A 500-ticker universe at the API's concurrency (issue 21 target 1): the whole engine against the ideal.

500 tickers x 4 weekly expirations = 2,000 chain requests to a local MarketData stand-in answering each after
100 ms, at SCANNER_CONCURRENCY=50 on the embedded Valkey server. The ideal is requests x latency / concurrency
(4.00 s): what waiting on the API alone costs. Printed:
- fetch only: the real provider and HTTP client, as the engine fetches (nothing screened or stored);
- whole scan: the engine (fetch, events, volatility, screening, encoding, the fenced writes, compaction) as a second
  scan of the day, after a first one has cached every ticker's events and candles (so it asks only for chains);
  its ratio to the ideal is the target (<= 1.25x), beside how its progress advanced (the page reads it per ticker);
- the original app's pattern: one expiration at a time, one request after another (2,000 x 100 ms = 200 s by
  arithmetic), measured on a sample of requests and extrapolated.
`--profile` runs the measured scan under cProfile in every thread, counting each thread's CPU time, and prints where it
went (the profiler's
own cost slows the scan: read the shares, not the wall time). Prints figures, asserts nothing.

Run: .venv/bin/python bench/bench_universe.py [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import resource
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from datetime import date

from _common import (
    embedded_server,
    load,
    marketdata_settings,
    marketdata_stand_in,
    symbols,
    timed_fetch,
    timed_scan,
)

from scanner.providers.base import ChainRequest
from scanner.providers.marketdata import MarketDataProvider
from scanner.store.scans import ScanMeta

LATENCY = 0.100
TICKERS = symbols(500)
WEEKS = 4
AS_OF = date(2026, 11, 30)
CONCURRENCY = 50
SEQUENTIAL_SAMPLE = 20  # tickers fetched one expiration at a time, one request after another: 80 requests, 8 s


def sequential_per_request(url: str) -> float:
    """Seconds per request in the original app's pattern, measured on SEQUENTIAL_SAMPLE tickers."""
    provider = MarketDataProvider(marketdata_settings(url, 1))  # one request in flight: expirations one by one
    request = ChainRequest(weeks=WEEKS, as_of=AS_OF)
    provider.fetch(TICKERS[0], request)  # warm up: the NYSE calendar is built once per process
    begun = time.perf_counter()
    for ticker in TICKERS[:SEQUENTIAL_SAMPLE]:
        provider.fetch(ticker, request)
    return (time.perf_counter() - begun) / (SEQUENTIAL_SAMPLE * WEEKS)


class Progress:
    """What the page would see: each progress write's tickers_done."""

    def __init__(self) -> None:
        self.done: list[int] = []

    def __call__(self, meta: ScanMeta) -> None:
        self.done.append(meta.tickers_done)

    def words(self) -> str:
        steps = [after - before for before, after in zip([0, *self.done], self.done, strict=False)]
        return (f"{len(self.done)} progress writes for {self.done[-1] if self.done else 0} tickers, tickers_done "
                f"rising by at most {max(steps, default=0)} per write")


@contextmanager
def cpu_seconds() -> Iterator[list[float]]:
    """This process's CPU seconds (user and system, every thread) inside the block, in the list yielded."""
    spent = [0.0]
    before = resource.getrusage(resource.RUSAGE_SELF)
    try:
        yield spent
    finally:
        after = resource.getrusage(resource.RUSAGE_SELF)
        spent[0] = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


@contextmanager
def profiled(top: int = 25) -> Iterator[None]:
    """cProfile in every thread started inside (the scan's workers), merged and printed by own time and cumulative."""
    profiles: list[cProfile.Profile] = []

    def start(*_: object) -> None:
        sys.setprofile(None)
        profile = cProfile.Profile(time.thread_time)  # CPU only: a wait for the GIL or the API is not work
        profiles.append(profile)
        profile.enable()

    main = cProfile.Profile(time.thread_time)
    threading.setprofile(start)
    main.enable()
    try:
        yield
    finally:
        main.disable()
        threading.setprofile(None)
        out = io.StringIO()
        stats = pstats.Stats(main, stream=out)
        for profile in profiles:
            profile.disable()
            stats.add(profile)
        for order in ("tottime", "cumulative"):
            stats.sort_stats(order).print_stats(top)
        print(out.getvalue())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", action="store_true", help="profile the measured scan in every thread")
    args = parser.parse_args()
    requests = len(TICKERS) * WEEKS
    ideal = requests * LATENCY / CONCURRENCY
    with marketdata_stand_in(LATENCY) as url:
        with cpu_seconds() as fetch_cpu:
            fetch = timed_fetch(marketdata_settings(url, CONCURRENCY), TICKERS, ChainRequest(weeks=WEEKS, as_of=AS_OF))
        with embedded_server() as (data_dir, _):
            settings = marketdata_settings(url, CONCURRENCY, data_dir)
            first, _ = timed_scan(settings, TICKERS, WEEKS, AS_OF)  # caches every ticker's events and candles
            progress = Progress()
            with cpu_seconds() as scan_cpu, profiled() if args.profile else nullcontext():
                scan, meta = timed_scan(settings, TICKERS, WEEKS, AS_OF, on_progress=progress)
        per_request = sequential_per_request(url)
    print(f"{len(TICKERS)} tickers x {WEEKS} expirations = {requests:,} requests, {LATENCY * 1000:.0f} ms latency, "
          f"concurrency {CONCURRENCY}: ideal {requests:,} x {LATENCY:.2f} s / {CONCURRENCY} = {ideal:.2f} s")
    print(f"fetch only        {fetch:6.2f} s = {fetch / ideal:.2f}x ideal; CPU {fetch_cpu[0]:.2f} s")
    print(f"whole scan        {scan:6.2f} s = {scan / ideal:.2f}x ideal (target <= 1.25x); second of the day, "
          f"{meta.contracts:,} contracts, {meta.matches:,} matches; CPU {scan_cpu[0]:.2f} s "
          f"({scan_cpu[0] / scan:.0%} of its wall time, one interpreter)")
    print(f"  first of the day {first:6.2f} s (also asks each ticker's earnings and candles: +{2 * len(TICKERS)} "
          "requests)")
    print(f"  {progress.words()}")
    print(f"original pattern  {per_request * requests:6.1f} s extrapolated ({per_request * 1000:.1f} ms a request "
          f"over {SEQUENTIAL_SAMPLE * WEEKS} sequential requests) against "
          f"{requests:,} x {LATENCY * 1000:.0f} ms = {requests * LATENCY:.0f} s by arithmetic; "
          f"the whole scan is {per_request * requests / scan:.0f}x faster")
    print(load())


if __name__ == "__main__":
    main()
