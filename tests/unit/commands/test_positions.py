"""``positions`` and ``rolls`` through ``main()`` on the real embedded server: each command's effect, bad input
refused with its reason (exit 2) and nothing saved, ``--user`` books kept apart, CSV import and export."""

from __future__ import annotations

import json
import re

import pytest

from scanner.cli import main
from scanner.config import Settings
from scanner.errors import ExitCode
from scanner.scan.positions import parse_csv
from scanner.store.positions import PositionsRecord, book_field
from scanner.store.scans import ScanStore

PUT = "AAPL261218P00150000"


def _json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:
    capsys.readouterr()
    assert main([*argv, "--json"]) == ExitCode.OK
    return json.loads(capsys.readouterr().out)


def _raw(store: ScanStore) -> dict[str, str]:
    return store.client.hgetall(store.keys.positions)


def test_add_list_remove_and_cash(real_store: ScanStore, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["positions", "add-stock", "aapl", "200", "150.25"]) == ExitCode.OK
    assert main(["positions", "add-option", PUT, "2", "3.10", "--opened", "2026-11-02"]) == ExitCode.OK
    assert main(["positions", "set-cash", "50,000"]) == ExitCode.OK
    book = _json(capsys, "positions", "list")
    assert book == {"holdings": [{"ticker": "AAPL", "shares": 200, "cost_basis": 150.25}],
                    "options": [{"option_symbol": PUT, "contracts": 2, "premium": 3.1, "opened_on": "2026-11-02"}],
                    "cash": 50000.0}
    assert main(["positions", "list"]) == ExitCode.OK
    assert "free after open puts' collateral 20,000.00" in capsys.readouterr().out  # 50,000 − 150 × 100 × 2
    assert main(["positions", "remove", PUT]) == ExitCode.OK
    assert _json(capsys, "positions", "list")["options"] == []


@pytest.mark.parametrize(("argv", "says"), [
    (["add-stock", "AAPL", "-100", "150"], "shares '-100' must be above 0"),
    (["add-stock", "AAPL", "100", "abc"], "cost basis 'abc' is not a number"),
    (["add-stock", "=cmd", "100", "1"], "ticker '=cmd' is not a symbol"),
    (["add-option", "AAPL2612P150", "1", "2"], "option symbol 'AAPL2612P150' is not OCC's"),
    (["add-option", PUT, "1.5", "2"], "contracts '1.5' is not a whole number"),
    (["add-option", PUT, "1", "2", "--opened", "yesterday"], "opened on 'yesterday' is not a date"),
    (["set-cash", "-1"], "cash '-1' must be at least 0"),
    (["remove", "MSFT"], "'MSFT' is neither a holding nor an open option"),
    (["assigned", "AAPL"], "'AAPL' is not an open option"),
])
def test_bad_input_is_refused_with_its_reason_and_nothing_is_saved(
        real_store: ScanStore, capsys: pytest.CaptureFixture[str], argv: list[str], says: str) -> None:
    main(["positions", "add-stock", "AAPL", "100", "150"])
    before = _raw(real_store)
    capsys.readouterr()
    assert main(["positions", *argv]) == ExitCode.BAD_INPUT
    err = capsys.readouterr().err
    assert err.startswith("error: refused: ") and says in err and err.count("\n") == 1 and "Traceback" not in err
    assert _raw(real_store) == before


def test_import_merges_or_replaces_and_a_bad_row_refuses_the_file(
        real_store: ScanStore, tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["positions", "add-stock", "MSFT", "100", "300"])
    good = tmp_path / "book.csv"
    good.write_text(f"type,symbol,quantity,price,opened_on\nstock,AAPL,300,140\noption,{PUT},1,2.5,\ncash,,,9000\n")
    assert main(["positions", "import", str(good)]) == ExitCode.OK
    assert [h["ticker"] for h in _json(capsys, "positions", "list")["holdings"]] == ["MSFT", "AAPL"]
    bad = tmp_path / "bad.csv"
    bad.write_text("stock,NVDA,100,120\nstock,TSLA,-3,200\noption,XYZ,1,1\n")
    before = _raw(real_store)
    assert main(["positions", "import", str(bad), "--replace"]) == ExitCode.BAD_INPUT
    err = capsys.readouterr().err
    assert "line 2: shares '-3'" in err and "line 3: option symbol 'XYZ'" in err and _raw(real_store) == before
    assert main(["positions", "import", str(good), "--replace"]) == ExitCode.OK
    assert [h["ticker"] for h in _json(capsys, "positions", "list")["holdings"]] == ["AAPL"]
    out = tmp_path / "out.csv"
    assert main(["positions", "export", "--output", str(out)]) == ExitCode.OK
    assert parse_csv(out.read_text()) == parse_csv(good.read_text())


def test_each_user_book_is_its_own_and_the_shared_one_is_apart(real_store: ScanStore,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    main(["positions", "--user", "Ann@Example.com", "add-stock", "AAPL", "100", "150"])
    main(["positions", "--user", "bob@example.com", "add-stock", "MSFT", "200", "300"])
    assert [h["ticker"] for h in _json(capsys, "positions", "--user", "ann@example.com", "list")["holdings"]] == [
        "AAPL"]
    assert [h["ticker"] for h in _json(capsys, "positions", "--user", "bob@example.com", "list")["holdings"]] == [
        "MSFT"]
    assert _json(capsys, "positions", "list")["holdings"] == []
    assert not any("example.com" in field for field in _raw(real_store))  # no e-mail in the keys or fields


def test_rolls_without_a_scan_lists_the_open_options_unquoted(real_store: ScanStore,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    settings = Settings.from_env()
    PositionsRecord(real_store.client, real_store.keys).add_option(PUT, 1, 2.0)
    report = _json(capsys, "rolls")
    assert report["scan"] is None and report["open"][0]["option_symbol"] == PUT
    assert report["open"][0]["ask"] is None and report["open"][0]["candidates"] == []
    assert settings.roll_alert_pct == 5.0


def test_a_cli_scan_with_user_runs_against_that_book_and_rolls_read_it(real_store: ScanStore,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    main(["positions", "--user", "ann@example.com", "add-stock", "NVDA", "200", "1"])
    main(["positions", "add-stock", "AAPL", "100", "1"])  # the shared book: not this scan's
    assert main(["scan", "--tickers", "MSFT", "--side", "put", "--user", "ann@example.com"]) == ExitCode.OK
    meta = real_store.get(real_store.latest_id())
    assert meta.tickers == ["MSFT", "NVDA"] and meta.positions["owner"] == book_field("ann@example.com")
    assert "ann@example.com" not in json.dumps(meta.positions)
    rows = real_store.results(meta.scan_id).frame
    nvda = rows[rows.ticker == "NVDA"]
    assert set(nvda.side) == {"call"} and (nvda[nvda["match"]].contracts_fit == 2).all()


def test_rolls_print_each_open_option_then_its_candidates_under_the_pages_labels(
        real_store: ScanStore, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scan", "--tickers", "MSFT", "--side", "put", "--weeks", "3"]) == ExitCode.OK
    rows = real_store.results(real_store.latest_id()).frame
    first = rows[rows.expiration == rows.expiration.min()].sort_values("strike").iloc[-1]
    symbol = f"MSFT{first.expiration:%y%m%d}P{round(first.strike * 1000):08d}"
    PositionsRecord(real_store.client, real_store.keys).add_option(symbol, 1, 1.0)
    capsys.readouterr()
    assert main(["rolls"]) == ExitCode.OK
    head, header, *candidates = capsys.readouterr().out.splitlines()
    assert head.startswith(f"{symbol} ×1 (put {first.strike:g}, exp {first.expiration:%Y-%m-%d}): bid ")
    assert re.split(r"\s{2,}", header.strip()) == ["Contract", "Expiration", "Strike", "Bid", "Net credit",
                                                    "Net credit / yr", "Days added"]
    assert 1 <= len(candidates) <= 5
    expiration, strike, bid, credit, annualized, days = candidates[0].split()[-6:]  # the demo pads its roots
    assert expiration > f"{first.expiration:%Y-%m-%d}" and float(strike) <= first.strike
    assert float(bid) >= 0 and credit[0] in "+-" and annualized.endswith("%") and int(days) > 0


def test_a_refusal_names_every_bad_value_of_the_entry(real_store: ScanStore,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["positions", "add-stock", "AAPL", "-100", "abc"]) == ExitCode.BAD_INPUT
    assert capsys.readouterr().err.strip() == ("error: refused: \"shares '-100' must be above 0 and at most 1e+09; "
                                               "cost basis 'abc' is not a number\"")
    assert main(["positions", "add-option", "AAPL2612", "0", "x"]) == ExitCode.BAD_INPUT
    err = capsys.readouterr().err
    assert "option symbol 'AAPL2612'" in err and "contracts '0'" in err and "premium 'x'" in err
    assert _raw(real_store) == {}
