"""Shared set-up for the benchmarks: a throw-away embedded server, synthetic watch-lists and a local MarketData API
stand-in with a fixed latency."""

from __future__ import annotations

import itertools
import json
import multiprocessing
import os
import string
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from scanner.config import Settings
from scanner.market.calendar import NY
from scanner.providers.base import ChainRequest
from scanner.providers.marketdata import MarketDataProvider
from scanner.scan.engine import ScanRequest, begin_scan, run_scan
from scanner.store.connection import start_embedded, stop_embedded
from scanner.store.scans import ScanMeta, open_store


def symbols(count: int) -> list[str]:
    """Distinct valid three-letter symbols (the demo market prices any valid symbol)."""
    letters = string.ascii_uppercase
    return ["".join(chars) for chars in itertools.islice(itertools.product(letters, repeat=3), count)]


def load() -> str:
    """The machine's load averages (1, 5, 15 min), printed beside every figure: the machines are shared."""
    return "load average " + " ".join(f"{value:.2f}" for value in os.getloadavg())


@contextmanager
def embedded_server() -> Iterator[tuple[Path, str]]:
    """(data dir, URL) of a fresh embedded Valkey server, stopped afterwards."""
    with tempfile.TemporaryDirectory(prefix="scanner-bench-") as tmp:
        data_dir = Path(tmp)
        url = start_embedded(data_dir)
        try:
            yield data_dir, url
        finally:
            stop_embedded(data_dir)


def _epoch(day: date) -> int:
    """Unix seconds of 16:00 New York on `day` (MarketData's expirations and candles)."""
    return int(datetime.combine(day, datetime.min.time().replace(hour=16), NY).timestamp())


def chain(symbol: str, expiration: str, strikes: int = 15) -> dict[str, Any]:
    """A MarketData-format chain of `strikes` OTM puts below a spot of 100."""
    exp = _epoch(date.fromisoformat(expiration))
    ks = [99.0 - i for i in range(strikes)]
    return {"s": "ok", "optionSymbol": [f"{symbol}{expiration[2:].replace('-', '')}P{int(k * 1000):08d}" for k in ks],
            "underlying": [symbol] * strikes, "expiration": [exp] * strikes, "side": ["put"] * strikes, "strike": ks,
            "bid": [max(0.05, 2.0 - 0.13 * i) for i in range(strikes)],
            "ask": [max(0.06, 2.1 - 0.13 * i) for i in range(strikes)],
            "last": [None] * strikes, "openInterest": [100] * strikes, "volume": [10] * strikes,
            "underlyingPrice": [100.0] * strikes, "iv": [0.3] * strikes,
            "delta": [-0.3 + 0.02 * i for i in range(strikes)],
            "updated": [exp - 86400 * 7] * strikes}


def earnings(start: str) -> dict[str, Any]:
    """One report 40 days after `start`, after the close."""
    return {"s": "ok", "reportDate": [_epoch(date.fromisoformat(start) + timedelta(days=40))],
            "reportTime": ["after market close"]}


def candles(start: str, end: str) -> dict[str, Any]:
    """A daily close for every weekday from `start` to `end`, a gentle zigzag around 100."""
    first, last = date.fromisoformat(start), date.fromisoformat(end)
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    days = [day for day in days if day.weekday() < 5]
    return {"s": "ok", "t": [_epoch(day) for day in days], "c": [100 + (i % 7) * 0.4 for i in range(len(days))]}


def _answer(path: str, query: dict[str, list[str]]) -> dict[str, Any]:
    """The stand-in's answer to one MarketData request."""
    symbol = path.rstrip("/").rsplit("/", 1)[-1]
    if "/options/chain/" in path:
        return chain(symbol, query["expiration"][0])
    if "/stocks/earnings/" in path:
        return earnings(query["from"][0])
    if "/stocks/candles/" in path:
        return candles(query["from"][0], query["to"][0])
    return {"s": "error", "errmsg": f"the stand-in has no {path}"}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the real API
    disable_nagle_algorithm = True  # headers and body are two writes: Nagle would hold the body ~40 ms
    latency = 0.0

    def do_GET(self) -> None:  # noqa: N802
        parts = urlsplit(self.path)
        body = json.dumps(_answer(parts.path, parse_qs(parts.query))).encode()
        time.sleep(self.latency)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Api-Ratelimit-Consumed", "15")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def _serve(latency: float, port: multiprocessing.Queue) -> None:
    _Handler.latency = latency
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    server.request_queue_size = 256  # fifty and more connections open at once
    port.put(server.server_address[1])
    server.serve_forever()


@contextmanager
def marketdata_stand_in(latency: float) -> Iterator[str]:
    """The base URL of a local MarketData API stand-in (chains, earnings, daily candles) answering each request after
    `latency` seconds, in its own process so its Python work does not take the client's GIL."""
    ports: multiprocessing.Queue = multiprocessing.Queue()
    server = multiprocessing.Process(target=_serve, args=(latency, ports), daemon=True)
    server.start()
    try:
        yield f"http://127.0.0.1:{ports.get(timeout=10)}/v1"
    finally:
        server.terminate()
        server.join()


def marketdata_settings(url: str, concurrency: int, data_dir: Path = Path("."), prefix: str = "bench") -> Settings:
    """Settings for scanning the stand-in at `url` with `concurrency` requests in flight."""
    return Settings(data_dir=data_dir, provider="marketdata", md_api_key="bench", md_url_base=url,
                    concurrency=concurrency, enforce_market_hours=False, prefix=prefix)


def timed_fetch(settings: Settings, tickers: list[str], request: ChainRequest) -> float:
    """Seconds to fetch every ticker's chain as the engine does (SCANNER_CONCURRENCY ticker workers, each ticker's
    expirations on the provider's shared request pool), nothing else."""
    provider = MarketDataProvider(settings)
    provider.fetch(tickers[0], request)  # warm up: the NYSE calendar is built once per process
    begun = time.perf_counter()
    with ThreadPoolExecutor(settings.concurrency) as pool:
        rows = sum(len(frame) for frame in pool.map(lambda ticker: provider.fetch(ticker, request), tickers))
    elapsed = time.perf_counter() - begun
    assert rows == len(tickers) * request.weeks * 15, rows  # a broken run's figures mean nothing
    return elapsed


def timed_scan(settings: Settings, tickers: list[str], weeks: int, as_of: date,
               on_progress: Callable[[ScanMeta], None] | None = None) -> tuple[float, ScanMeta]:
    """Seconds for a whole scan on the engine (fetch, events, volatility, screening, encoding, the store's writes,
    compaction), and its end record."""
    store = open_store(settings)
    request = ScanRequest(tickers=tickers, provider="marketdata", weeks=weeks, as_of=as_of)
    started = begin_scan(settings, store, request)
    begun = time.perf_counter()
    meta = run_scan(settings, store, started.scan_id, started.token, on_progress=on_progress)
    elapsed = time.perf_counter() - begun
    assert meta.status == "completed" and meta.errors == 0, meta.message  # a broken run's figures mean nothing
    return elapsed, meta
