"""AppTest of the analyst workflow on a known scan: filters, URL round trip, bad parameters, history, compare."""

from __future__ import annotations

import json

import pandas as pd
import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest

from scanner.scan.engine import counters
from scanner.store.lock import ScanLock
from scanner.store.scans import ScanStore
from scanner.ui.filters_panel import MORE_SHOWN
from scanner.ui.markdown import plain
from tests.support.paths import ROOT
from tests.support.results_view import opened
from tests.support.rows import known_rows
from tests.support.stored import ranked_rows, store_scan


@pytest.fixture
def two_scans(scanner_env, real_store: ScanStore) -> ScanStore:
    """"before" lacks the AAPL 195 put and has an extra contract; "known" is the latest."""
    before = known_rows().drop(index=[1])
    before = pd.concat([before, before.iloc[[0]].assign(option_symbol="AAPL  261204P00190000", strike=190.0)])
    store_scan(real_store, "before", before, 1_700_000_000.0)
    store_scan(real_store, "known", known_rows(), 1_700_100_000.0)
    return real_store


def _both_sides_scan(store: ScanStore, scan_id: str = "both") -> None:
    """A newer scan of puts and calls (its rules: side both, annualized from 20 %, no delta bound) in which the
    MSFT call passes (at 25 %); the put scan's rules would hide it."""
    rows = known_rows()
    rows.loc[3, ["annualized_return_pct", "match"]] = [25.0, True]
    rows.loc[1, "match"] = True
    store_scan(store, scan_id, rows, 1_700_200_000.0, criteria={"side": "both"})


def _main(query: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    for name, value in (query or {}).items():
        at.query_params[name] = value
    return at.run()


def _tickers_shown(at: AppTest) -> dict[str, str]:
    return {e.label.split(" — ")[0]: e.label.split(" — ")[1] for e in at.expander}


def test_default_view_is_the_scan_rules(two_scans) -> None:
    at = _main()
    assert not at.exception
    assert _tickers_shown(at) == {"AAPL": "1 option", "MSFT": "1 option"}
    summary = at.dataframe[0].value
    assert summary["ticker"].tolist() == ["AAPL", "MSFT"]
    assert summary["best_annualized"].tolist() == [36.5, 36.5]


@pytest.mark.parametrize(("widget", "value", "shown"), [
    ("min_annualized", 20.0, {"AAPL": "2 options", "MSFT": "1 option"}),
    ("min_open_interest", 300, {"MSFT": "2 options", "AAPL": "1 option"}),
    ("max_spread_pct", 10.0, {"AAPL": "1 option", "MSFT": "2 options"}),
    ("min_below_pct", 7.0, {"AAPL": "1 option", "NVDA": "2 options"}),
])
def test_each_sidebar_filter_changes_what_is_shown(two_scans, widget: str, value: float, shown: dict) -> None:
    at = _main({"rules": "0", "side": "all", "min_ann": "", "delta_min": "", "delta_max": ""})
    assert len(at.expander) == 3
    at.number_input(key=f"filter_{widget}").set_value(value).run()
    assert not at.exception
    assert _tickers_shown(at) == shown


def test_side_tickers_search_and_reset(two_scans) -> None:
    at = _main({"rules": "0", "side": "all", "min_ann": "", "delta_min": "", "delta_max": ""})
    at.selectbox(key="filter_side").set_value("call").run()
    assert _tickers_shown(at) == {"MSFT": "1 option"}
    at.selectbox(key="filter_side").set_value("both").run()
    at.multiselect(key="filter_tickers").set_value(["NVDA"]).run()
    assert _tickers_shown(at) == {"NVDA": "2 options"}
    assert at.query_params["tickers"] == "NVDA"
    at.multiselect(key="filter_tickers").set_value([]).run()
    at.text_input(key="filter_search").input("261211").run()
    assert _tickers_shown(at) == {"AAPL": "1 option"}
    next(b for b in at.button if b.label == "Reset filters").click().run()
    assert _tickers_shown(at) == {"AAPL": "1 option", "MSFT": "1 option"}
    assert not {"q", "rules", "side"} & set(at.query_params)


def test_the_side_filter_says_both_and_an_old_side_all_bookmark_opens_that_view(two_scans) -> None:
    loose = {"rules": "0", "min_ann": "", "delta_min": "", "delta_max": ""}
    at = _main({**loose, "side": "both"})
    side = at.selectbox(key="filter_side")
    assert side.options == ["both", "put", "call"] and side.value == "both"
    assert at.number_input(key="filter_min_below_pct").label == "Min % out of the money"
    old = _main({**loose, "side": "all"})  # a bookmark from before "both"
    assert not old.sidebar.warning
    assert old.selectbox(key="filter_side").value == "both"
    assert _tickers_shown(old) == _tickers_shown(at) == {"AAPL": "2 options", "MSFT": "2 options", "NVDA": "2 options"}
    assert old.query_params["side"] == "both"


def test_filters_round_trip_through_the_url(two_scans) -> None:
    at = _main()
    at.checkbox(key="filter_only_matches").uncheck().run()
    at.number_input(key="filter_min_annualized").set_value(20.0).run()
    at.toggle(key=MORE_SHOWN).set_value(True).run()
    at.number_input(key="filter_dte_min").set_value(10).run()
    assert dict(at.query_params) == {"rules": "0", "min_ann": "20", "dte_min": "10"}
    assert _tickers_shown(at) == {"AAPL": "1 option"}
    again = _main(dict(at.query_params))
    assert again.checkbox(key="filter_only_matches").value is False
    assert again.number_input(key="filter_dte_min").value == 10
    assert _tickers_shown(again) == {"AAPL": "1 option"}


def test_more_filters_are_hidden_until_asked_for_and_still_applied_and_named(two_scans) -> None:
    at = _main({"rules": "0", "side": "both", "min_ann": ""})
    assert at.toggle(key=MORE_SHOWN).value is False and not at.number_input(key="filter_min_annualized").value
    assert [n.key for n in at.sidebar.number_input] == ["filter_min_annualized"]  # the ten bounds not drawn
    assert "Also applied: Delta from -0.2, Delta to 0" in [c.value for c in at.sidebar.caption]
    assert _tickers_shown(at) == {"AAPL": "2 options", "MSFT": "1 option", "NVDA": "1 option"}  # the call cut by delta
    at.toggle(key=MORE_SHOWN).set_value(True).run()
    assert at.number_input(key="filter_delta_max").value == 0 and len(at.sidebar.number_input) == 11
    at.number_input(key="filter_delta_max").set_value(None).run()
    at.toggle(key=MORE_SHOWN).set_value(False).run()
    assert at.query_params["delta_max"] == "" and "Also applied: Delta from -0.2" in [c.value for c in at.caption]


def test_a_url_setting_a_hidden_filter_opens_them(two_scans) -> None:
    at = _main({"min_oi": "300"})
    assert at.toggle(key=MORE_SHOWN).value is True and at.number_input(key="filter_min_open_interest").value == 300


def test_tampered_parameters_are_ignored_with_a_visible_note(two_scans) -> None:
    at = _main({"min_ann": "abc", "dte_min": "30", "dte_max": "5", "tickers": "AAPL,ZZZZ"})
    assert not at.exception
    notes = [w.value for w in at.sidebar.warning]
    assert plain("Ignored min_ann='abc': not a number.") in notes
    assert any("DTE range 30 to 5" in n for n in notes)
    assert any("ZZZZ" in n for n in notes)
    assert _tickers_shown(at) == {"AAPL": "1 option"}


def test_new_contracts_are_marked_on_the_main_page(two_scans) -> None:
    at = _main({"rules": "0", "side": "all", "min_ann": "", "delta_min": "", "delta_max": ""})
    labels = {e.label.split(" — ")[0]: e.label for e in at.expander}
    assert labels["AAPL"].endswith("— 1 new")  # the 195 put was not in the previous scan
    assert not labels["MSFT"].endswith("new")


def test_a_new_scan_in_the_same_tab_brings_its_own_rules_and_keeps_what_the_url_sets(two_scans) -> None:
    at = _main({"min_oi": "300"})  # set explicitly: it stays whatever the scan
    assert at.selectbox(key="filter_side").value == "put"
    assert _tickers_shown(at) == {"AAPL": "1 option", "MSFT": "1 option"}
    _both_sides_scan(two_scans)  # a scan of both sides completes while the page is open
    at.run()
    assert not at.exception
    assert at.selectbox(key="filter_side").value == "both"
    assert at.number_input(key="filter_min_annualized").value == 20.0
    assert at.number_input(key="filter_delta_min").value is None
    assert at.number_input(key="filter_min_open_interest").value == 300
    assert _tickers_shown(at) == {"AAPL": "1 option", "MSFT": "2 options"}  # the call shows
    assert dict(at.query_params) == {"min_oi": "300"}


def test_a_running_scan_shows_with_its_own_rules(two_scans) -> None:
    at = _main()
    assert at.selectbox(key="filter_side").value == "put"
    assert ScanLock(two_scans.client, two_scans.keys, ttl=30).acquire()
    two_scans.create("live", provider="demo", provider_label="Demo", criteria={"side": "call"}, tickers=["MSFT"])
    two_scans.mark_running("live", pid=1, host="test")
    call = known_rows().iloc[[3]].assign(match=True, annualized_return_pct=25.0)
    two_scans.record_ticker("live", "MSFT", call, None, counters(1, 1, 1, 1, 0, "MSFT"))
    at.run()  # the click's rerun, or the next refresh
    assert at.selectbox(key="filter_side").value == "call"
    assert _tickers_shown(at) == {"MSFT": "1 option"}
    assert not dict(at.query_params)


def _history(query: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / "history.py"), default_timeout=60)
    for name, value in (query or {}).items():
        at.query_params[name] = value
    return at.run()


def test_history_lists_scans_and_selects_by_url(two_scans) -> None:
    at = _history()
    assert not at.exception
    table = at.dataframe[0].value
    assert table["scan_id"].tolist() == ["known", "before"]
    assert at.subheader[0].value.startswith("Scan known — completed")
    older = _history({"scan": "before"})
    assert older.subheader[0].value.startswith("Scan before — completed")
    assert "No earlier completed scan to compare with." in [c.value for c in older.caption]
    missing = _history({"scan": "nope"})
    assert any("not in the history" in w.value for w in missing.warning)


def test_history_compares_with_the_previous_completed_scan(two_scans) -> None:
    at = _history({"scan": "known"})
    at.toggle(key="history-compare-all").set_value(True).run()  # every screened contract, not only the matches
    labels = [tab.label for tab in at.tabs]
    assert "New (1)" in labels and "Dropped (1)" in labels and "Changed (0)" in labels
    new_tab = next(tab for tab in at.tabs if tab.label == "New (1)")
    assert new_tab.dataframe[0].value["option_symbol"].tolist() == ["AAPL  261211P00195000"]


def test_history_shows_an_older_scan_with_its_own_rules_and_leaves_them_out_of_the_url(two_scans) -> None:
    _both_sides_scan(two_scans)
    at = _history()
    assert at.subheader[0].value.startswith("Scan both — completed")
    assert at.selectbox(key="filter_side").value == "both"
    at.query_params["scan"] = "known"  # another scan picked
    at.run()
    assert at.subheader[0].value.startswith("Scan known — completed")
    assert at.selectbox(key="filter_side").value == "put"
    assert at.number_input(key="filter_min_annualized").value == 30.0
    assert "Also applied: Delta from -0.2, Delta to 0" in [c.value for c in at.sidebar.caption]  # hidden, in effect
    assert _tickers_shown(at) == {"AAPL": "1 option", "MSFT": "1 option"}
    assert dict(at.query_params) == {"scan": "known"}  # no filter of the newer scan written for the older one


def test_each_page_starts_its_filters_from_its_own_url(two_scans) -> None:
    at = _main()
    at.checkbox(key="filter_only_matches").uncheck().run()
    assert at.query_params["rules"] == "0"
    at.query_params.clear()  # as a browser's page link does: the next page opens without them
    at.switch_page("pages/history.py").run()
    assert not at.exception
    assert at.checkbox(key="filter_only_matches").value is True
    at.switch_page("pages/scan.py").run()
    assert at.checkbox(key="filter_only_matches").value is True
    assert _tickers_shown(at) == {"AAPL": "1 option", "MSFT": "1 option"}


def test_filters_hiding_every_match_say_how_many_and_offer_the_reset(two_scans) -> None:
    at = _main({"min_ann": "5000", "tickers": "AAPL"})
    assert not at.exception
    assert [i.value for i in at.info] == ["2 matches hidden by the filters"]
    assert not at.expander
    at.button(key="main-reset-hidden").click().run()  # what the sidebar's Reset filters does
    assert _tickers_shown(at) == {"AAPL": "1 option", "MSFT": "1 option"}
    assert not dict(at.query_params)
    history = _history({"scan": "known", "q": "nothing like it"})
    assert "2 matches hidden by the filters" in [i.value for i in history.info]


def test_tickers_whose_matches_are_all_hidden_get_a_line(two_scans) -> None:
    at = _main({"tickers": "AAPL"})
    assert _tickers_shown(at) == {"AAPL": "1 option"}
    assert "1 more ticker with its matches all hidden by the filters: MSFT (1)" in [c.value for c in at.caption]
    everything = _main()
    assert not [c.value for c in everything.caption if "hidden by the filters" in c.value]


def test_exports_of_the_whole_scan_stay_offered_when_the_filters_hide_every_row(two_scans) -> None:
    at = _main({"min_ann": "5000"})
    assert "2 matches hidden by the filters" in [i.value for i in at.info]  # was "No options found."
    offered = {b.proto.label: b.proto.disabled for b in at.get("download_button")}
    assert offered == {"Download CSV": True, "Download CSV (all contracts)": False,
                       "Download Parquet (all contracts)": False}


def _charts(at: AppTest) -> list[tuple[dict, pd.DataFrame]]:
    """Each Altair chart on the page: its Vega-Lite spec and its data."""
    charts = [e for e in at.main if getattr(e, "type", None) == "vega_lite_chart"]
    return [(json.loads(c.proto.spec), pa.ipc.open_stream(c.proto.datasets[0].data.data).read_pandas())
            for c in charts]


def test_the_summary_shows_the_best_contracts_side_strike_expiration_bid_delta_and_open_interest(
        two_scans) -> None:
    rows = known_rows()
    rows.loc[3, "annualized_return_pct"] = 40.0  # MSFT's best is now its call, above its put's 36.5
    store_scan(two_scans, "mixed", rows, 1_700_200_000.0, criteria={"side": "both"})
    at = _main({"rules": "0", "min_ann": "", "delta_min": "", "delta_max": ""})
    assert not at.exception
    summary = at.dataframe[0].value.set_index("ticker")
    assert summary["best_side"].to_dict() == {"AAPL": "put", "MSFT": "call", "NVDA": "put"}
    msft = summary.loc["MSFT"]
    assert (msft["best_strike"], msft["best_bid"], msft["best_delta"], msft["best_open_interest"],
            msft["best_annualized"]) == (450.0, 1.2, 0.18, 300, 40.0)
    assert msft["best_expiration"] == pd.Timestamp("2026-12-04")
    headers = {name: c["label"] for name, c in json.loads(at.dataframe[0].proto.columns).items() if "label" in c}
    assert {headers[n] for n in ("best_side", "best_strike", "best_expiration", "best_bid", "best_delta",
                                 "best_open_interest")} == {"Side", "Strike", "Expiration", "Bid", "Delta",
                                                            "Open int."}
    assert not [h for h in headers.values() if h.startswith("Its ")]
    assert any("A row per ticker: its best contract, the highest annualized return of either side." in c.value
               for c in at.caption)  # the headers say "Strike"; the caption says whose


def test_every_results_table_starts_with_the_decision_columns(two_scans) -> None:
    at = _main({"rules": "0", "side": "both", "min_ann": "", "delta_min": "", "delta_max": ""})
    decision = ["strike", "expiration", "bid", "annualized_return_pct", "side", "dte", "delta", "open_interest",
                "spread_pct"]
    summary = at.dataframe[0].value.columns.tolist()
    opened(at)
    assert summary[:8] == ["ticker", "best_strike", "best_expiration", "best_bid", "best_annualized", "best_side",
                           "best_delta", "best_open_interest"]
    for expander in at.expander:  # the expander names the ticker: no ticker column, the same order for the rest
        table = expander.dataframe[0]
        assert table.value.columns.tolist()[:9] == decision
        assert json.loads(table.proto.columns)["otm_pct"]["label"] == "OTM"
    history = _history({"scan": "known"})
    for name in ("New", "Dropped"):
        assert _compare_tab(history, name).dataframe[0].value.columns.tolist()[:10] == ["ticker", *decision]
    changed = _compare_tab(history, "Changed").dataframe[0].value.columns.tolist()
    assert changed[:6] == ["ticker", "strike", "expiration", "side", "bid_before", "bid_after"]


def test_the_scatter_has_a_legend_and_tooltips_with_labels_and_formats(two_scans) -> None:
    at = opened(_main({"rules": "0", "side": "both", "min_ann": "", "delta_min": "", "delta_max": ""}), tab="Charts")
    spec, data = _charts(at)[0]
    color = spec["encoding"]["color"]
    assert color["field"] == "ticker" and color.get("legend") is not None and color["title"] == "Ticker"
    tips = {t["title"]: t for t in spec["encoding"]["tooltip"]}
    assert list(tips) == ["Ticker", "Side", "Expiration", "DTE", "Strike", "Bid", "Annualized", "Delta",
                          "Open int.", "Contract"]
    assert tips["Strike"]["format"] == tips["Bid"]["format"] == "$,.2f"
    assert tips["Expiration"]["format"] == "%Y-%m-%d" and tips["Delta"]["format"] == ".3f"
    # 43.98 in percent shows as "43.98%": d3's % multiplies, so the tooltip reads the value / 100
    assert tips["Annualized"]["format"] == ".2%"
    assert {"calculate": "datum['annualized_return_pct'] / 100", "as": tips["Annualized"]["field"]} in spec["transform"]
    assert sorted(data["ticker"].unique()) == ["AAPL", "MSFT", "NVDA"]
    assert not [m for m in at.multiselect if m.label.startswith("Tickers on the chart")]


def test_more_tickers_than_colours_plot_the_tickers_picked(two_scans) -> None:
    """Past the palette's 10 colours two tickers would share one: the chart plots at most 10, picked."""
    base = known_rows().iloc[[0]]
    rows = pd.concat([base.assign(ticker=f"T{i:02d}", option_symbol=f"T{i:02d}  261204P00200000",
                                  annualized_return_pct=30.0 + i) for i in range(12)], ignore_index=True)
    store_scan(two_scans, "wide", rows, 1_700_200_000.0)
    at = opened(_main(), tab="Charts")
    picker = next(m for m in at.multiselect if m.label.startswith("Tickers on the chart"))
    assert picker.value == [f"T{i:02d}" for i in range(11, 1, -1)]  # the 10 best returns
    assert picker.proto.max_selections == 10
    assert sorted(_charts(at)[0][1]["ticker"].unique()) == sorted(picker.value)
    picker.set_value(["T00", "T05"]).run()
    assert not at.exception
    assert sorted(_charts(at)[0][1]["ticker"].unique()) == ["T00", "T05"]


def _compare_tab(at: AppTest, name: str):
    return next(tab for tab in at.tabs if tab.label.startswith(f"{name} ("))


def test_history_compares_matches_by_default_and_all_contracts_on_request(scanner_env, real_store) -> None:
    before = known_rows()  # matches: the AAPL 200 and MSFT 400 puts
    after = known_rows()
    after.loc[0, "match"] = False  # no longer a match: dropped from the matches, still screened
    after.loc[1, "match"] = True  # became a match: new among the matches, screened both times
    after.loc[4, "bid"] = 0.6  # a non-match that moved: not a change a trader compares
    store_scan(real_store, "before", before, 1_700_000_000.0)
    store_scan(real_store, "after", after, 1_700_100_000.0)
    at = _history({"scan": "after"})
    assert not at.exception
    assert [t.label for t in at.tabs][-3:] == ["New (1)", "Dropped (1)", "Changed (0)"]
    assert _compare_tab(at, "New").dataframe[0].value["option_symbol"].tolist() == ["AAPL  261211P00195000"]
    assert _compare_tab(at, "Dropped").dataframe[0].value["option_symbol"].tolist() == ["AAPL  261204P00200000"]
    at.toggle(key="history-compare-all").set_value(True).run()
    assert [t.label for t in at.tabs][-3:] == ["New (0)", "Dropped (0)", "Changed (1)"]
    assert _compare_tab(at, "Changed").dataframe[0].value["option_symbol"].tolist() == ["NVDA  261218P00120000"]


def test_history_comparison_has_plain_headers_and_dates_without_a_time(scanner_env, real_store) -> None:
    before = known_rows()
    after = known_rows()
    after.loc[0, "bid"] = 1.25
    store_scan(real_store, "before", before, 1_700_000_000.0)
    store_scan(real_store, "after", after, 1_700_100_000.0)
    at = _history({"scan": "after"})
    table = _compare_tab(at, "Changed").dataframe[0]
    headers = {name: c.get("label") for name, c in json.loads(table.proto.columns).items()}
    assert headers["bid_before"] == "Bid before" and headers["bid_after"] == "Bid after"
    assert headers["annualized_return_pct_before"] == "Annualized before" and headers["delta_after"] == "Delta after"
    assert headers["option_symbol"] == "Contract" and headers["expiration"] == "Expiration"
    assert table.value[["bid_before", "bid_after"]].iloc[0].tolist() == [1.0, 1.25]
    for name in ("New", "Dropped", "Changed"):
        config = json.loads(_compare_tab(at, name).dataframe[0].proto.columns)
        assert config["expiration"]["type_config"] == {"type": "date", "format": "YYYY-MM-DD"}
        assert not [n for n, c in config.items() if n != "_index" and c.get("label") in (None, n)]


@pytest.fixture
def ranked(scanner_env, real_store: ScanStore) -> ScanStore:
    """A scan of puts and calls (its rules: annualized from 20 %, no delta bound) of ``ranked_rows``."""
    store_scan(real_store, "ranked", ranked_rows(), 1_700_000_000.0, criteria={"side": "both"})
    return real_store


def _tab(at: AppTest, label: str):
    return next(tab for tab in at.tabs if tab.label.startswith(label))


def _expander(at: AppTest, ticker: str):
    return next(e for e in at.expander if e.label.startswith(f"{ticker} — "))


def test_a_tickers_near_misses_fail_one_rule_nearest_first_with_their_reason(ranked) -> None:
    at = opened(_main())
    assert not at.exception
    aapl = _expander(at, "AAPL")
    assert [t.label for t in aapl.tabs] == ["Contracts (2)", "Near misses (2)"]
    near = next(t for t in aapl.tabs if t.label.startswith("Near misses")).dataframe[0].value
    assert near["option_symbol"].tolist() == ["AAPL  261211P00195000", "AAPL  261211P00190000"]  # 22 %, then 36 %
    assert near["reason"].tolist() == ["annualized 23.40% < 30%", "annualized 19.21% < 30%"]
    assert near.columns.tolist()[:3] == ["reason", "miss_pct", "strike"]
    assert "AAPL  261204P00205000" not in near["option_symbol"].tolist()  # fails delta and annualized: two rules
    msft = next(t for t in _expander(at, "MSFT").tabs if t.label.startswith("Near misses"))
    assert msft.dataframe[0].value["reason"].tolist() == ["annualized 19.50% < 20%"]  # the call, whatever the side


def test_every_tickers_near_misses_are_in_one_table_those_of_a_ticker_without_a_match_too(ranked) -> None:
    at = _main()
    assert "NVDA" not in _tickers_shown(at)  # no match: no expander
    nearest = _tab(opened(at, tab="All near misses"), "All near misses")
    assert nearest.caption[0].value.startswith("4 contracts failing exactly one of the scan's rules, nearest first")
    table = nearest.dataframe[0].value
    assert table[["ticker", "miss_pct"]].values.tolist() == [["MSFT", 2.5], ["AAPL", 22.0], ["AAPL", 35.97],
                                                             ["NVDA", 57.33]]
    assert table["reason"].iloc[-1] == "annualized 12.80% < 30%"


def test_a_ticker_without_near_misses_says_so(scanner_env, real_store: ScanStore) -> None:
    rows = ranked_rows()
    rows.loc[rows["ticker"] == "MSFT", "rules_failed"] = pd.array([0, 2], dtype="Int64")
    store_scan(real_store, "plain", rows, 1_700_000_000.0, criteria={"side": "both"})
    at = opened(_main())
    misses = next(t for t in _expander(at, "MSFT").tabs if t.label.startswith("Near misses"))
    assert misses.label == "Near misses (0)" and not misses.dataframe
    assert [c.value for c in misses.caption] == [
        "No near misses: no contract of MSFT fails exactly one of the scan's rules by a measurable amount."]


def test_best_per_ticker_is_each_tickers_highest_scoring_match_not_its_highest_annualized(ranked) -> None:
    at = opened(_main(), tab="Best per ticker")
    best = _tab(at, "Best per ticker").dataframe[0].value
    assert best["ticker"].tolist() == ["MSFT", "AAPL"]  # by score: 33.0, 31.5
    assert best["option_symbol"].tolist() == ["MSFT  261204P00400000", "AAPL  261204P00190000"]
    assert best["score"].tolist() == [33.0, 31.5]
    summary = at.dataframe[0].value.set_index("ticker")
    assert summary.loc["AAPL", "best_strike"] == 200.0  # the summary keeps the original rule: annualized 36.5
    assert best.columns.tolist()[:10] == ["ticker", "strike", "expiration", "bid", "annualized_return_pct", "side",
                                          "dte", "delta", "open_interest", "spread_pct"]
    assert any(c.value.startswith("A row per ticker: its highest-scoring match, the best first. Score = ")
               for c in _tab(at, "Best per ticker").caption)


def test_all_matches_is_one_table_in_decision_column_order_under_the_filters(ranked) -> None:
    at = opened(_main(), tab="All shown")
    every = _tab(at, "All shown")
    assert every.caption[0].value == "3 matches the filters show, one table: sort by any column."
    table = every.dataframe[0]
    assert table.value["option_symbol"].tolist() == ["AAPL  261204P00190000", "AAPL  261204P00200000",
                                                     "MSFT  261204P00400000"]
    columns = table.value.columns.tolist()
    assert columns[:10] == ["ticker", "strike", "expiration", "bid", "annualized_return_pct", "side", "dte", "delta",
                            "open_interest", "spread_pct"]
    assert columns[10:13] == ["score", "annualized_period_return_pct", "pop_pct"]
    headers = {name: c.get("label") for name, c in json.loads(table.proto.columns).items()}
    assert headers["pop_pct"] == "POP" and headers["annualized_period_return_pct"] == "Annualized on capital"
    at.multiselect(key="filter_tickers").set_value(["MSFT"]).run()
    assert _tab(at, "All shown").dataframe[0].value["option_symbol"].tolist() == ["MSFT  261204P00400000"]
    at.checkbox(key="filter_only_matches").uncheck().run()
    at.number_input(key="filter_min_annualized").set_value(10.0).run()
    loose = _tab(at, "All shown")
    assert loose.caption[0].value == "2 contracts the filters show, one table: sort by any column."
    assert loose.dataframe[0].value["reason"].tolist() == ["", "annualized 19.50% < 20%"]


def test_a_closed_expander_sends_no_table_and_an_opened_one_its_contracts_and_near_misses(ranked) -> None:
    at = _main()
    assert [e.label.split(" — ")[0] for e in at.expander] == ["AAPL", "MSFT"]
    assert all(not e.dataframe and not e.tabs for e in at.expander)  # nothing sent for a closed one
    assert len(at.main.dataframe) == 1  # the summary alone
    for expander in opened(at).expander:
        assert [t.label.split(" (")[0] for t in expander.tabs] == ["Contracts", "Near misses"]
        assert len(expander.dataframe) == 2


def test_only_the_picked_view_tab_is_drawn(ranked) -> None:
    at = _main()
    assert [t.label for t in at.tabs] == ["By ticker", "Best per ticker", "All shown", "All near misses", "Charts"]
    assert all(not t.dataframe and not t.caption for t in at.tabs[1:])
    assert not _charts(at)
    charts = opened(at, tab="Charts")
    assert _charts(charts) and not charts.expander  # the By ticker tab is not drawn meanwhile
    assert _charts(charts.run())  # picked, it stays picked over reruns
