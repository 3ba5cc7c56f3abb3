"""MarketData fetching against a local server with 50 ms latency: concurrent vs one request at a time.

100 tickers x 4 weekly expirations = 400 chain requests. "fetch" runs the real provider and HTTP client
the way the engine does (a pool of SCANNER_CONCURRENCY ticker workers, each ticker's expirations on the
provider's shared request pool); "scan" runs the whole engine: events, volatility, screening, encoding, and the
store's writes to an embedded Valkey server, as a user's scan does (each scan a first of the day: its events and
candles are asked too, 200 more requests). Targets (issue 4) for fetching: within 1.25x of requests x latency /
concurrency, and at least 6x faster than one request at a time. Prints figures, asserts nothing.

Run: .venv/bin/python bench/bench_fetch_concurrency.py
"""

from __future__ import annotations

from datetime import date

from _common import embedded_server, load, marketdata_settings, marketdata_stand_in, timed_fetch, timed_scan

from scanner.providers.base import ChainRequest

LATENCY = 0.050
TICKERS = [f"T{i:03d}" for i in range(100)]
WEEKS = 4
AS_OF = date(2026, 11, 30)
CONCURRENCY = 8


def main() -> None:
    requests = len(TICKERS) * WEEKS
    request = ChainRequest(weeks=WEEKS, as_of=AS_OF)
    with marketdata_stand_in(LATENCY) as url:
        fetch_sequential, fetch_concurrent = (timed_fetch(marketdata_settings(url, concurrency), TICKERS, request)
                                              for concurrency in (1, CONCURRENCY))
        with embedded_server() as (data_dir, _):
            scan_sequential, _ = timed_scan(marketdata_settings(url, 1, data_dir, "bench-fetch-1"), TICKERS, WEEKS,
                                            AS_OF)
            scan_concurrent, meta = timed_scan(marketdata_settings(url, CONCURRENCY, data_dir, "bench-fetch-8"),
                                               TICKERS, WEEKS, AS_OF)
    scan_requests = requests + 2 * len(TICKERS)  # a first scan of the day asks each ticker's earnings and candles
    print(f"{len(TICKERS)} tickers x {WEEKS} expirations = {requests} requests, {LATENCY * 1000:.0f} ms latency each; "
          f"requests x latency = {requests * LATENCY:.2f} s, / concurrency {CONCURRENCY} = "
          f"{requests * LATENCY / CONCURRENCY:.2f} s (a scan: {scan_requests} requests with the earnings and candles, "
          f"{scan_requests * LATENCY / CONCURRENCY:.2f} s)")
    for what, sequential, concurrent, ideal in (
            ("fetch", fetch_sequential, fetch_concurrent, requests * LATENCY / CONCURRENCY),
            ("scan ", scan_sequential, scan_concurrent, scan_requests * LATENCY / CONCURRENCY)):
        print(f"{what}: one at a time {sequential:6.2f} s | concurrency {CONCURRENCY} {concurrent:5.2f} s = "
              f"{concurrent / ideal:.2f}x of ideal (target <= 1.25x) | speed-up {sequential / concurrent:4.1f}x "
              f"(target >= 6x)")
    print(f"scan hash: contracts={meta.contracts} credits_used={meta.credits_used}; {load()}")


if __name__ == "__main__":
    main()
