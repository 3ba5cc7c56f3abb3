"""A scan's volatility step (issue 17): each ticker's rows carry its IV30, rank, HV and IV/HV; the IV30 is recorded
once per session; closes are asked once per ticker and day; nothing here fails a ticker."""

from __future__ import annotations

import math
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import redis

from scanner.config import Settings
from scanner.market.candles import DailyCloses
from scanner.providers.base import ChainRequest
from scanner.providers.demo import DemoProvider
from scanner.scan.criteria import Criteria
from scanner.scan.engine import ScanRequest, begin_scan, run_scan
from scanner.scan.screening import screen
from scanner.scan.volatility import VolatilityStep, chain_iv30
from scanner.store.iv_history import IvHistory, IvPoint
from scanner.store.scans import ScanStore
from tests.support.cboe_replay import serve_cboe
from tests.support.http_replay import ReplayServer

QUOTE = date(2026, 12, 1)


class CountingDemo(DemoProvider):
    """The demo, counting the closes it is asked for (the registry knows it as the demo)."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[str] = []

    def candles(self, ticker: str, as_of: date) -> DailyCloses:
        self.asked.append(ticker)
        return super().candles(ticker, as_of)

    @property
    def name(self) -> str:
        return "demo"


def _chain_rows(provider: DemoProvider, ticker: str) -> pd.DataFrame:
    return screen(provider.fetch(ticker, ChainRequest(sides=("put", "call"), as_of=QUOTE)), Criteria(), QUOTE)


def _with_figures(step: VolatilityStep, ticker: str, rows: pd.DataFrame) -> pd.DataFrame:
    """`rows`, all of `ticker`, given its figures as a scan's writer does."""
    return step.add(rows, {ticker: np.arange(len(rows))}, {ticker: step.closes(ticker)})


def test_rows_carry_the_tickers_figures_and_a_rank_once_20_sessions_are_recorded(fake_store: ScanStore) -> None:
    demo = CountingDemo()
    IvHistory(fake_store.client, fake_store.keys).record_many(
        "demo", "AAPL", [IvPoint(QUOTE - timedelta(days=day), 0.20 + 0.01 * (day % 5)) for day in range(1, 30)])
    rows = _chain_rows(demo, "AAPL")
    out = _with_figures(VolatilityStep(demo, fake_store.client, fake_store.keys, QUOTE), "AAPL", rows)
    iv30 = chain_iv30(demo, "AAPL", rows)
    closes = demo.candles("AAPL", QUOTE)
    assert (out["iv30"] == iv30).all() and 0.1 < iv30 < 0.5
    assert (out["hv20"] == closes.hv20).all() and (out["hv60"] == closes.hv60).all()
    assert out["iv_hv_ratio"].iloc[0] == pytest.approx(iv30 / closes.hv20)
    assert out["iv_rank_days"].iloc[0] == 30
    window = np.array([0.20 + 0.01 * (day % 5) for day in range(1, 30)] + [iv30])
    assert out["iv_rank"].iloc[0] == pytest.approx((iv30 - window.min()) / (window.max() - window.min()) * 100)


def test_closes_are_asked_once_per_ticker_and_day(fake_store: ScanStore) -> None:
    demo = CountingDemo()
    rows = _chain_rows(demo, "MSFT")
    for _ in range(3):
        _with_figures(VolatilityStep(demo, fake_store.client, fake_store.keys, QUOTE), "MSFT", rows)
    assert demo.asked == ["MSFT"]


def test_without_redis_the_figures_but_the_rank_are_still_given(fake_store: ScanStore) -> None:
    demo = DemoProvider()
    rows = _chain_rows(demo, "AAPL")
    dead = redis.Redis(port=1, socket_connect_timeout=0.2)  # nothing listens on port 1
    out = _with_figures(VolatilityStep(demo, dead, fake_store.keys, QUOTE), "AAPL", rows)
    assert not math.isnan(out["iv30"].iloc[0]) and not math.isnan(out["hv20"].iloc[0])
    assert out["iv_rank"].isna().all() and out["iv_rank_days"].isna().all()


def test_a_source_publishing_its_iv30_is_taken_as_is() -> None:
    class Publishing(DemoProvider):
        name = "publishing"

        def published_iv30(self, ticker: str) -> float | None:
            return 0.4242

    assert chain_iv30(Publishing(), "AAPL", _chain_rows(DemoProvider(), "AAPL")) == 0.4242


def test_three_demo_scans_in_a_day_keep_one_point_the_last_and_store_the_figures(fake_store: ScanStore,
                                                                                  tmp_path: Path) -> None:
    settings = Settings.from_env({"SCANNER_PROVIDER": "demo", "SCANNER_DEMO_DELAY_MS": "0",
                                  "SCANNER_DATA_DIR": str(tmp_path)})
    ivs = IvHistory(fake_store.client, fake_store.keys)
    for weeks in (4, 6, 8):  # a longer chain moves the IV30: each scan's point replaces the last
        started = begin_scan(settings, fake_store, ScanRequest(tickers=["AAPL"], weeks=weeks, as_of=QUOTE))
        run_scan(settings, fake_store, started.scan_id, started.token)
    points = ivs.points("demo", "AAPL")
    frame = fake_store.results(started.scan_id).frame
    assert len(points) == 1 and points[0].session == QUOTE
    assert points[0].iv30 == pytest.approx(frame["iv30"].iloc[0]) and frame["hv20"].notna().all()
    assert frame["iv_rank"].isna().all() and (frame["iv_rank_days"] == 1).all()  # one session: no rank yet


def test_a_cboe_scan_records_cboes_own_iv30_as_is_and_has_no_hv(fake_store: ScanStore) -> None:
    with ReplayServer() as server:
        serve_cboe(server, ["AAPL"], [date(2026, 12, 4), date(2026, 12, 11)], iv30=24.5)
        config = Settings(data_dir=Path("."), provider="cboe", cboe_url_base=server.url, enforce_market_hours=False)
        request = ScanRequest(tickers=["AAPL"], provider="cboe", as_of=date(2026, 11, 30))
        started = begin_scan(config, fake_store, request)
        run_scan(config, fake_store, started.scan_id, started.token)
    frame = fake_store.results(started.scan_id).frame
    assert (frame["iv30"] == 0.245).all() and frame["hv20"].isna().all() and frame["iv_hv_ratio"].isna().all()
    points = IvHistory(fake_store.client, fake_store.keys).points("cboe", "AAPL")
    assert [(point.session, point.iv30) for point in points] == [(date(2026, 11, 30), 0.245)]
