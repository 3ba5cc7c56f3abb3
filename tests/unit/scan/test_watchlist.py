"""Watch-list symbols: the one validation rule, and the CSV export a spreadsheet opens."""

from __future__ import annotations

import pytest

from scanner.errors import InvalidCsv, InvalidSymbols
from scanner.scan.watchlist import Entry, entries_from_json, parse_csv, parse_symbols, to_csv


@pytest.mark.parametrize("symbol", ["-A1", ".", "--", "-", ".A", "=1", "+1", "@A"])
def test_symbols_that_do_not_start_with_a_letter_or_digit_are_refused(symbol: str) -> None:
    with pytest.raises(InvalidSymbols):
        parse_symbols(f"AAPL {symbol}")
    with pytest.raises(InvalidCsv):
        parse_csv(f"symbol\nAAPL\n{symbol}\n")
    assert entries_from_json([{"symbol": symbol}, {"symbol": "AAPL"}]) == [Entry("AAPL")]


def test_symbols_with_inner_dots_and_dashes_are_kept() -> None:
    assert parse_symbols("BRK.B BF-B 7203") == ["BRK.B", "BF-B", "7203"]


def test_the_watchlist_export_neutralizes_a_cell_a_spreadsheet_would_run() -> None:
    lines = to_csv([Entry("AAPL"), Entry("=HYPERLINK(\"http://x\")", active=False)]).splitlines()
    assert lines[1] == "AAPL,true"
    assert lines[2].startswith("\"'=HYPERLINK(")
