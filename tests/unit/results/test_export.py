"""Exports: CSV numbers rounded to what they mean (from the schema's display), Parquet at full precision, and the
command line's export and scan listings, run in-process on fakeredis."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest

from scanner import cli
from scanner.results.export import CSV_DECIMALS, export_frame, rounded, to_bytes
from scanner.scan.engine import counters
from scanner.schema import COLUMNS, Kind, Role
from scanner.store.scans import ScanStatus, ScanStore


def _contract(**values: float) -> pd.DataFrame:
    row = {"ticker": "XYZ", "side": "put", "expiration": pd.Timestamp("2026-12-18"), "strike": 95.0, "bid": 1.23456,
           "ask": 1.345678, "delta": -0.123456, "iv": 0.345678, "prob_otm": 0.876544, "annualized_return_pct": 26.28889,
           "spread_pct": 8.567, "collateral": 9500.0, "break_even": 93.76544, "otm_pct": 5.0, "volume": 12,
           "option_symbol": "XYZ   261218P00095000", "match": True}
    return export_frame(pd.DataFrame([{**row, **values}]), matches_only=False)


def _csv_cells(frame: pd.DataFrame) -> dict[str, str]:
    """The first data row of the frame's CSV, as the text each cell holds."""
    header, first = to_bytes(frame, "csv").decode().split("\r\n")[:2]
    return dict(zip(header.split(","), first.split(","), strict=True))


def test_csv_numbers_are_rounded_to_what_they_mean() -> None:
    cells = _csv_cells(_contract())
    assert cells["bid"] == "1.23"  # money: cents
    assert cells["ask"] == "1.35"
    assert cells["break_even"] == "93.77" and cells["collateral"] == "9500.0"
    assert cells["delta"] == "-0.1235"  # delta: 4 decimals
    assert cells["iv"] == "0.3457" and cells["prob_otm"] == "0.8765"  # fractions: 4 decimals
    assert cells["annualized_return_pct"] == "26.29" and cells["spread_pct"] == "8.57"  # percentages: 2
    assert cells["otm_pct"] == "5.0" and cells["volume"] == "12"  # whole numbers stay whole
    assert cells["expiration"] == "2026-12-18" and cells["match"] == "True"


def test_a_delta_that_rounds_to_zero_reads_0_not_minus_0() -> None:
    assert _csv_cells(_contract(delta=-0.00001))["delta"] == "0.0"


def test_parquet_keeps_full_precision() -> None:
    back = pd.read_parquet(io.BytesIO(to_bytes(_contract(), "parquet")))
    assert back["bid"][0] == 1.23456 and back["delta"][0] == -0.123456 and back["iv"][0] == 0.345678


def test_every_stored_float_column_has_its_csv_rounding() -> None:
    floats = [c for c in COLUMNS if c.kind is Kind.FLOAT and c.role is not Role.VIEW]
    assert floats and all(c.display in CSV_DECIMALS for c in floats), [c.name for c in floats]


def test_rounding_leaves_the_frame_it_was_given_alone() -> None:
    frame = _contract()
    rounded(frame)
    assert frame["bid"][0] == 1.23456


def _completed(store: ScanStore, rows: pd.DataFrame, scan_id: str = "s1") -> None:
    tickers = sorted(rows["ticker"].unique())
    store.create(scan_id, provider="demo", provider_label="Demo", criteria={"side": "put"}, tickers=tickers)
    contracts = matches = 0
    for done, (ticker, group) in enumerate(rows.groupby("ticker"), 1):
        contracts, matches = contracts + len(group), matches + int(group["match"].sum())
        store.record_ticker(scan_id, ticker, group, None, counters(done, len(tickers), contracts, matches, 0, ticker))
    store.finish(scan_id, ScanStatus.COMPLETED, "1/1 ticker, 1 contract, 1 match, 0 errors.")


def run_cli_in_process(store: ScanStore, monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    """``python -m scanner ARGS`` in this process, on `store` (fakeredis) instead of a real server."""
    monkeypatch.setattr(cli, "open_store", lambda settings: store)
    return cli.main(list(args))


def test_export_without_output_writes_under_exports_in_the_current_directory(
        fake_store: ScanStore, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    _completed(fake_store, _contract())
    monkeypatch.chdir(tmp_path)
    assert run_cli_in_process(fake_store, monkeypatch, "export") == 0
    written = list(tmp_path.rglob("*.csv"))
    assert [path.parent for path in written] == [tmp_path / "exports"]  # the folder is made, nothing at the top
    assert written[0].name.endswith("-s1-matches.csv")
    assert f"wrote {Path('exports') / written[0].name}" in capsys.readouterr().err
    assert pd.read_csv(written[0])["bid"].tolist() == [1.23]
    assert run_cli_in_process(fake_store, monkeypatch, "export", "--all", "--format", "parquet") == 0  # folder exists
    assert pd.read_parquet(next((tmp_path / "exports").glob("*-all.parquet")))["bid"].tolist() == [1.23456]


def test_export_to_a_named_path_is_written_there(fake_store: ScanStore, monkeypatch: pytest.MonkeyPatch,
                                                  tmp_path: Path) -> None:
    _completed(fake_store, _contract())
    target = tmp_path / "out" / "mine.csv"
    assert run_cli_in_process(fake_store, monkeypatch, "export", "--output", str(target)) == 0
    assert target.exists() and not (tmp_path / "exports").exists()


def test_the_cli_writes_counts_of_one_in_the_singular(fake_store: ScanStore, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    _completed(fake_store, _contract())
    fake_store.set_fields("s1", errors=1)
    assert run_cli_in_process(fake_store, monkeypatch, "history") == 0
    listed = capsys.readouterr().out
    assert " 1/1 ticker  1 contract  1 match  1 error  " in listed, listed
    assert run_cli_in_process(fake_store, monkeypatch, "status") == 0
    shown = capsys.readouterr().out
    assert "(1/1 ticker, 1 match, 1 error)" in shown, shown
    _completed(fake_store, pd.concat([_contract(), _contract(ticker="ABC", match=False)]), "s2")
    assert run_cli_in_process(fake_store, monkeypatch, "history", "--limit", "1") == 0
    assert " 2/2 tickers  2 contracts  1 match  0 errors  " in capsys.readouterr().out


@pytest.mark.parametrize("cell", ["\n=1+1", "\r\n=1+1", "＝1+1", "＋1+1", "－1+1", "＠SUM(A1)"])
def test_cells_a_spreadsheet_reads_as_a_formula_after_a_line_break_or_in_full_width_are_neutralized(cell: str) -> None:
    back = pd.read_csv(io.BytesIO(to_bytes(pd.DataFrame({"option_symbol": [cell]}), "csv")), keep_default_na=False)
    assert back["option_symbol"][0] == "'" + cell
