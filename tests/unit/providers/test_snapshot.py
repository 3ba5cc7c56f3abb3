"""The snapshot source over folders of real chain files (TD Ameritrade, MarketData) and normalized CSV/Parquet,
and the time convention of blackscholes checked against the broker's own deltas."""

from __future__ import annotations

import json
import logging
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scanner.config import Settings
from scanner.errors import ConfigError, ProviderError
from scanner.market import blackscholes
from scanner.providers.base import ChainRequest
from scanner.providers.demo import DemoProvider
from scanner.providers.registry import get_provider
from scanner.providers.snapshot import SnapshotProvider, read_chain_file
from scanner.scan.engine import ScanRequest, begin_scan, run_scan
from scanner.schema import CHAIN_COLUMNS
from scanner.store.scans import ScanStore
from tests.support.paths import shared_file

SPY = "tdameritrade/spy_chain_2020-01-29.json"
SPY_NAN = "tdameritrade/spy_chain_nan_values.json"
AAPL = "marketdata/options_chain_AAPL_2023-05-21.json"


def folder(tmp_path: Path, *files: str) -> Path:
    """A snapshot folder of links to the shared files (they are never copied into the project)."""
    for name in files:
        source = shared_file(name)
        (tmp_path / source.name).symlink_to(source)
    return tmp_path


def snapshot(path: Path, **kwargs: object) -> SnapshotProvider:
    return SnapshotProvider(Settings(data_dir=path, snapshot_dir=path, **kwargs))  # type: ignore[arg-type]


def test_needs_an_existing_folder(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="SCANNER_SNAPSHOT_DIR is not set"):
        get_provider("snapshot", Settings(data_dir=tmp_path))
    with pytest.raises(ConfigError, match="not a folder"):
        get_provider("snapshot", Settings(data_dir=tmp_path, snapshot_dir=tmp_path / "missing"))
    assert not get_provider("snapshot", Settings(data_dir=tmp_path, snapshot_dir=tmp_path)).live


def test_td_ameritrade_chain(tmp_path: Path) -> None:
    provider = snapshot(folder(tmp_path, SPY))
    assert provider.quote_date(ChainRequest()) == date(2020, 1, 29)
    rows = provider.fetch("spy", ChainRequest(sides=("put", "call")))
    assert tuple(rows.columns) == CHAIN_COLUMNS
    assert rows.groupby(["side", "expiration"]).size().to_dict() == {
        ("call", date(2020, 1, 29)): 15, ("call", date(2020, 1, 31)): 15,
        ("put", date(2020, 1, 29)): 15, ("put", date(2020, 1, 31)): 15}
    put = rows[(rows.side == "put") & (rows.strike == 320.0) & (rows.expiration == date(2020, 1, 31))].iloc[0]
    assert (put.delta, put.iv, put.underlying_price, put.ticker) == (-0.102, pytest.approx(0.16905), 326.22, "SPY")
    assert (put.bid, put.ask, put.option_symbol) == (0.24, 0.25, "SPY_013120P320")
    assert (rows[rows.side == "put"].strike < 326.22).all() and (rows[rows.side == "call"].strike > 326.22).all()


def test_nan_strings_get_a_delta_from_the_mid(tmp_path: Path) -> None:
    rows = snapshot(folder(tmp_path, SPY_NAN)).fetch("SPY", ChainRequest(sides=("call",)))
    raw = read_chain_file(shared_file(SPY_NAN))
    assert raw.delta.isna().all() and raw.iv.isna().all()  # every greek is the string "NaN"
    assert len(rows) and rows.delta.between(0, 1).all() and rows.iv.gt(0).all()
    assert rows.delta.is_monotonic_decreasing  # further OTM, smaller delta


def test_marketdata_chain_and_its_quote_date(tmp_path: Path) -> None:
    provider = snapshot(folder(tmp_path, AAPL))
    assert provider.quote_date(ChainRequest()) == date(2023, 5, 21)
    rows = provider.fetch("AAPL", ChainRequest())
    assert len(rows) == 15 and (rows.side == "put").all() and rows.strike.max() == 175.0
    assert rows.set_index("strike").delta[165] == -0.151


def test_newest_quote_date_counts_and_as_of_overrides(tmp_path: Path) -> None:
    provider = snapshot(folder(tmp_path, SPY, AAPL))
    assert provider.quote_date(ChainRequest()) == date(2023, 5, 21)
    assert provider.quote_date(ChainRequest(as_of=date(2020, 1, 30))) == date(2020, 1, 30)
    rows = provider.fetch("SPY", ChainRequest(as_of=date(2020, 1, 30)))
    assert (rows.expiration == date(2020, 1, 31)).all()  # the 0-DTE expiry of the 29th is gone


def test_normalized_csv_and_parquet_round_trip(tmp_path: Path) -> None:
    chain = DemoProvider().fetch("KO", ChainRequest(sides=("put", "call"), as_of=date(2026, 11, 30)))
    chain.to_csv(tmp_path / "ko.csv", index=False)
    chain.assign(ticker="PEP").to_parquet(tmp_path / "pep.parquet", index=False)
    provider = snapshot(tmp_path)
    for ticker in ("KO", "PEP"):
        rows = provider.fetch(ticker, ChainRequest(sides=("put", "call")))
        expected = chain.assign(ticker=ticker).sort_values(["side", "expiration", "strike"], ignore_index=True)
        assert len(rows) == len(expected) == 120
        assert rows.strike.tolist() == expected.strike.tolist() and rows.delta.tolist() == expected.delta.tolist()
        assert rows.expiration.tolist() == expected.expiration.tolist()


def test_missing_delta_column_is_computed_with_the_configured_rate(tmp_path: Path) -> None:
    chain = DemoProvider().fetch("KO", ChainRequest(as_of=date(2026, 11, 30)))
    chain.drop(columns=["delta"]).to_csv(tmp_path / "ko.csv", index=False)
    rows = snapshot(tmp_path, risk_free_rate=0.05, dividend_yield=0.01).fetch("KO", ChainRequest())
    dte = np.array([(d - date(2026, 11, 30)).days for d in rows.expiration])
    expected = blackscholes.delta("put", rows.underlying_price.to_numpy(), rows.strike.to_numpy(),
                                  blackscholes.year_fraction(dte), rows.iv.to_numpy(), 0.05, 0.01)
    assert rows.delta.to_numpy() == pytest.approx(expected, abs=1e-12)
    assert rows.delta.to_numpy() == pytest.approx(chain.delta.to_numpy(), abs=0.01)  # near the demo's own


def test_junk_files_are_skipped_and_unknown_tickers_are_ticker_errors(tmp_path: Path,
                                                                       caplog: pytest.LogCaptureFixture) -> None:
    folder(tmp_path, AAPL)
    (tmp_path / "notes.json").write_text(json.dumps({"hello": "world"}))
    (tmp_path / "broken.json").write_text("{")
    (tmp_path / "other.csv").write_text("a,b\n1,2\n")
    (tmp_path / "readme.txt").write_text("ignored")
    caplog.set_level(logging.WARNING)
    provider = snapshot(tmp_path)
    assert len(provider.fetch("AAPL", ChainRequest())) == 15
    assert all(name in caplog.text for name in ("notes.json", "broken.json", "other.csv"))
    with pytest.raises(ProviderError, match="MSFT: not in the snapshot files"):
        provider.fetch("MSFT", ChainRequest())


def test_an_empty_folder_has_no_quote_date(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--as-of"):
        snapshot(tmp_path).quote_date(ChainRequest())


def test_scan_of_a_snapshot_folder(tmp_path: Path, fake_store: ScanStore) -> None:
    settings = Settings(data_dir=tmp_path, snapshot_dir=folder(tmp_path, SPY, AAPL))
    started = begin_scan(settings, fake_store, ScanRequest(tickers=["SPY", "AAPL", "QQQ"], provider="snapshot",
                                                           side="both", as_of=date(2023, 5, 21)))
    meta = run_scan(settings, fake_store, started.scan_id, started.token)
    assert meta.status == "completed" and meta.tickers_done == 3
    assert set(fake_store.errors(started.scan_id)) == {"QQQ"}
    frame = fake_store.results(started.scan_id).frame
    aapl = frame[frame.ticker == "AAPL"]
    assert len(aapl) == 30 and (aapl.dte == 26).all()
    assert (frame[frame.ticker == "SPY"].dte < 0).all() and not frame[frame.ticker == "SPY"].match.any()


# The time convention (blackscholes.year_fraction): (days to expiration + 1) / 365, as the broker counts.

def _two_dte_contracts() -> tuple[pd.DataFrame, dict]:
    payload = json.loads(shared_file(SPY).read_text())
    contracts = [c for side in ("putExpDateMap", "callExpDateMap")
                 for strikes in payload[side].values() for quotes in strikes.values() for c in quotes
                 if c["daysToExpiration"] == 2]
    frame = pd.DataFrame(contracts)
    frame = frame[frame.delta.abs().between(0.02, 0.98)]
    return frame, payload


def test_broker_deltas_agree_within_0_01() -> None:
    frame, payload = _two_dte_contracts()
    assert len(frame) > 50
    computed = blackscholes.delta(frame.putCall.str.lower().to_numpy(), payload["underlyingPrice"],
                                  frame.strikePrice.to_numpy(), blackscholes.year_fraction(2),
                                  frame.volatility.to_numpy() / 100, payload["interestRate"] / 100)
    assert np.abs(computed - frame.delta.to_numpy()).max() < 0.01


def test_calendar_time_to_the_expiry_timestamp_misses_the_broker() -> None:
    frame, payload = _two_dte_contracts()
    years = (frame.expirationDate - frame.quoteTimeInLong).to_numpy() / 1000 / 86400 / 365
    computed = blackscholes.delta(frame.putCall.str.lower().to_numpy(), payload["underlyingPrice"],
                                  frame.strikePrice.to_numpy(), years, frame.volatility.to_numpy() / 100,
                                  payload["interestRate"] / 100)
    assert np.abs(computed - frame.delta.to_numpy()).max() > 0.03


def test_a_dte_window_selects_the_files_expirations_in_it(tmp_path: Path) -> None:
    provider = snapshot(folder(tmp_path, SPY))  # expirations 2020-01-29 (0 DTE) and 2020-01-31 (2 DTE)
    rows = provider.fetch("SPY", ChainRequest(sides=("put",), dte_window=(1, 45)))
    assert set(rows.expiration) == {date(2020, 1, 31)} and len(rows) == 15
    assert set(provider.fetch("SPY", ChainRequest(dte_window=(0, 0))).expiration) == {date(2020, 1, 29)}
    assert provider.fetch("SPY", ChainRequest(dte_window=(3, 730))).empty


@pytest.mark.parametrize("payload", [{"putExpDateMap": {"2026-12-18:17": []}}, {"putExpDateMap": [1]},
                                     {"putExpDateMap": {"2026-12-18:17": {"100.0": "x"}}},
                                     {"callExpDateMap": {"2026-12-18:17": {"100.0": [1, None]}}}])
def test_a_malformed_chain_file_is_skipped_and_named_and_the_scan_goes_on(
        payload: dict, tmp_path: Path, fake_store: ScanStore, caplog: pytest.LogCaptureFixture) -> None:
    settings = Settings(data_dir=tmp_path, snapshot_dir=folder(tmp_path, AAPL))
    (tmp_path / "bad.json").write_text(json.dumps(payload))
    caplog.set_level(logging.WARNING)
    started = begin_scan(settings, fake_store, ScanRequest(tickers=["AAPL"], provider="snapshot", side="both",
                                                           as_of=date(2023, 5, 21)))
    meta = run_scan(settings, fake_store, started.scan_id, started.token)
    assert meta.status == "completed" and meta.contracts == 30 and not fake_store.errors(started.scan_id)
    assert "snapshot file bad.json skipped: malformed Schwab/TD Ameritrade chain" in caplog.text
    assert "Traceback" not in caplog.text


def test_an_open_contract_in_the_money_is_quoted_from_the_files(tmp_path: Path) -> None:
    """Matched by its contract, not its text: the file spells it TD's older way (SPY_013120P330)."""
    quotes = snapshot(folder(tmp_path, SPY)).option_quotes(["SPY200131P00330000"], ChainRequest())
    row = quotes.iloc[0]
    assert (len(quotes), row.option_symbol, row.expiration, row.strike, row.bid, row.ask, row.underlying_price,
            row.quote_date) == (1, "SPY_013120P330", date(2020, 1, 31), 330.0, 3.65, 3.71, 326.22, date(2020, 1, 29))


@pytest.mark.parametrize(("symbol", "reason"), [
    ("SPY200131P00999000", "no quote for the open contract SPY200131P00999000 (not listed"),
    ("QQQ200131P00200000", "open contracts QQQ200131P00200000 not quoted: QQQ: not in the snapshot files"),
])
def test_an_open_contract_the_files_lack_is_left_out_with_the_reason(
        tmp_path: Path, caplog: pytest.LogCaptureFixture, symbol: str, reason: str) -> None:
    with caplog.at_level(logging.WARNING):
        quotes = snapshot(folder(tmp_path, SPY)).option_quotes([symbol], ChainRequest())
    assert quotes.empty and "snapshot: " in caplog.text and reason in caplog.text
