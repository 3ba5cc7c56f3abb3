"""Scans with events against a local MarketData replay server and the real embedded server: the earnings
criterion changes the matches and names the report, the events are asked once per ticker and day (cached in
Redis with a TTL to midnight), and a refused premium endpoint is one note on the scan, never a ticker's error."""

from __future__ import annotations

from datetime import UTC, datetime, time
from pathlib import Path

import pytest

from scanner.config import Settings
from scanner.market.calendar import NY
from scanner.scan.engine import ScanRequest, begin_scan, run_scan
from scanner.store.scans import ScanStore
from tests.support.http_replay import SCAN_AS_OF, SCAN_EXPIRATIONS, Answer, ReplayServer, serve_chains
from tests.unit.providers.test_events_sources import earnings_answer

TICKERS = ["AAPL", "MSFT"]
REPORT_DAY = SCAN_EXPIRATIONS[0]  # the one expiration scanned: a report that day after the close is inside


def earnings_path(ticker: str) -> str:
    return f"/v1/stocks/earnings/{ticker}/"


def scan(server: ReplayServer, store: ScanStore, data_dir: Path, concurrency: int = 2):
    config = Settings(data_dir=data_dir, provider="marketdata", md_api_key="md-key-for-tests", md_url_base=server.url,
                      enforce_market_hours=False, concurrency=concurrency)
    started = begin_scan(config, store, ScanRequest(tickers=TICKERS, provider="marketdata", weeks=1,
                                                    as_of=SCAN_AS_OF))
    meta = run_scan(config, store, started.scan_id, started.token)
    return meta, store.results(started.scan_id).frame


@pytest.fixture
def server() -> ReplayServer:
    with ReplayServer() as replay:
        serve_chains(replay, TICKERS)
        yield replay


def _report_inside(server: ReplayServer) -> None:
    at = int(datetime.combine(REPORT_DAY, time(21), UTC).timestamp())
    server.script(earnings_path("AAPL"), Answer(200, earnings_answer((at, "after market close"))))
    server.script(earnings_path("MSFT"), Answer(200, {"s": "no_data"}))


def test_earnings_exclude_names_the_report_and_flag_keeps_the_matches(server: ReplayServer, real_store: ScanStore,
                                                                      embedded_dir: Path) -> None:
    _report_inside(server)
    meta, rows = scan(server, real_store, embedded_dir)
    aapl = rows[rows["ticker"] == "AAPL"]
    assert meta.status == "completed" and not real_store.errors(meta.scan_id)
    assert aapl["earnings_in_window"].all() and not aapl["match"].any()
    assert aapl["reason"].str.fullmatch(
        f"(earnings {REPORT_DAY} after close, inside the contract's life|delta .*|annualized .*)").all()
    assert (aapl["reason"] == f"earnings {REPORT_DAY} after close, inside the contract's life").any()
    msft = rows[rows["ticker"] == "MSFT"]
    assert msft["earnings_in_window"].isna().all()  # no_data: unknown, never false
    assert msft["match"].any()

    real_store.criteria.save({"earnings": "flag"})
    flagged_meta, flagged = scan(server, real_store, embedded_dir)
    assert flagged_meta.criteria["earnings"] == "flag"
    assert flagged[flagged["ticker"] == "AAPL"]["match"].sum() == msft["match"].sum()  # the same chains
    assert flagged["match"].sum() > rows["match"].sum()


def test_a_second_scan_the_same_day_asks_for_no_events(server: ReplayServer, real_store: ScanStore,
                                                       embedded_dir: Path) -> None:
    _report_inside(server)
    first, _ = scan(server, real_store, embedded_dir)
    asked = [len(server.requests_to(earnings_path(ticker))) for ticker in TICKERS]
    second, rows = scan(server, real_store, embedded_dir)
    assert asked == [1, 1]
    assert [len(server.requests_to(earnings_path(ticker))) for ticker in TICKERS] == [1, 1]
    assert rows[rows["ticker"] == "AAPL"]["earnings_in_window"].all()
    ttl = real_store.client.ttl(real_store.keys.events("AAPL"))
    midnight = datetime.combine(datetime.now(NY).date(), time(0), NY).timestamp() + 86400
    assert 0 < ttl <= midnight - datetime.now(UTC).timestamp() + 1


def test_a_refused_earnings_endpoint_is_one_note_and_no_ticker_error(server: ReplayServer, real_store: ScanStore,
                                                                    embedded_dir: Path) -> None:
    for ticker in TICKERS:
        server.script(earnings_path(ticker), Answer(402, {"s": "error", "errmsg": "premium endpoint"}))
    meta, rows = scan(server, real_store, embedded_dir, concurrency=1)  # one at a time: the refusal lands first
    assert meta.status == "completed" and not real_store.errors(meta.scan_id)
    assert meta.message.count("earnings unknown: MarketData refused its earnings endpoint (HTTP 402") == 1
    assert rows["earnings_in_window"].isna().all() and rows["match"].any()
    assert sum(len(server.requests_to(earnings_path(ticker))) for ticker in TICKERS) == 1
