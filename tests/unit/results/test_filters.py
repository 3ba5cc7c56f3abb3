"""Filters over screened rows, their URL round trip and the notes for bad parameters; compare; exports."""

from __future__ import annotations

import io
from dataclasses import replace

import pandas as pd
import pytest

from scanner.results.compare import compare, mark_new
from scanner.results.export import export_frame, neutralize_formulas, to_bytes
from scanner.results.filters import Filters
from tests.support.rows import known_rows

OPEN = Filters(only_matches=False)


@pytest.mark.parametrize(("filters", "expected"), [
    (Filters(), [0, 2]),
    (OPEN, [0, 1, 2, 3, 4, 5]),
    (Filters(only_matches=False, side="call"), [3]),
    (Filters(only_matches=False, min_annualized=20), [0, 1, 2]),
    (Filters(only_matches=False, delta_min=-0.16, delta_max=-0.11), [0, 4]),
    (Filters(only_matches=False, dte_min=6, dte_max=20), [1, 4]),
    (Filters(only_matches=False, min_open_interest=300), [0, 2, 3]),
    (Filters(only_matches=False, min_volume=40), [0, 2, 3]),
    (Filters(only_matches=False, max_spread_pct=8), [0, 2, 3]),
    (Filters(only_matches=False, min_below_pct=7.7), [4, 5]),  # OTM %: row 1 changes 7.7 % but is 7.15 % OTM
    (Filters(only_matches=False, side="call", min_below_pct=2.0), [3]),  # a call 3 % OTM (its change is -2.91 %)
    (Filters(only_matches=False, tickers=("NVDA", "AAPL")), [0, 1, 4, 5]),
    (Filters(only_matches=False, search="c00450"), [3]),
    (Filters(only_matches=False, search="nv"), [4, 5]),
])
def test_each_filter(filters: Filters, expected: list[int]) -> None:
    assert filters.apply(known_rows()).index.tolist() == expected


def test_a_missing_delta_never_passes_a_delta_bound() -> None:
    assert 5 not in Filters(only_matches=False, delta_max=1.0).apply(known_rows()).index


def test_defaults_follow_the_scan_rules() -> None:
    puts = Filters(side="put", min_annualized=30.0, delta_min=-0.2, delta_max=0.0)
    assert Filters.for_criteria({"side": "put"}) == puts
    calls = Filters.for_criteria({"side": "call", "min_call_annualized": 25})
    assert (calls.side, calls.min_annualized, calls.delta_max) == ("call", 25.0, 0.36)
    assert Filters.for_criteria({"side": "bogus"}) == Filters.for_criteria({})


def test_defaults_follow_the_scans_further_criteria_and_dte_window() -> None:
    recorded = {"side": "put", "min_dte": 30, "max_dte": 45, "put_delta_ceiling": -0.1, "min_open_interest": 100,
                "min_volume": 10, "max_spread_pct": 15.0}
    assert Filters.for_criteria(recorded) == Filters(side="put", min_annualized=30.0, delta_min=-0.2, delta_max=-0.1,
                                                     dte_min=30, dte_max=45, min_open_interest=100, min_volume=10,
                                                     max_spread_pct=15.0)


def test_the_dte_filter_takes_a_window_out_to_730_days() -> None:
    defaults = Filters.for_criteria({"side": "put"})
    assert Filters.from_query({"dte_min": "0", "dte_max": "730"}, defaults) == (
        replace(defaults, dte_min=0, dte_max=730), [])


def test_query_round_trip() -> None:
    defaults = Filters.for_criteria({"side": "put"})
    chosen = Filters(side="all", min_annualized=12.5, delta_min=-0.3, delta_max=-0.05, dte_min=3, dte_max=30,
                     min_open_interest=100, min_volume=10, max_spread_pct=15.0, min_below_pct=2.0,
                     tickers=("AAPL", "MSFT"), search="261204", only_matches=False)
    params = chosen.to_query(defaults)
    assert params["min_ann"] == "12.5" and params["tickers"] == "AAPL,MSFT" and params["rules"] == "0"
    assert Filters.from_query(params, defaults) == (chosen, [])
    assert defaults.to_query(defaults) == {}
    cleared = Filters(side="put", min_annualized=None, delta_min=-0.2, delta_max=0.0)
    assert Filters.from_query(cleared.to_query(defaults), defaults) == (cleared, [])


@pytest.mark.parametrize(("params", "note"), [
    ({"min_ann": "abc"}, "Ignored min_ann='abc': not a number."),
    ({"delta_min": "0.5", "delta_max": "0.1"}, "the minimum is above the maximum"),
    ({"dte_min": "2.5"}, "not a whole number"),
    ({"dte_max": "9999"}, "outside 0 to 730"),
    ({"dte_max": "731"}, "outside 0 to 730"),
    ({"min_ann": "nan"}, "outside"),
    ({"side": "straddle"}, "not one of both, put, call"),
    ({"tickers": "AAPL,$$$"}, "not a ticker symbol"),
    ({"rules": "yes"}, "not 0 or 1"),
    ({"q": "x" * 41}, "longer than 40"),
])
def test_bad_parameters_are_ignored_with_a_note(params: dict[str, str], note: str) -> None:
    defaults = Filters.for_criteria({"side": "put"})
    filters, notes = Filters.from_query(params, defaults)
    assert filters == defaults
    assert len(notes) == 1 and note in notes[0]


def test_compare_new_dropped_changed() -> None:
    before = known_rows()
    after = known_rows().drop(index=[5])
    after.loc[0, "bid"] = 1.25
    extra = after.iloc[[1]].assign(option_symbol="AAPL  261211P00190000", strike=190.0)
    after = pd.concat([after, extra], ignore_index=True)
    result = compare(after, before)
    assert result.new["option_symbol"].tolist() == ["AAPL  261211P00190000"]
    assert result.dropped["option_symbol"].tolist() == ["NVDA  261224P00115000"]
    assert result.changed["option_symbol"].tolist() == ["AAPL  261204P00200000"]
    assert result.changed[["bid_before", "bid_after"]].iloc[0].tolist() == [1.0, 1.25]
    assert mark_new(after, before).tolist() == [False] * 5 + [True]
    assert not mark_new(after, None).any()


def test_csv_and_parquet_round_trip_to_the_same_frame() -> None:
    rows = export_frame(known_rows(), matches_only=False)
    from_csv = pd.read_csv(io.BytesIO(to_bytes(rows, "csv")), parse_dates=["expiration"])
    pd.testing.assert_frame_equal(from_csv, rows, check_dtype=False, check_column_type=False)
    from_parquet = pd.read_parquet(io.BytesIO(to_bytes(rows, "parquet")))
    pd.testing.assert_frame_equal(from_parquet, rows)
    assert export_frame(known_rows(), matches_only=True)["option_symbol"].str[:4].tolist() == ["AAPL", "MSFT"]


@pytest.mark.parametrize("cell", ["=HYPERLINK(\"http://x\")", "+1+2", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd"])
def test_csv_cells_that_spreadsheets_would_run_are_neutralized(cell: str) -> None:
    frame = pd.DataFrame({"option_symbol": [cell, "AAPL  261204P00200000"], "bid": [-1.5, 2.0]})
    text = to_bytes(frame, "csv").decode()
    back = pd.read_csv(io.StringIO(text), keep_default_na=False)
    assert back["option_symbol"][0] == "'" + cell
    assert back["option_symbol"][1] == "AAPL  261204P00200000"
    assert back["bid"].tolist() == [-1.5, 2.0]  # numbers are untouched, negative ones included
    assert neutralize_formulas(frame)["option_symbol"][0] == "'" + cell


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from scanner.results.filters import QUERY_NAMES  # noqa: E402


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(sorted(QUERY_NAMES.values()) + ["scan", "x"]), st.text(max_size=60), max_size=8))
def test_any_query_string_gives_valid_filters_or_notes(params: dict[str, str]) -> None:
    defaults = Filters.for_criteria({"side": "put"})
    filters, notes = Filters.from_query(params, defaults)
    assert all(isinstance(note, str) and note for note in notes)
    for low, high in (("delta_min", "delta_max"), ("dte_min", "dte_max")):
        lo, hi = getattr(filters, low), getattr(filters, high)
        assert lo is None or hi is None or lo <= hi
    assert filters.side in ("both", "put", "call")
    filters.apply(known_rows())  # whatever survived parsing filters without raising
    again, again_notes = Filters.from_query(filters.to_query(defaults), defaults)
    assert again == filters and again_notes == []


def test_fits_my_cash_keeps_rows_with_a_contract_that_fits_and_round_trips() -> None:
    rows = known_rows().assign(contracts_fit=pd.array([2, 0, None, 1, 0, None], dtype="Int64"))
    fits = Filters(only_matches=False, fits_book=True)
    assert fits.apply(rows).index.tolist() == [0, 3]
    assert fits.apply(known_rows()).empty  # rows stored before the book's columns: nothing fits
    assert fits.to_query(OPEN) == {"fits": "1"} and Filters.from_query({"fits": "1"}, OPEN) == (fits, [])


def test_the_whole_filter_state_round_trips_whatever_the_defaults() -> None:
    """A saved screen stores every field, defaults included: read against other defaults it means the same."""
    chosen = Filters(side="put", min_annualized=40.0)
    query = chosen.to_query(None)
    assert set(query) == set(QUERY_NAMES.values()) and query["delta_min"] == "" and query["rules"] == "1"
    other_defaults = Filters(side="call", min_annualized=20.0, delta_min=0.0, delta_max=0.3, only_matches=False)
    assert Filters.from_query(query, other_defaults) == (chosen, [])
