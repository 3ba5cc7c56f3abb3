"""Each source's events adapter (DESIGN "Data sources"): MarketData's earnings endpoint and Yahoo's calendar on local
HTTP replay servers, the snapshot's events.csv, the demo's simulation; refusals, empty answers, past and garbage
dates included."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from scanner.config import Settings
from scanner.market.events import ALWAYS, UNKNOWN, EarningsTime, TickerEvents
from scanner.providers.cboe import CboeProvider
from scanner.providers.demo import DemoProvider
from scanner.providers.marketdata import MarketDataProvider
from scanner.providers.snapshot import SnapshotProvider
from scanner.providers.tradier import TradierProvider
from scanner.providers.yahoo import YahooProvider
from tests.support.http_replay import Answer, ReplayServer
from tests.support.yahoo_replay import YahooReplay, yfinance_sent_to
from tests.unit.providers.test_marketdata import FAST, KEY

QUOTE = date(2026, 12, 1)


def _epoch(day: date, hour: int = 0) -> int:
    return int(datetime(day.year, day.month, day.day, hour, tzinfo=UTC).timestamp())


def earnings_answer(*reports: tuple[Any, str]) -> dict[str, Any]:
    """MarketData's `/stocks/earnings/{symbol}/` answer: one list per field; `date` is the fiscal period's end."""
    n = len(reports)
    return {"s": "ok", "symbol": ["AAPL"] * n, "fiscalYear": [2027] * n, "fiscalQuarter": [1] * n,
            "date": [_epoch(date(2026, 12, 27))] * n, "reportDate": [day for day, _ in reports],
            "reportTime": [time for _, time in reports], "currency": ["USD"] * n, "reportedEPS": [None] * n,
            "estimatedEPS": [2.35] * n, "surpriseEPS": [None] * n, "surpriseEPSpct": [None] * n,
            "updated": [_epoch(QUOTE)] * n}


@pytest.fixture
def server() -> Iterator[ReplayServer]:
    with ReplayServer() as replay:
        yield replay


def marketdata(server: ReplayServer) -> MarketDataProvider:
    return MarketDataProvider(Settings(data_dir=Path("."), provider="marketdata", md_api_key=KEY,
                                       md_url_base=server.url), retry=FAST)


def test_marketdata_takes_the_next_report_date_not_the_fiscal_date(server: ReplayServer) -> None:
    server.script("/v1/stocks/earnings/AAPL/", Answer(200, earnings_answer(
        (_epoch(date(2027, 1, 29), 5), "after market close"), (_epoch(date(2026, 12, 10), 5), "before market open"))))
    events = marketdata(server).events("AAPL", QUOTE)
    assert events == TickerEvents(date(2026, 12, 10), EarningsTime.BMO, earnings_known_through=date(2026, 12, 10))
    (seen,) = server.requests_to("/v1/stocks/earnings/AAPL/")
    assert seen.query["from"] == "2026-12-01" and date.fromisoformat(seen.query["to"]) > QUOTE + timedelta(days=91)


@pytest.mark.parametrize("status", [402, 403])
def test_a_refused_premium_endpoint_makes_the_scans_earnings_unknown_asked_once(server: ReplayServer,
                                                                                status: int) -> None:
    server.script("/v1/stocks/earnings/AAPL/", Answer(status, {"s": "error", "errmsg": "premium only"}))
    source = marketdata(server)
    first, second = source.events("AAPL", QUOTE), source.events("MSFT", QUOTE)
    assert first.earnings_date is None and first.earnings_known_through is None
    assert first.note == second.note and f"HTTP {status}" in first.note
    assert len(server.seen) == 1


def test_marketdata_no_data_and_garbage_dates_leave_earnings_unknown(server: ReplayServer) -> None:
    server.script("/v1/stocks/earnings/AAPL/", Answer(200, {"s": "no_data"}))
    server.script("/v1/stocks/earnings/MSFT/", Answer(200, earnings_answer(("soon", "amc"), (None, "amc"),
                                                                         (1e20, "amc"))))
    server.script("/v1/stocks/earnings/KO/", Answer(200, earnings_answer((_epoch(date(2026, 11, 20), 5), "amc"))))
    source = marketdata(server)
    assert [source.events(ticker, QUOTE) for ticker in ("AAPL", "MSFT", "KO")] == [UNKNOWN] * 3


def test_the_snapshot_reads_events_csv(tmp_path: Path) -> None:
    (tmp_path / "events.csv").write_text(
        "ticker,earnings_date,earnings_time,ex_dividend_date,dividend\n"
        "aapl,2026-12-10,amc,2026-12-04,0.26\n"
        "NVDA,,,,\n"
        "MSFT,2026-13-40,bmo,next week,0.8\n"
        "KO,2026-11-20,bmo,2026-12-01,0.51\n")
    source = SnapshotProvider(Settings(data_dir=tmp_path, snapshot_dir=tmp_path))
    assert source.events("AAPL", QUOTE) == TickerEvents(date(2026, 12, 10), EarningsTime.AMC, date(2026, 12, 4),
                                                         0.26, ALWAYS, ALWAYS)
    assert source.events("NVDA", QUOTE) == TickerEvents(earnings_known_through=ALWAYS, dividends_known_through=ALWAYS)
    assert source.events("MSFT", QUOTE) == UNKNOWN  # garbage dates
    assert source.events("KO", QUOTE) == UNKNOWN  # both past at the quote: the next ones are not in the file
    assert source.events("TSLA", QUOTE) == UNKNOWN  # not listed


def test_a_snapshot_without_events_csv_knows_none(tmp_path: Path) -> None:
    assert SnapshotProvider(Settings(data_dir=tmp_path, snapshot_dir=tmp_path)).events("AAPL", QUOTE) == UNKNOWN


def test_the_demo_is_deterministic_with_reports_soon_and_some_payers() -> None:
    demo = DemoProvider()
    tickers = [f"T{i}" for i in range(120)]
    events = [demo.events(ticker, QUOTE) for ticker in tickers]
    assert events == [DemoProvider().events(ticker, QUOTE) for ticker in tickers]
    soon = [e for e in events if e.earnings_date <= QUOTE + timedelta(days=28)]
    payers = [e for e in events if e.ex_dividend_date is not None]
    assert 0.2 < len(soon) / len(events) < 0.5
    assert 0.3 < len(payers) / len(events) < 0.7
    assert all(e.dividend > 0 and e.ex_dividend_date > QUOTE for e in payers)
    assert all(e.earnings_known_through == e.dividends_known_through == ALWAYS for e in events)
    later = demo.events("T0", events[0].earnings_date + timedelta(days=1))
    assert later.earnings_date - events[0].earnings_date > timedelta(days=80)  # the next quarter's


@pytest.fixture(scope="module")
def local_yahoo() -> Iterator[YahooReplay]:
    with YahooReplay() as replay:
        yield replay


@pytest.fixture
def yahoo_replay(local_yahoo: YahooReplay, monkeypatch: pytest.MonkeyPatch) -> Iterator[YahooReplay]:
    """As test_yahoo_http's: a fresh yfinance singleton and session sending to the local Yahoo, caches off."""
    with yfinance_sent_to(local_yahoo, monkeypatch) as replay:
        yield replay


def calendar_answer(**events: Any) -> dict[str, Any]:
    """Yahoo's `v10/finance/quoteSummary/{symbol}?modules=calendarEvents` answer."""
    return {"quoteSummary": {"result": [{"calendarEvents": {"maxAge": 1, **events}}], "error": None}}


def _serve_calendar(replay: YahooReplay, symbol: str, answer: dict[str, Any]) -> None:
    replay.server.script(f"/{YahooReplay.QUERY2}/v10/finance/quoteSummary/{symbol}", Answer(200, answer))


def _noon(day: date) -> int:
    return _epoch(day, 12)


def test_yahoo_takes_the_earlier_earnings_date_and_a_future_ex_dividend(yahoo_replay: YahooReplay) -> None:
    _serve_calendar(yahoo_replay, "AAPL", calendar_answer(
        earnings={"earningsDate": [_noon(date(2027, 1, 28)), _noon(date(2027, 2, 2))], "earningsAverage": 2.6},
        exDividendDate=_noon(date(2026, 12, 4)), dividendDate=_noon(date(2026, 12, 11))))
    events = YahooProvider(Settings(data_dir=Path("."))).events("AAPL", QUOTE)
    assert events == TickerEvents(date(2027, 1, 28), EarningsTime.UNKNOWN, date(2026, 12, 4), None,
                                  date(2027, 1, 28), date(2026, 12, 4))


def test_yahoo_past_ex_dividend_and_empty_calendars_are_unknown(yahoo_replay: YahooReplay) -> None:
    _serve_calendar(yahoo_replay, "KO", calendar_answer(exDividendDate=_noon(date(2026, 11, 14)),
                                                        earnings={"earningsDate": []}))
    _serve_calendar(yahoo_replay, "SPY", calendar_answer())
    source = YahooProvider(Settings(data_dir=Path(".")))
    assert source.events("KO", QUOTE) == UNKNOWN
    assert source.events("SPY", QUOTE) == UNKNOWN


def test_tradier_takes_yahoos_calendar_the_registry_names_for_it(yahoo_replay: YahooReplay) -> None:
    _serve_calendar(yahoo_replay, "AAPL", calendar_answer(earnings={"earningsDate": [_noon(date(2027, 1, 28))]},
                                                          exDividendDate=_noon(date(2026, 12, 4))))
    tradier = TradierProvider(Settings(data_dir=Path("."), tradier_token="tr-token"))
    assert isinstance(tradier.stand_in, YahooProvider)
    assert tradier.events("AAPL", QUOTE) == TickerEvents(date(2027, 1, 28), EarningsTime.UNKNOWN, date(2026, 12, 4),
                                                         None, date(2027, 1, 28), date(2026, 12, 4))


def test_tradier_without_yfinance_knows_no_events(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "scanner.providers.yahoo", raising=False)
    monkeypatch.setitem(sys.modules, "yfinance", None)  # what an install without yfinance raises ImportError for
    tradier = TradierProvider(Settings(data_dir=Path("."), tradier_token="tr-token"))
    assert tradier.stand_in is None and tradier.events("AAPL", QUOTE) == UNKNOWN


def test_cboe_publishes_no_events() -> None:
    with ReplayServer() as server:
        cboe = CboeProvider(Settings(data_dir=Path("."), cboe_url_base=server.url))
        assert cboe.events("AAPL", QUOTE) == UNKNOWN and server.seen == []
