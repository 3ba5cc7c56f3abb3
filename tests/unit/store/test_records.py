"""Watch-list and criteria storage: validation, CSV, merge/replace, and property tests that nothing invalid is
ever stored and nothing but SettingsError escapes."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scanner.errors import SettingsError
from scanner.scan.criteria import Criteria, parse_assignments
from scanner.scan.watchlist import DEFAULT_TICKERS, Entry, parse_csv, to_csv
from scanner.store.scans import ScanStore

SYMBOL = re.compile(r"[A-Z0-9.\-]{1,10}")


def _raw(store: ScanStore, key: str) -> str | None:
    return store.client.get(key)


def test_defaults_until_something_is_saved(fake_store: ScanStore) -> None:
    assert fake_store.watchlist.tickers() == DEFAULT_TICKERS and len(DEFAULT_TICKERS) == 26
    assert fake_store.criteria.load() == Criteria()
    assert _raw(fake_store, fake_store.keys.watchlist) is None


def test_add_upper_cases_collapses_duplicates_and_reactivates(fake_store: ScanStore) -> None:
    fake_store.watchlist.edit(deactivate="AAPL")
    outcome = fake_store.watchlist.add("tsla, brk.b\nTSLA aapl")
    assert outcome.added == ["TSLA", "BRK.B"] and outcome.already == ["AAPL"]
    entries = fake_store.watchlist.entries()
    assert [e.symbol for e in entries][-2:] == ["TSLA", "BRK.B"]
    assert Entry("AAPL", True) in entries and len(entries) == 28


def test_bad_symbols_are_listed_and_nothing_is_saved(fake_store: ScanStore) -> None:
    fake_store.watchlist.add("IBM")
    before = _raw(fake_store, fake_store.keys.watchlist)
    with pytest.raises(SettingsError) as refused:
        fake_store.watchlist.add("MSFT a$b TOOLONGSYMBOL1 ok")
    assert "'a$b'" in str(refused.value) and "'TOOLONGSYMBOL1'" in str(refused.value)
    assert "MSFT" not in str(refused.value)
    assert _raw(fake_store, fake_store.keys.watchlist) == before


def test_switch_and_remove_refuse_unknown_symbols_whole(fake_store: ScanStore) -> None:
    with pytest.raises(SettingsError, match="not on the watch-list: ZZZ"):
        fake_store.watchlist.edit(remove=["AAPL", "ZZZ"])
    assert "AAPL" in fake_store.watchlist.tickers()
    fake_store.watchlist.edit(deactivate=["msft"], remove=["AAPL"])
    entries = {e.symbol: e.active for e in fake_store.watchlist.entries()}
    assert "AAPL" not in entries and entries["MSFT"] is False
    assert "MSFT" not in fake_store.watchlist.tickers()
    fake_store.watchlist.edit(activate="MSFT")
    assert "MSFT" in fake_store.watchlist.tickers()


def test_csv_round_trip_headers_and_flags() -> None:
    entries = [Entry("AAPL"), Entry("BRK.B", False)]
    assert parse_csv(to_csv(entries)) == entries
    assert parse_csv(b"\xef\xbb\xbfTicker,Name,Active\nibm,IBM Corp,no\nibm,dup,yes\nnvda,,\n") == [
        Entry("IBM", False), Entry("NVDA", True)]
    assert parse_csv("aapl\nmsft\n\n") == [Entry("AAPL"), Entry("MSFT")]
    with pytest.raises(ValueError) as refused:
        parse_csv("symbol,active\nAAPL,maybe\n$$$,1\nMSFT,0\n")
    assert refused.value.bad == ["AAPL (active='maybe')", "$$$"]
    with pytest.raises(ValueError, match="not a readable CSV"):
        parse_csv(b"\xff\xfe\x00bad")


def test_import_merges_or_replaces_and_refuses_a_bad_file_whole(fake_store: ScanStore) -> None:
    merged = fake_store.watchlist.import_csv("symbol,active\nAAPL,false\nZM,true\n", replace=False)
    assert len(merged) == 27 and Entry("AAPL", False) in merged and merged[-1] == Entry("ZM")
    before = _raw(fake_store, fake_store.keys.watchlist)
    with pytest.raises(SettingsError):
        fake_store.watchlist.import_csv("IBM\nnot a symbol\n", replace=True)
    assert _raw(fake_store, fake_store.keys.watchlist) == before
    assert fake_store.watchlist.import_csv("IBM\nORCL,false\n", replace=True) == [Entry("IBM"), Entry("ORCL", False)]
    assert fake_store.watchlist.export_csv() == "symbol,active\nIBM,true\nORCL,false\n"
    with pytest.raises(SettingsError, match="no symbols"):
        fake_store.watchlist.import_csv("symbol,active\n", replace=True)


def test_criteria_save_validate_reset(fake_store: ScanStore) -> None:
    saved = fake_store.criteria.save(parse_assignments(["side=both", "weeks=6", "call-delta-table=7:0.2, 30:0.3"]))
    assert saved.side == "both" and saved.weeks == 6 and saved.call_delta_table == ((7, 0.2), (30, 0.3))
    assert fake_store.criteria.load() == saved
    for bad, field in ((["weeks=53"], "weeks"), (["strike_limit=0"], "strike_limit"),
                       (["min_put_annualized=-1"], "min_put_annualized"), (["side=straddle"], "side"),
                       (["put_delta_floor=0.5"], "put_delta_floor"), (["call_delta_table=14:0.2,7:0.3"], "increasing"),
                       (["call_delta_table=7"], "call_delta_table")):
        with pytest.raises(SettingsError, match=field):
            fake_store.criteria.save(parse_assignments(bad))
    assert fake_store.criteria.load() == saved
    with pytest.raises(SettingsError, match="NAME=VALUE"):
        parse_assignments(["colour=red"])
    assert fake_store.criteria.reset() == Criteria() == fake_store.criteria.load()


def _assert_valid_watchlist(store: ScanStore) -> None:
    raw = _raw(store, store.keys.watchlist)
    if raw is None:
        return
    entries = json.loads(raw)
    symbols = [e["symbol"] for e in entries]
    assert all(SYMBOL.fullmatch(s) for s in symbols) and len(set(symbols)) == len(symbols)
    assert all(isinstance(e["active"], bool) for e in entries)


_TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=60) | st.text(alphabet="aZ9.-$ ,;\n\t", max_size=40)
_PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@_PROPERTY
@given(text=_TEXT)
def test_random_watchlist_input_never_stores_anything_invalid(fake_store: ScanStore, text: str) -> None:
    for change in (lambda: fake_store.watchlist.add(text), lambda: fake_store.watchlist.edit(deactivate=text),
                   lambda: fake_store.watchlist.import_csv(text, replace=True),
                   lambda: fake_store.watchlist.import_csv(text.encode("utf-8", "surrogatepass")[:80], replace=False)):
        before = _raw(fake_store, fake_store.keys.watchlist)
        try:
            change()
        except SettingsError:
            assert _raw(fake_store, fake_store.keys.watchlist) == before
        _assert_valid_watchlist(fake_store)


_FIELD = st.sampled_from(list(Criteria.__dataclass_fields__) + ["bogus"])
_VALUE = (_TEXT | st.integers(-10**6, 10**6).map(str) | st.floats(allow_nan=True).map(repr)
          | st.lists(st.tuples(st.integers(-5, 60), st.floats(-2, 2)), max_size=4).map(
              lambda rows: ", ".join(f"{d}:{v}" for d, v in rows)))


@_PROPERTY
@given(changes=st.dictionaries(_FIELD, _VALUE, max_size=4), words=st.lists(_TEXT, max_size=3))
def test_random_criteria_input_never_stores_anything_invalid(fake_store: ScanStore, changes: dict, words: list) -> None:
    for attempt in (lambda: fake_store.criteria.save(changes),
                    lambda: fake_store.criteria.save(parse_assignments(words)),
                    lambda: fake_store.criteria.save(parse_assignments(f"{k}={v}" for k, v in changes.items()))):
        before = _raw(fake_store, fake_store.keys.criteria)
        try:
            attempt()
        except SettingsError:
            assert _raw(fake_store, fake_store.keys.criteria) == before
        raw = _raw(fake_store, fake_store.keys.criteria)
        if raw is not None:
            stored = Criteria.from_dict(json.loads(raw))
            assert 0 <= stored.min_put_annualized <= 1000 and 0 <= stored.min_call_annualized <= 1000


def test_criteria_stored_before_the_further_fields_existed_still_load(fake_store: ScanStore) -> None:
    # what a deployment saved before issue 15: no DTE window, no ceiling, no liquidity minimums
    old = {"side": "both", "weeks": 6, "strike_limit": 15, "min_put_annualized": 35.0, "put_delta_floor": -0.2,
           "min_call_annualized": 20.0, "call_delta_table": [[7, 0.2], [14, 0.24]], "call_delta_beyond": 0.3}
    fake_store.client.set(fake_store.keys.criteria, json.dumps(old))
    loaded = fake_store.criteria.load()
    assert (loaded.side, loaded.weeks, loaded.min_put_annualized, loaded.call_delta_beyond) == ("both", 6, 35.0, 0.3)
    assert loaded.dte_window is None and loaded.put_delta_ceiling is None and loaded.min_open_interest is None
    saved = fake_store.criteria.save({"min_dte": "30", "max_dte": "45", "min_bid": "0.25"})  # what the page sends
    assert (saved.dte_window, saved.min_bid, saved.min_put_annualized) == ((30, 45), 0.25, 35.0)
    assert json.loads(_raw(fake_store, fake_store.keys.criteria))["min_open_interest"] is None  # stored as off
    assert fake_store.criteria.save(parse_assignments(["min_bid=off", "max_dte="])).dte_window == (30, 730)


def test_bad_further_criteria_are_refused_and_nothing_is_saved(fake_store: ScanStore) -> None:
    saved = fake_store.criteria.save(parse_assignments(["min_dte=30", "max_dte=45"]))
    for bad, field in ((["max_dte=731"], "max_dte"), (["min_dte=-1"], "min_dte"), (["min_dte=50"], "must not exceed"),
                       (["put_delta_ceiling=-0.3"], "put_delta_ceiling"), (["put_delta_ceiling=0.1"], "ceiling"),
                       (["min_open_interest=-5"], "min_open_interest"), (["min_volume=1.5"], "whole number"),
                       (["min_bid=abc"], "min_bid"), (["max_spread_pct=-1"], "max_spread_pct")):
        with pytest.raises(SettingsError, match=field):
            fake_store.criteria.save(parse_assignments(bad))
    assert fake_store.criteria.load() == saved
