"""A scan at a concurrency beyond one interpreter's fetches in forked processes (scanner.scan.fetch_pool): against
a local MarketData replay server and the real embedded server it stores the same rows as the same scan in threads."""

from __future__ import annotations

from pathlib import Path

import pytest

from scanner.config import Settings
from scanner.providers.registry import get_provider
from scanner.scan import fetch_pool
from scanner.scan.engine import ScanRequest, begin_scan, run_scan
from scanner.store.scans import ScanStore
from tests.support.http_replay import SCAN_AS_OF, ReplayServer, serve_chains

TICKERS = ["AAPL", "MSFT", "NVDA", "TSLA"]


def scan(server: ReplayServer, store: ScanStore, data_dir: Path, concurrency: int):
    config = Settings(data_dir=data_dir, provider="marketdata", md_api_key="md-key-for-tests", md_url_base=server.url,
                      enforce_market_hours=False, concurrency=concurrency)
    started = begin_scan(config, store, ScanRequest(tickers=TICKERS, provider="marketdata", weeks=1,
                                                    as_of=SCAN_AS_OF))
    meta = run_scan(config, store, started.scan_id, started.token)
    rows = store.results(started.scan_id).frame
    return config, meta, rows.sort_values(["ticker", "expiration", "strike", "side"], ignore_index=True)


def test_processes_fetch_what_threads_fetch(real_store: ScanStore, embedded_dir: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fetch_pool.os, "cpu_count", lambda: 2)
    with ReplayServer() as server:
        serve_chains(server, TICKERS)
        threads_config, threaded, by_threads = scan(server, real_store, embedded_dir, concurrency=24)
        config, forked, by_processes = scan(server, real_store, embedded_dir, concurrency=50)
    provider = get_provider("marketdata", config)
    assert [fetch_pool.fetch_processes(each, provider) for each in (threads_config, config)] == [0, 2]
    assert forked.status == threaded.status == "completed" and forked.tickers_done == len(TICKERS)
    assert (forked.contracts, forked.matches, forked.errors) == (threaded.contracts, threaded.matches, 0)
    assert by_processes.drop(columns=["iv_rank_days"]).equals(by_threads.drop(columns=["iv_rank_days"]))
    assert forked.credits_used == threaded.credits_used
