"""MarketData fetching against a local server with 50 ms latency: concurrent vs one request at a time.

100 tickers x 4 weekly expirations = 400 chain requests. "fetch" runs the real provider and HTTP client
the way the engine does (a pool of SCANNER_CONCURRENCY ticker workers, each ticker's expirations on the
provider's shared request pool); "scan" runs the whole engine: screening, encoding, and the store's
per-ticker writes to an embedded Valkey server, as a user's scan does. Targets (issue 4) for fetching:
within 1.25x of requests x latency / concurrency, and at least 6x faster than one request at a time.
Prints figures, asserts nothing.

Run: .venv/bin/python bench/bench_fetch_concurrency.py
"""

from __future__ import annotations

import json
import multiprocessing
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from _common import embedded_server

from scanner.config import Settings  # noqa: E402
from scanner.providers.base import ChainRequest  # noqa: E402
from scanner.providers.marketdata import MarketDataProvider  # noqa: E402
from scanner.scan.engine import ScanRequest, begin_scan, run_scan  # noqa: E402
from scanner.store.scans import ScanStore, open_store  # noqa: E402

LATENCY = 0.050
TICKERS = [f"T{i:03d}" for i in range(100)]
WEEKS = 4
AS_OF = date(2026, 11, 30)
CONCURRENCY = 8


def chain(symbol: str, expiration: str, strikes: int = 15) -> dict[str, Any]:
    """A MarketData-format chain of `strikes` OTM puts below a spot of 100."""
    exp = int(time.mktime(time.strptime(expiration + " 16", "%Y-%m-%d %H")))
    ks = [99.0 - i for i in range(strikes)]
    return {"s": "ok", "optionSymbol": [f"{symbol}{expiration[2:].replace('-', '')}P{int(k * 1000):08d}" for k in ks],
            "underlying": [symbol] * strikes, "expiration": [exp] * strikes, "side": ["put"] * strikes, "strike": ks,
            "bid": [max(0.05, 2.0 - 0.13 * i) for i in range(strikes)],
            "ask": [max(0.06, 2.1 - 0.13 * i) for i in range(strikes)],
            "last": [None] * strikes, "openInterest": [100] * strikes, "volume": [10] * strikes,
            "underlyingPrice": [100.0] * strikes, "iv": [0.3] * strikes,
            "delta": [-0.3 + 0.02 * i for i in range(strikes)],
            "updated": [exp - 86400 * 7] * strikes}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the real API
    disable_nagle_algorithm = True  # headers and body are two writes: Nagle would hold the body ~40 ms

    def do_GET(self) -> None:  # noqa: N802
        parts = urlsplit(self.path)
        symbol = parts.path.rstrip("/").rsplit("/", 1)[-1]
        body = json.dumps(chain(symbol, parse_qs(parts.query)["expiration"][0])).encode()
        time.sleep(LATENCY)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Api-Ratelimit-Consumed", "15")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def settings(url: str, concurrency: int, data_dir: Path = Path(".")) -> Settings:
    return Settings(data_dir=data_dir, provider="marketdata", md_api_key="bench", md_url_base=url,
                    concurrency=concurrency, enforce_market_hours=False, prefix="bench-fetch")


def timed_fetch(url: str, concurrency: int) -> float:
    provider = MarketDataProvider(settings(url, concurrency))
    request = ChainRequest(weeks=WEEKS, as_of=AS_OF)
    provider.fetch(TICKERS[0], request)  # warm up: the NYSE calendar is built once per process
    begun = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as tickers:
        rows = sum(len(frame) for frame in tickers.map(lambda t: provider.fetch(t, request), TICKERS))
    elapsed = time.perf_counter() - begun
    assert rows == len(TICKERS) * WEEKS * 15, rows  # a broken run's figures mean nothing
    return elapsed


def timed_scan(url: str, concurrency: int, data_dir: Path) -> tuple[float, dict[str, str]]:
    settings_ = settings(url, concurrency, data_dir)
    store: ScanStore = open_store(settings_)
    request = ScanRequest(tickers=TICKERS, provider="marketdata", weeks=WEEKS, as_of=AS_OF)
    started = begin_scan(settings_, store, request)
    begun = time.perf_counter()
    meta = run_scan(settings_, store, started.scan_id, started.token)
    elapsed = time.perf_counter() - begun
    assert meta.status == "completed" and meta.errors == 0, meta.message  # a broken run's figures mean nothing
    return elapsed, {"credits_used": meta.credits_used, "contracts": meta.contracts}


def serve(port: multiprocessing.Queue) -> None:
    """The API stand-in, in its own process so its Python work does not take the client's GIL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    port.put(server.server_address[1])
    server.serve_forever()


def main() -> None:
    ports: multiprocessing.Queue = multiprocessing.Queue()
    server = multiprocessing.Process(target=serve, args=(ports,), daemon=True)
    server.start()
    url = f"http://127.0.0.1:{ports.get(timeout=10)}/v1"
    requests = len(TICKERS) * WEEKS
    try:
        fetch_sequential, fetch_concurrent = timed_fetch(url, 1), timed_fetch(url, CONCURRENCY)
        with embedded_server() as (data_dir, _):
            scan_sequential, _ = timed_scan(url, 1, data_dir)
            scan_concurrent, fields = timed_scan(url, CONCURRENCY, data_dir)
    finally:
        server.terminate()
        server.join()
    ideal = requests * LATENCY / CONCURRENCY
    print(f"{len(TICKERS)} tickers x {WEEKS} expirations = {requests} requests, {LATENCY * 1000:.0f} ms latency each; "
          f"requests x latency = {requests * LATENCY:.2f} s, / concurrency {CONCURRENCY} = {ideal:.2f} s")
    for what, sequential, concurrent in (("fetch", fetch_sequential, fetch_concurrent),
                                         ("scan ", scan_sequential, scan_concurrent)):
        print(f"{what}: one at a time {sequential:6.2f} s | concurrency {CONCURRENCY} {concurrent:5.2f} s = "
              f"{concurrent / ideal:.2f}x of ideal (target <= 1.25x) | speed-up {sequential / concurrent:4.1f}x "
              f"(target >= 6x)")
    print(f"scan hash: contracts={fields['contracts']} credits_used={fields.get('credits_used')}")

if __name__ == "__main__":
    main()
