"""The IV history end to end (issue 17): ``iv-history backfill`` and ``show`` through ``main()`` on the real embedded
server, a scan after the demo backfill ranking every ticker, MarketData's credits asked for first and its dated
chains, a snapshot folder's earlier days, and the real chains of ../shared/data giving their near-ATM IVs."""

from __future__ import annotations

import json
import math
import shutil
from datetime import date
from pathlib import Path

import pytest

from scanner.cli import main
from scanner.config import Settings
from scanner.errors import ExitCode
from scanner.providers.base import ChainRequest
from scanner.providers.snapshot import SnapshotProvider
from scanner.scan.criteria import Criteria
from scanner.scan.engine import ScanRequest, begin_scan, run_scan
from scanner.scan.screening import screen
from scanner.scan.volatility import chain_iv30
from scanner.scan.watchlist import DEFAULT_TICKERS
from scanner.store.iv_history import IvHistory
from scanner.store.scans import ScanStore
from tests.support.http_replay import ReplayServer
from tests.support.paths import shared_file
from tests.unit.providers.test_marketdata import KEY

BOTH = ChainRequest(sides=("put", "call"), weeks=4, strike_limit=15)


def test_the_demo_backfill_gives_every_default_ticker_252_sessions_and_a_scan_then_ranks_them(
        real_store: ScanStore, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCANNER_ENFORCE_MARKET_HOURS", "false")
    assert main(["iv-history", "backfill"]) == ExitCode.OK
    assert f"{len(DEFAULT_TICKERS) * 252:,} points written" in capsys.readouterr().out
    history = IvHistory(real_store.client, real_store.keys)
    assert all(len(history.points("demo", ticker)) == 252 for ticker in DEFAULT_TICKERS)
    settings = Settings.from_env()
    started = begin_scan(settings, real_store, ScanRequest())
    run_scan(settings, real_store, started.scan_id, started.token)
    per_ticker = real_store.results(started.scan_id).frame.groupby("ticker").first()
    assert set(per_ticker.index) == set(DEFAULT_TICKERS)
    assert per_ticker["iv_rank"].between(0, 100).all() and (per_ticker["iv_rank_days"] == 252).all()
    assert per_ticker["iv_percentile"].between(0, 100).all() and per_ticker["hv20"].gt(0).all()
    capsys.readouterr()
    assert main(["iv-history", "show", "aapl", "--json"]) == ExitCode.OK
    shown = json.loads(capsys.readouterr().out)
    assert len(shown["demo"]) == 253 and shown["demo"][-1]["iv30"] == pytest.approx(per_ticker.loc["AAPL", "iv30"])


def test_a_marketdata_backfill_says_what_it_costs_and_asks_nothing_without_yes(
        real_store: ScanStore, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    with ReplayServer() as server:  # every unscripted request: MarketData's 404 no_data
        monkeypatch.setenv("MD_API_KEY", KEY)
        monkeypatch.setenv("MD_URL_BASE", server.url)
        argv = ["iv-history", "backfill", "--provider", "marketdata", "--tickers", "AAPL,MSFT", "--days", "3"]
        assert main(argv) == ExitCode.BAD_INPUT
        said = capsys.readouterr().err
        assert "24 MarketData chain requests" in said and "about 360 credits" in said and "--yes" in said
        assert server.seen == []
        assert main([*argv, "--yes"]) == ExitCode.OK
        dated = {seen.query.get("date") for seen in server.seen if "/options/chain/" in seen.path}
    assert len(dated) == 3 and None not in dated  # one end-of-day chain per past session, asked by date


def _snapshot_folder(tmp_path: Path, *days: str) -> Path:
    source = shared_file("marketdata/options_chain_AAPL_2023-05-21.json")
    payload = json.loads(source.read_text())
    for day in days:  # the same chain, quoted on each day (the file's `updated` says when)
        stamp = int(date.fromisoformat(day).strftime("%s")) + 15 * 3600
        updated = [stamp] * len(payload["optionSymbol"])
        (tmp_path / f"AAPL_{day}.json").write_text(json.dumps({**payload, "updated": updated}))
    return tmp_path


def test_a_snapshot_backfill_reads_the_earlier_days_of_its_folder(real_store: ScanStore, tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str],
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    folder = _snapshot_folder(tmp_path, "2023-05-18", "2023-05-19", "2023-05-22")
    monkeypatch.setenv("SCANNER_SNAPSHOT_DIR", str(folder))
    assert SnapshotProvider(Settings.from_env()).quote_dates() == [date(2023, 5, 18), date(2023, 5, 19),
                                                                   date(2023, 5, 22)]
    assert main(["iv-history", "backfill", "--provider", "snapshot", "--tickers", "AAPL"]) == ExitCode.OK
    points = IvHistory(real_store.client, real_store.keys).points("snapshot", "AAPL")
    assert [point.session for point in points] == [date(2023, 5, 18), date(2023, 5, 19)]  # the newest: a scan's


def test_a_snapshot_of_one_day_has_nothing_earlier_to_backfill(real_store: ScanStore, tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str],
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copy(shared_file("marketdata/options_chain_AAPL_2023-05-21.json"), tmp_path / "aapl.json")
    monkeypatch.setenv("SCANNER_SNAPSHOT_DIR", str(tmp_path))
    assert main(["iv-history", "backfill", "--provider", "snapshot"]) == ExitCode.BAD_INPUT
    assert "holds no quote date before" in capsys.readouterr().err


def test_the_real_marketdata_chain_gives_the_mean_of_its_nearest_otm_put_and_call(tmp_path: Path) -> None:
    # AAPL quoted 2023-05-21 at 175.13, one expiration (2023-06-16, 26 DTE: held flat): by hand from the file,
    # the nearest OTM put is the 175 at IV 0.194 and the nearest OTM call the 180 at 0.176
    shutil.copy(shared_file("marketdata/options_chain_AAPL_2023-05-21.json"), tmp_path / "aapl.json")
    source = SnapshotProvider(Settings(data_dir=tmp_path, snapshot_dir=tmp_path))
    quote = source.quote_date(BOTH)
    rows = screen(source.fetch("AAPL", BOTH), Criteria(), quote)
    assert chain_iv30(source, "AAPL", rows) == pytest.approx((0.194 + 0.176) / 2, abs=0.01)


def test_the_real_td_chain_leaves_out_the_expiring_day_and_holds_the_next_flat(tmp_path: Path) -> None:
    # SPY quoted 2020-01-29 at 326.22: the 0-DTE expiration is left out; on 2020-01-31 the nearest OTM put is
    # the 326 at 12.352 % and the nearest OTM call the 326.5 at 14.811 % (volatility in percent in the file)
    shutil.copy(shared_file("tdameritrade/spy_chain_2020-01-29.json"), tmp_path / "spy.json")
    source = SnapshotProvider(Settings(data_dir=tmp_path, snapshot_dir=tmp_path))
    quote = source.quote_date(BOTH)
    iv30 = chain_iv30(source, "SPY", screen(source.fetch("SPY", BOTH), Criteria(), quote))
    assert not math.isnan(iv30) and iv30 == pytest.approx((0.12352 + 0.14811) / 2, abs=0.01)
