"""AppTest of the Positions page on the real embedded server: edits refused with every reason and nothing saved,
the shared book without login, each signed-in user's own book (one never reads or writes another's), an expired
option recorded as assigned, and a tested open put shown red with its rolls after a demo scan."""

from __future__ import annotations

import io
import json
from datetime import date, timedelta

import pandas as pd
from streamlit.testing.v1 import AppTest

from scanner.config import Settings
from scanner.scan.engine import ScanRequest, begin_scan, run_scan
from scanner.store.positions import PositionsRecord
from scanner.store.scans import ScanStore
from scanner.ui.positions_page import BOOK_HIDDEN
from tests.support.paths import ROOT

OIDC = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "cookie-secret-value",
        "client_id": "scanner", "client_secret": "oidc-client-secret",
        "server_metadata_url": "https://login.example.com/.well-known/openid-configuration"}
TWO_ADMINS = {"auth": OIDC, "admin": {"emails": ["ann@example.com", "bob@example.com"]}}


def _page(user: str | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / "positions.py"), default_timeout=60)
    if user:
        at.secrets = TWO_ADMINS
        at.user = {"is_logged_in": True, "email": user, "email_verified": True}
    return at.run()


def _type(at: AppTest, **values: str) -> AppTest:
    labels = {"ticker": "Ticker", "shares": "Shares", "basis": "Cost basis per share ($)",
              "option": "Option symbol (OCC, e.g. AAPL261218P00150000)", "contracts": "Contracts",
              "premium": "Premium received per share ($)", "cash": "Cash available for puts ($)"}
    for name, value in values.items():
        (box,) = [t for t in at.text_input if t.label == labels[name]]
        box.set_value(value)
    return at


def _click(at: AppTest, label: str) -> AppTest:
    (button,) = [b for b in at.button if b.label == label]
    return button.click().run()


def test_the_shared_book_refuses_bad_entries_and_saves_good_ones(real_store: ScanStore) -> None:
    at = _click(_type(_page(), ticker="AAPL", shares="-100", basis="abc"), "Add stock")
    assert not at.exception and [e.value for e in at.error] == ["Nothing was saved: refused: \"shares '-100' must be "
                                                               "above 0 and at most 1e+09; cost basis 'abc' is not a "
                                                               "number\""]  # every bad value named
    assert real_store.client.hgetall(real_store.keys.positions) == {}
    assert [t.value for t in at.text_input if t.label == "Shares"] == ["-100"]  # kept for correction
    at = _click(_type(at, shares="200", basis="150"), "Add stock")
    assert [s.value for s in at.success] == ["Holding: AAPL 200 sh @ 150.00."]
    at = _click(_type(at, option="AAPL2612", contracts="1", premium="2"), "Add option")
    assert "option symbol 'AAPL2612' is not OCC's" in at.error[0].value
    at = _click(_type(at, cash="25000"), "Set cash")
    book = PositionsRecord(real_store.client, real_store.keys).load()
    assert book.cash == 25_000 and [h.ticker for h in book.holdings] == ["AAPL"] and book.options == ()
    assert "The shared book" in " ".join(c.value for c in at.caption)


def test_one_signed_in_user_never_sees_or_changes_another_users_book(real_store: ScanStore) -> None:
    ann = _click(_type(_page("ann@example.com"), ticker="AAPL", shares="300", basis="140"), "Add stock")
    assert [s.value for s in ann.success] == ["Holding: AAPL 300 sh @ 140.00."]
    bob = _page("bob@example.com")
    assert not bob.exception and "No stock held." in [c.value for c in bob.caption]
    assert "AAPL" not in [option for box in bob.selectbox for option in box.options]  # nothing of ann's to pick
    bob = _click(_type(bob, ticker="MSFT", shares="100", basis="300"), "Add stock")
    assert [h.ticker for h in PositionsRecord(real_store.client, real_store.keys, "ann@example.com").load().holdings] \
        == ["AAPL"]
    assert [h.ticker for h in PositionsRecord(real_store.client, real_store.keys, "bob@example.com").load().holdings] \
        == ["MSFT"]
    assert PositionsRecord(real_store.client, real_store.keys).load().holdings == ()  # the shared book untouched
    ann = _page("ann@example.com")
    assert [h["ticker"] for h in ann.dataframe[0].value.to_dict("records")] == ["AAPL"]


def test_an_expired_put_is_recorded_as_assigned(real_store: ScanStore) -> None:
    record = PositionsRecord(real_store.client, real_store.keys)
    record.add_option("AAPL200117P00150000", 2, 3.0)
    at = _page()
    assert any("AAPL200117P00150000 expired on 2020-01-17" in w.value for w in at.warning)
    at = _click(at, "Assigned")
    assert [s.value for s in at.success] == ["AAPL200117P00150000: assigned; the book's stock is updated."]
    book = record.load()
    assert book.options == () and [(h.ticker, h.shares, h.cost_basis) for h in book.holdings] == [("AAPL", 200, 147.0)]


def test_after_a_demo_scan_a_tested_put_shows_red_with_its_rolls(real_store: ScanStore) -> None:
    settings = Settings.from_env()
    started = begin_scan(settings, real_store, ScanRequest(tickers=["MSFT"], weeks=3))
    run_scan(settings, real_store, started.scan_id, started.token)
    rows = real_store.results(started.scan_id).frame
    puts = rows[rows.side == "put"]
    first = puts[puts.expiration == puts.expiration.min()].sort_values("strike").iloc[-1]  # nearest expiry, top strike
    expiration = first.expiration.date()
    symbol = f"MSFT{expiration:%y%m%d}P{round(first.strike * 1000):08d}"
    PositionsRecord(real_store.client, real_store.keys).add_option(symbol, 1, 1.0)
    at = _page()
    assert not at.exception
    red = [m.value for m in at.markdown if m.value.startswith(":red[")]
    assert len(red) == 1 and symbol in red[0] and f"ask {first.ask:.2f}" in red[0]
    candidates = at.dataframe[-1].value
    assert len(candidates) and (candidates.strike <= first.strike).all()
    assert (candidates.expiration.dt.date > expiration).all() and expiration >= date.today() - timedelta(days=1)


def _headers(table: object) -> dict[str, str]:
    """A table's column labels as the browser gets them (its column config), by column name."""
    return {name: config["label"] for name, config in json.loads(table.proto.columns).items() if "label" in config}


def test_the_book_and_roll_tables_show_labels_and_formats_not_column_names(real_store: ScanStore) -> None:
    settings = Settings.from_env()
    started = begin_scan(settings, real_store, ScanRequest(tickers=["MSFT"], weeks=3))
    run_scan(settings, real_store, started.scan_id, started.token)
    puts = real_store.results(started.scan_id).frame.query("side == 'put'")
    first = puts[puts.expiration == puts.expiration.min()].sort_values("strike").iloc[-1]
    record = PositionsRecord(real_store.client, real_store.keys)
    record.add_option(f"MSFT{first.expiration:%y%m%d}P{round(first.strike * 1000):08d}", 1, 1.0, "2026-11-02")
    record.add_stock("MSFT", 200, 300)
    at = _page()
    stock, options, best, rolls = at.dataframe
    assert _headers(stock) == {"ticker": "Ticker", "shares": "Shares", "cost_basis": "Cost basis",
                               "calls_written": "Calls written", "calls_free": "Calls free"}
    assert _headers(options)["premium"] == "Premium" and _headers(options)["opened_on"] == "Opened on"
    assert _headers(best)["if_called_basis_return_pct"] == "If called (basis)"
    assert _headers(rolls) == {"option_symbol": "Contract", "expiration": "Expiration", "strike": "Strike",
                               "bid": "Bid", "ask": "Ask", "delta": "Delta", "days_added": "Days added",
                               "net_credit": "Net credit", "annualized_net_credit_pct": "Net credit / yr"}
    sent = json.loads(rolls.proto.columns)
    assert sent["net_credit"]["type_config"]["format"] == "$%.2f"
    assert sent["annualized_net_credit_pct"]["type_config"]["format"] == "%.2f%%"
    assert "New bid − current ask" in sent["net_credit"]["help"]


def test_the_results_show_a_scans_free_cash_only_to_the_book_it_ran_with(real_store: ScanStore) -> None:
    PositionsRecord(real_store.client, real_store.keys, "ann@example.com").set_cash(12_345)
    real_store.criteria.save({"min_put_annualized": 0, "earnings": "flag"})  # matches to show, on any day
    settings = Settings.from_env()
    started = begin_scan(settings, real_store, ScanRequest(tickers=["MSFT"], book_user="ann@example.com"))
    run_scan(settings, real_store, started.scan_id, started.token)

    def captions(user: str) -> str:
        at = AppTest.from_file(str(ROOT / "pages" / "scan.py"), default_timeout=60)
        at.secrets = TWO_ADMINS
        at.user = {"is_logged_in": True, "email": user, "email_verified": True}
        at.run()
        assert not at.exception
        return " ".join(c.value for c in at.caption)

    assert "the book's free cash: $12,345.00" in captions("ann@example.com")
    bob = captions("bob@example.com")
    assert "the scan ran with another book than yours" in bob and "12,345" not in bob


def _export_as_signed_in(scan_id: str, fmt: str) -> None:
    """An AppTest script: the scan's every-contract export as the signed-in viewer gets it, kept in the session."""
    import streamlit as st

    from scanner.config import Settings
    from scanner.store.scans import open_store
    from scanner.ui.results import export_bytes

    store = open_store(Settings.from_env())
    meta = store.get(scan_id)
    st.session_state["export"] = export_bytes(store, meta, store.results(scan_id).frame.iloc[0:0], True, fmt)


def _signed_in(at: AppTest, user: str) -> AppTest:
    at.secrets = TWO_ADMINS
    at.user = {"is_logged_in": True, "email": user, "email_verified": True}
    at.run()
    assert not at.exception
    return at


def test_a_scans_book_is_its_starters_alone_on_the_pages_and_in_the_exports(real_store: ScanStore) -> None:
    """Ann's scan ran with her book (MSFT's calls screened against her 300 shares, NVDA added for its calls, an ITM
    AAPL put quoted, her cash sizing the puts): Bob sees its rows without any of it, and a note says why."""
    settings = Settings.from_env()
    real_store.criteria.save({"min_put_annualized": 0, "earnings": "flag"})  # matches to show, on any day
    probe = begin_scan(settings, real_store, ScanRequest(tickers=["AAPL"], side="put", weeks=1))
    run_scan(settings, real_store, probe.scan_id, probe.token)
    aapl = real_store.results(probe.scan_id).frame.iloc[0]
    itm_strike = round(float(aapl.underlying_price) * 1.1)  # the demo's price moves with the day
    itm = f"AAPL{aapl.expiration:%y%m%d}P{itm_strike * 1000:08d}"
    free_cash = f"{12_345 - itm_strike * 100:,.2f}"  # the cash less the ITM put's collateral
    record = PositionsRecord(real_store.client, real_store.keys, "ann@example.com")
    record.add_stock("MSFT", 300, 1.0)
    record.add_stock("NVDA", 100, 1.0)
    record.add_option(itm, 1, 2.0)
    record.set_cash(12_345)
    started = begin_scan(settings, real_store, ScanRequest(tickers=["MSFT", "AAPL"], side="put", weeks=1,
                                                           book_user="ann@example.com"))
    run_scan(settings, real_store, started.scan_id, started.token)
    stored = real_store.results(started.scan_id).frame
    assert {"NVDA"} < set(stored.ticker) and stored.contracts_fit.notna().any() and "call" in set(stored.side)

    def scan_page(user: str) -> tuple[AppTest, str, list[pd.DataFrame]]:
        at = _signed_in(AppTest.from_file(str(ROOT / "pages" / "scan.py"), default_timeout=60), user)
        words = " ".join([*(c.value for c in at.caption), *(e.label for e in at.expander),
                          *(m.value for m in at.markdown)])
        return at, words, [table.value for table in at.dataframe]

    _, ann_words, _ = scan_page("ann@example.com")
    assert BOOK_HIDDEN not in ann_words and f"the book's free cash: ${free_cash}" in ann_words
    bob, bob_words, (summary, *_) = scan_page("bob@example.com")  # the tables of closed tabs are not drawn
    assert BOOK_HIDDEN in bob_words and "another book than yours" in bob_words
    assert free_cash.lstrip("-") not in bob_words
    assert "NVDA" not in bob_words and set(summary.ticker) <= {"MSFT", "AAPL"} and set(summary.best_side) == {"put"}
    shown_to_bob = stored[(stored.ticker != "NVDA") & (stored.side == "put")
                          & (stored.option_symbol.str.replace(" ", "") != itm)]  # the OCC symbol is padded
    assert f"3 tickers, {int(stored.match.sum())} matches" in ann_words
    assert f"2 tickers, {int(shown_to_bob.match.sum())} matches" in bob_words  # the last-scan line: her book's out

    def exported(user: str) -> pd.DataFrame:
        at = _signed_in(AppTest.from_function(_export_as_signed_in, args=(started.scan_id, "csv"), default_timeout=60),
                        user)
        return pd.read_csv(io.BytesIO(at.session_state["export"]))

    mine, theirs = exported("ann@example.com"), exported("bob@example.com")
    assert "NVDA" in set(mine.ticker) and mine.contracts_fit.notna().any()
    assert set(theirs.ticker) == {"MSFT", "AAPL"} and set(theirs.side) == {"put"}
    assert theirs.contracts_fit.isna().all() and theirs.if_called_basis_return_pct.isna().all()
    assert len(theirs) == len(mine) - int((mine.side == "call").sum()) - 1  # NVDA's rows are calls; the ITM put

    def history_row(user: str) -> tuple[AppTest, tuple[str, int, int]]:
        at = _signed_in(AppTest.from_file(str(ROOT / "pages" / "history.py"), default_timeout=60), user)
        table = at.dataframe[0].value
        row = table[table.scan_id == started.scan_id].iloc[0]
        return at, (row.tickers, int(row.contracts), int(row.matches))

    history, bobs_row = history_row("bob@example.com")
    assert "Ran with 2 tickers: MSFT, AAPL" in [c.value for c in history.caption]
    assert bobs_row == ("2/2", len(shown_to_bob), int(shown_to_bob.match.sum()))  # the history table's counts too
    assert history_row("ann@example.com")[1] == ("3/3", len(stored), int(stored.match.sum()))
    real_store.client.hset(real_store.keys.errors(started.scan_id), mapping={"NVDA": "HTTP 500", "AAPL": "HTTP 502"})
    real_store.set_fields(started.scan_id, errors=2, book_errors=1)  # NVDA's, as the scan counts a book ticker's

    def monitor_words(user: str) -> tuple[AppTest, list[str]]:
        at = _signed_in(AppTest.from_file(str(ROOT / "pages" / "monitor.py"), default_timeout=60), user)
        return at, [m.value for m in at.markdown]

    monitor, words = monitor_words("bob@example.com")
    assert "MSFT, AAPL" in words
    assert any(f"(2/2 tickers); {int(shown_to_bob.match.sum())} matches, 1 errors" in w for w in words)
    assert monitor.dataframe[0].value["ticker"].tolist() == ["AAPL"]  # the error of NVDA, Ann's holding, hidden
    monitor, words = monitor_words("ann@example.com")
    assert "MSFT, AAPL, NVDA" in words
    assert any(f"(3/3 tickers); {int(stored.match.sum())} matches, 2 errors" in w for w in words)
    assert monitor.dataframe[0].value["ticker"].tolist() == ["AAPL", "NVDA"]
