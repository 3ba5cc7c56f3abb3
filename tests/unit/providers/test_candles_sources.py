"""Each source's daily closes (issue 17, DESIGN "Volatility"): MarketData's candles and Yahoo's history on local
HTTP replay servers, the snapshot's candles/<TICKER>.csv, the demo's simulated path, Tradier through its stand-in,
Cboe's none; and the demo's simulated IV30, what a scan of its chain finds."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from scanner.config import Settings
from scanner.errors import ProviderError
from scanner.market.calendar import NY, today_ny
from scanner.market.candles import NO_CLOSES
from scanner.market.volatility import hv20
from scanner.providers.cboe import CboeProvider
from scanner.providers.demo import DemoProvider
from scanner.providers.snapshot import SnapshotProvider
from scanner.providers.tradier import TradierProvider
from scanner.providers.yahoo import YahooProvider
from scanner.scan.criteria import Criteria
from scanner.scan.screening import screen
from scanner.scan.volatility import chain_iv30
from tests.support.http_replay import Answer, ReplayServer
from tests.support.yahoo_replay import YahooReplay, chart_payload, yfinance_sent_to
from tests.unit.providers.test_events_sources import _epoch, marketdata

QUOTE = date(2026, 12, 1)


@pytest.fixture
def server() -> Iterator[ReplayServer]:
    with ReplayServer() as replay:
        yield replay


def candles_answer(days: list[date], closes: list[float]) -> dict[str, object]:
    """MarketData's `/stocks/candles/D/{symbol}/` answer: one list per field, `t` the session's unix seconds."""
    return {"s": "ok", "c": closes, "h": [c + 1 for c in closes], "l": [c - 1 for c in closes], "o": closes,
            "t": [_epoch(day, 14) for day in days], "v": [1_000_000] * len(closes)}


def test_marketdata_reads_closes_of_the_sessions_before_the_quote(server: ReplayServer) -> None:
    days = [date(2026, 11, 25), date(2026, 11, 27), date(2026, 11, 30), QUOTE]
    server.script("/v1/stocks/candles/D/AAPL/", Answer(200, candles_answer(days, [230.0, 231.5, 229.0, 235.0])))
    closes = marketdata(server).candles("AAPL", QUOTE)
    assert closes.days == tuple(days[:3]) and closes.closes == (230.0, 231.5, 229.0)  # the quote day is not done
    asked = server.seen[-1].query
    assert asked["from"] == (QUOTE - timedelta(days=120)).isoformat() and asked["to"] == "2026-11-30"


def test_marketdata_no_data_is_no_closes_and_a_malformed_answer_an_error(server: ReplayServer) -> None:
    server.script("/v1/stocks/candles/D/NEW/", Answer(404, {"s": "no_data"}))
    server.script("/v1/stocks/candles/D/BAD/", Answer(200, {"s": "ok", "c": [1.0, 2.0], "t": [1]}))
    source = marketdata(server)
    assert source.candles("NEW", QUOTE) == NO_CLOSES
    with pytest.raises(ProviderError, match="malformed MarketData candles"):
        source.candles("BAD", QUOTE)


def test_the_snapshot_reads_candles_csv(tmp_path: Path) -> None:
    (tmp_path / "candles").mkdir()
    (tmp_path / "candles" / "AAPL.csv").write_text(
        "date,close\n2026-11-27,231.5\n2026-11-25,230\n2026-11-30,x\n2026-12-01,235\n")
    source = SnapshotProvider(Settings(data_dir=tmp_path, snapshot_dir=tmp_path))
    closes = source.candles("aapl", QUOTE)
    assert closes.days == (date(2026, 11, 25), date(2026, 11, 27)) and closes.closes == (230.0, 231.5)
    assert source.candles("MSFT", QUOTE) == NO_CLOSES
    (tmp_path / "candles" / "BAD.csv").write_text("when,price\n")
    with pytest.raises(ProviderError, match="candles/BAD.csv unreadable"):
        source.candles("BAD", QUOTE)


def test_the_demo_path_is_deterministic_and_moves_with_the_tickers_volatility() -> None:
    demo = DemoProvider()
    closes = demo.candles("NVDA", QUOTE)
    assert closes == demo.candles("NVDA", QUOTE) and len(closes.closes) >= 61 and closes.days[-1] < QUOTE
    _, vol = demo._underlying("NVDA", QUOTE)
    assert closes.closes[-1] == pytest.approx(demo._underlying("NVDA", QUOTE)[0])
    assert 0.5 * vol < closes.hv20 < 1.6 * vol and 0.6 * vol < closes.hv60 < 1.4 * vol
    assert demo.candles("KO", QUOTE).hv60 < closes.hv60  # a quiet stock's path is quieter


def test_cboe_gives_no_closes() -> None:
    assert CboeProvider(Settings(data_dir=Path("."))).candles("AAPL", QUOTE) == NO_CLOSES


@pytest.fixture(scope="module")
def local_yahoo() -> Iterator[YahooReplay]:
    with YahooReplay() as replay:
        yield replay


@pytest.fixture
def yahoo_replay(local_yahoo: YahooReplay, monkeypatch: pytest.MonkeyPatch) -> Iterator[YahooReplay]:
    with yfinance_sent_to(local_yahoo, monkeypatch) as replay:
        yield replay


def _serve_chart(replay: YahooReplay, symbol: str, closes: list[float]) -> None:
    """Daily bars up to yesterday in New York, the day before the quote date."""
    replay.chart(symbol, Answer(200, chart_payload(symbol, closes, datetime.now(NY))))


def test_yahoo_reads_the_history_closes(yahoo_replay: YahooReplay) -> None:
    path = list(100 * np.exp(np.cumsum(np.r_[0.0, np.tile([0.01, -0.01], 15)])))
    _serve_chart(yahoo_replay, "AAPL", path)
    closes = YahooProvider(Settings(data_dir=Path("."))).candles("AAPL", today_ny())
    assert closes.closes == pytest.approx(tuple(path)) and closes.days[-1] < today_ny()
    assert closes.hv20 == pytest.approx(hv20(np.array(path)))
    assert math.isnan(closes.hv60)  # 30 returns only
    assert any("v8/finance/chart/AAPL" in seen.path for seen in yahoo_replay.seen)


def test_tradier_takes_yahoos_closes_the_registry_names_for_it(yahoo_replay: YahooReplay) -> None:
    _serve_chart(yahoo_replay, "AAPL", [230.0, 231.0, 229.5])
    tradier = TradierProvider(Settings(data_dir=Path("."), tradier_token="tr-token"))
    assert tradier.candles("AAPL", today_ny()).closes == (230.0, 231.0, 229.5)


@pytest.mark.parametrize("side", ["put", "call", "both"])
@pytest.mark.parametrize("day", [date(2026, 6, 3), QUOTE, date(2026, 12, 5)])
def test_the_demos_simulated_iv30_is_what_a_scan_of_its_chain_finds(side: str, day: date) -> None:
    demo = DemoProvider()
    criteria = Criteria.from_dict({**Criteria().to_dict(), "side": side})
    request = criteria.chain_request(day)
    rows = screen(demo.fetch("NVDA", request), criteria, day)
    assert demo.simulated_iv30("NVDA", request) == pytest.approx(chain_iv30(demo, "NVDA", rows), abs=1e-12)
