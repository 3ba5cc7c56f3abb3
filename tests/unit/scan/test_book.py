"""Screening against the book, by hand on a small chain: covered calls at or above the cost basis (or basis − bid),
no more than the free lots, the if-called return on the basis, puts sized by the free cash, rows fetched only for
rolls never matching; then a demo scan with holdings on the real engine."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from scanner.config import Settings
from scanner.scan.book import BookPlan, apply_book, best_calls, collateral_note, others_view
from scanner.scan.criteria import Criteria
from scanner.scan.engine import ScanRequest, begin_scan, run_scan
from scanner.scan.positions import Book, Holding, ShortOption
from scanner.scan.rolls import open_statuses
from scanner.scan.screening import screen
from scanner.store.positions import PositionsRecord
from scanner.store.scans import ScanStore

QUOTE = date(2026, 12, 1)
EXPIRY = date(2026, 12, 18)  # 17 DTE: calls match at delta ≤ 0.28 and annualized ≥ 20 %


def _chain() -> pd.DataFrame:
    """Three calls and two puts of one ticker at S = 100; every one matches the default rules on its side."""
    strikes = [104.0, 106.0, 108.0, 96.0, 94.0]
    return pd.DataFrame({
        "ticker": "XYZ", "side": ["call"] * 3 + ["put"] * 2, "expiration": EXPIRY, "strike": strikes,
        "bid": [1.50, 1.20, 1.10, 1.60, 1.40], "ask": [1.55, 1.25, 1.15, 1.65, 1.45], "last": 1.0, "volume": 100,
        "open_interest": 1000, "iv": 0.5, "delta": [0.27, 0.22, 0.18, -0.19, -0.15], "underlying_price": 100.0,
        "quote_date": QUOTE,
        "option_symbol": [f"XYZ261218{'C' if i < 3 else 'P'}{round(k * 1000):08d}" for i, k in enumerate(strikes)],
    })


BOTH = Criteria(side="both")


def _screened(book: Book, criteria: Criteria = BOTH) -> pd.DataFrame:
    rows = apply_book(screen(_chain(), criteria, QUOTE), book, criteria)
    return rows.set_index("strike")


def test_the_hand_chain_matches_everywhere_without_a_book() -> None:
    rows = _screened(Book())
    assert rows["match"].all() and rows["contracts_fit"].isna().all()
    assert rows["if_called_basis_return_pct"].isna().all()


def test_calls_on_shares_held_match_only_at_or_above_the_cost_basis_and_say_why_not() -> None:
    rows = _screened(Book((Holding("XYZ", 250, 105.0),)))
    assert rows.loc[104.0, "match"] == False  # noqa: E712 (a numpy bool)
    assert rows.loc[104.0, "reason"] == "strike 104.00 < cost basis 105.00"
    assert rows.loc[104.0, "miss_pct"] == pytest.approx(1 / 105 * 100) and rows.loc[104.0, "rules_failed"] == 1
    assert np.isnan(rows.loc[104.0, "score"])
    assert rows.loc[[106.0, 108.0], "match"].all() and rows.loc[[96.0, 94.0], "match"].all()
    assert rows.loc[106.0, "if_called_basis_return_pct"] == pytest.approx((1.20 + 106 - 105) / 105 * 100)  # 2.095 %
    assert rows.loc[104.0, "if_called_basis_return_pct"] == pytest.approx((1.50 + 104 - 105) / 105 * 100)  # 0.476 %
    assert rows.loc[[104.0, 106.0, 108.0], "contracts_fit"].tolist() == [2, 2, 2]  # floor(250 / 100), none written


def test_the_criterion_lets_a_call_strike_down_to_basis_less_its_bid() -> None:
    criteria = Criteria(side="both", call_strike_below_basis_by_bid=True)
    rows = _screened(Book((Holding("XYZ", 100, 105.0),)), criteria)
    assert rows.loc[104.0, "match"]  # 104 ≥ 105 − 1.50
    rows = _screened(Book((Holding("XYZ", 100, 105.6),)), criteria)
    assert not rows.loc[104.0, "match"] and rows.loc[104.0, "reason"] == "strike 104.00 < cost basis − bid 104.10"


def test_calls_already_written_use_up_the_lots() -> None:
    written = ShortOption("XYZ261218C00110000", 2, 1.0)
    rows = _screened(Book((Holding("XYZ", 299, 90.0),), (written,)))
    assert not rows.loc[[104.0, 106.0, 108.0], "match"].any()
    assert rows.loc[106.0, "reason"] == "no shares free to cover: 2 lots, 2 calls written"
    assert rows.loc[106.0, "contracts_fit"] == 0
    one_free = _screened(Book((Holding("XYZ", 300, 90.0),), (written,)))
    assert one_free.loc[[104.0, 106.0, 108.0], "match"].all() and one_free.loc[106.0, "contracts_fit"] == 1


def test_puts_are_sized_by_the_cash_left_after_the_open_puts() -> None:
    open_put = ShortOption("XYZ261218P00090000", 1, 1.0)  # ties up 9,000
    rows = _screened(Book(options=(open_put,), cash=28_000.0))
    assert rows.loc[96.0, "contracts_fit"] == 1 and rows.loc[94.0, "contracts_fit"] == 2  # 19,000 / 9,600; / 9,400
    assert rows.loc[[96.0, 94.0], "match"].all()  # sizing never changes a match
    poor = _screened(Book(cash=9_500.0))
    assert poor.loc[96.0, "contracts_fit"] == 0 and poor.loc[94.0, "contracts_fit"] == 1
    assert _screened(Book(options=(open_put,), cash=1_000.0)).loc[96.0, "contracts_fit"] == 0  # never below 0


def test_rows_fetched_only_for_the_book_never_match() -> None:
    criteria = Criteria(side="call")
    plan = BookPlan(Book(options=(ShortOption("XYZ261218P00090000", 1, 1.0),)))
    assert plan.sides("XYZ", criteria) == ("call", "put")
    rows = apply_book(screen(_chain(), Criteria(side="both"), QUOTE), plan.book, criteria).set_index("strike")
    assert not rows.loc[[96.0, 94.0], "match"].any() and rows.loc[[104.0, 106.0], "match"].all()
    assert rows.loc[96.0, "reason"] == "fetched for the book's rolls (puts not screened, side call)"


def test_held_tickers_off_the_watch_list_are_added_for_their_calls_only() -> None:
    book = Book((Holding("XYZ", 100, 90.0), Holding("ABC", 50, 10.0)), (ShortOption("QQQ261218P00400000", 1, 2),))
    plan, tickers = BookPlan.for_scan(book, "shared", ["AAPL", "XYZ"])
    assert tickers == ["AAPL", "XYZ", "QQQ"] and plan.added_tickers == ("QQQ",)  # ABC: under 100 shares
    put_only = Criteria(side="put")
    assert plan.sides("AAPL", put_only) == ("put",) and plan.sides("XYZ", put_only) == ("call", "put")
    assert plan.sides("QQQ", Criteria(side="call")) == ("put",)
    assert BookPlan.of_scan(plan.record()) == plan


def test_best_calls_name_each_holdings_top_matching_call() -> None:
    book = Book((Holding("XYZ", 200, 105.0), Holding("ABC", 100, 5.0)), (ShortOption("XYZ261218C00110000", 1, 1),))
    summary = best_calls(book, apply_book(screen(_chain(), Criteria(side="both"), QUOTE), book, Criteria(side="both")))
    xyz, abc = summary.to_dict("records")
    assert (xyz["shares"], xyz["cost_basis"], xyz["calls_written"], xyz["calls_free"]) == (200, 105.0, 1, 1)
    assert xyz["best_call"] in ("XYZ261218C00106000", "XYZ261218C00108000") and xyz["strike"] >= 105
    assert pd.isna(abc["best_call"]) and abc["calls_free"] == 1


def test_a_demo_scan_with_holdings_respects_the_basis_the_lots_and_the_cash(fake_store: ScanStore) -> None:
    record = PositionsRecord(fake_store.client, fake_store.keys)
    record.add_stock("MSFT", 250, 425.0)
    record.add_stock("NVDA", 100, 1.0)  # held, not scanned by the watch-list below: added for its calls
    settings = Settings.from_env({"SCANNER_DATA_DIR": "/tmp", "SCANNER_DEMO_DELAY_MS": "0"})
    fake_store.watchlist.import_csv("MSFT\nAAPL\n", replace=True)
    probe = begin_scan(settings, fake_store, ScanRequest(side="put"))
    run_scan(settings, fake_store, probe.scan_id, probe.token)
    put_strikes = fake_store.results(probe.scan_id).frame.query("side == 'put'").strike
    cash = float(put_strikes.median()) * 100  # the puts above the median strike need more than is free
    record.set_cash(cash)
    started = begin_scan(settings, fake_store, ScanRequest(side="put"))
    run_scan(settings, fake_store, started.scan_id, started.token)
    meta = fake_store.get(started.scan_id)
    assert meta.tickers == ["MSFT", "AAPL", "NVDA"] and meta.positions["cash"] == cash
    rows = fake_store.results(started.scan_id).frame
    calls = rows[rows.side == "call"]
    assert set(calls.ticker) == {"MSFT", "NVDA"}  # AAPL is not held: puts only, as the criteria say
    assert set(rows[rows.ticker == "NVDA"].side) == {"call"}  # off the watch-list: its calls only
    matched = calls[calls["match"]]
    msft = matched[matched.ticker == "MSFT"]
    assert (msft.strike >= 425.0).all() and (msft.contracts_fit == 2).all()
    assert (calls[(calls.ticker == "MSFT") & (calls.strike < 425)]["match"] == False).all()  # noqa: E712
    assert len(calls[calls.ticker == "NVDA"]) and (calls[calls.ticker == "NVDA"].contracts_fit == 1).all()
    puts = rows[rows.side == "put"]
    assert ((puts.contracts_fit >= 1) == (puts.strike * 100 <= cash)).all()  # a put needing more is not fitting
    assert (puts.strike * 100 > cash).any() and (puts.strike * 100 <= cash).any()


def test_an_open_put_gone_in_the_money_is_quoted_by_symbol_in_the_same_scan(fake_store: ScanStore) -> None:
    settings = Settings.from_env({"SCANNER_DATA_DIR": "/tmp", "SCANNER_DEMO_DELAY_MS": "0"})
    probe = begin_scan(settings, fake_store, ScanRequest(tickers=["MSFT"], side="put", weeks=2))
    run_scan(settings, fake_store, probe.scan_id, probe.token)
    chain = fake_store.results(probe.scan_id).frame
    first = chain[chain.expiration == chain.expiration.min()].iloc[0]
    strike = round(float(first.underlying_price) * 1.1 / 5) * 5  # 10 % in the money: outside the OTM chain
    symbol = f"MSFT{first.expiration:%y%m%d}P{strike * 1000:08d}"
    PositionsRecord(fake_store.client, fake_store.keys).add_option(symbol, 1, 2.0)
    started = begin_scan(settings, fake_store, ScanRequest(tickers=["MSFT"], side="put", weeks=2))
    run_scan(settings, fake_store, started.scan_id, started.token)
    rows = fake_store.results(started.scan_id).frame
    quoted = rows[(rows.strike == strike) & (rows.expiration == first.expiration)]
    assert len(quoted) == 1 and quoted.iloc[0].ask > strike - first.underlying_price > 0
    [status] = open_statuses(Book(options=(ShortOption(symbol, 1, 2.0),)), rows, first.expiration.date())
    assert status.ask == quoted.iloc[0].ask and status.tested and len(status.candidates)
    assert status.candidates.net_credit.notna().all()


def test_the_collateral_note_totals_the_puts_shown_beside_the_free_cash() -> None:
    rows = _screened(Book()).reset_index()
    plan = BookPlan(Book(options=(ShortOption("XYZ261218P00090000", 1, 1.0),), cash=28_000.0))
    assert collateral_note(rows, plan) == ("2 puts shown tie up $19,000.00 at one contract each; the book's free "
                                           "cash: $19,000.00.")  # 9,600 + 9,400; 28,000 − 9,000
    assert collateral_note(rows.iloc[0:0], BookPlan()) == ("0 puts shown tie up $0.00 at one contract each; no cash "
                                                           "set in the book the scan ran with.")
    assert collateral_note(rows, None) == ("2 puts shown tie up $19,000.00 at one contract each; the scan ran with "
                                           "another book than yours.")


def test_an_expired_open_option_is_not_quoted(fake_store: ScanStore) -> None:
    PositionsRecord(fake_store.client, fake_store.keys).add_option("MSFT200117P00400000", 1, 3.5)
    settings = Settings.from_env({"SCANNER_DATA_DIR": "/tmp", "SCANNER_DEMO_DELAY_MS": "0"})
    started = begin_scan(settings, fake_store, ScanRequest(tickers=["AAPL"], side="put", weeks=1))
    meta = run_scan(settings, fake_store, started.scan_id, started.token)
    rows = fake_store.results(started.scan_id).frame
    assert meta.tickers == ["AAPL", "MSFT"] and meta.invalid_rows == 0  # no priced row of a 2020 expiration
    assert (rows.expiration.dt.year > 2020).all()


def test_another_viewer_sees_a_scans_rows_without_anything_of_its_starters_book(fake_store: ScanStore) -> None:
    """The rows only the book asked for, the calls it screened and its open contracts are left out, the book's
    columns blanked; every other row is the starter's as it is. The scan's tickers, counts and message read
    without the book are those of the same scan run without it."""
    settings = Settings.from_env({"SCANNER_DATA_DIR": "/tmp", "SCANNER_DEMO_DELAY_MS": "0"})
    plain = begin_scan(settings, fake_store, ScanRequest(tickers=["MSFT", "AAPL"], side="put", weeks=2))
    run_scan(settings, fake_store, plain.scan_id, plain.token)
    before = fake_store.results(plain.scan_id).frame
    aapl = before[before.ticker == "AAPL"].iloc[0]
    itm = round(float(aapl.underlying_price) * 1.1 / 5) * 5
    record = PositionsRecord(fake_store.client, fake_store.keys, "ann@example.com")
    record.add_stock("MSFT", 300, 1.0)  # MSFT's calls are fetched and screened against this basis
    record.add_stock("NVDA", 100, 1.0)  # off the scan's tickers: added for its calls
    record.add_option(f"AAPL{aapl.expiration:%y%m%d}P{itm * 1000:08d}", 1, 2.0)  # quoted by symbol
    record.set_cash(50_000)
    started = begin_scan(settings, fake_store, ScanRequest(tickers=["MSFT", "AAPL"], side="put", weeks=2,
                                                           book_user="ann@example.com"))
    run_scan(settings, fake_store, started.scan_id, started.token)
    meta = fake_store.get(started.scan_id)
    rows = fake_store.results(started.scan_id).frame
    assert {"NVDA"} < set(rows.ticker) and "call" in set(rows.side) and rows.contracts_fit.notna().any()
    seen = others_view(rows, meta.positions, meta.criteria)
    assert set(seen.ticker) == {"MSFT", "AAPL"} and set(seen.side) == {"put"} and not (seen.strike == itm).any()
    assert seen.contracts_fit.isna().all() and seen.if_called_basis_return_pct.isna().all()
    key = ["ticker", "expiration", "strike"]
    assert seen[key].reset_index(drop=True).equals(before[key].reset_index(drop=True))  # the puts of a plain scan
    kept = rows.loc[seen.index]
    same = [name for name in rows.columns if name not in ("contracts_fit", "if_called_basis_return_pct")]
    assert seen[same].equals(kept[same])
    plain_meta = fake_store.get(plain.scan_id)
    others = meta.without_book(BookPlan.of_scan(meta.positions).added_tickers)
    assert others.tickers == ["MSFT", "AAPL"] and "NVDA" in meta.tickers and meta.contracts > len(seen)
    assert (others.tickers_done, others.tickers_total, others.pct, others.contracts, others.matches, others.errors) \
        == (2, 2, 100.0, len(seen), int(seen.match.sum()), 0)
    assert others.message == plain_meta.message and meta.message != plain_meta.message
    assert others_view(before, plain_meta.positions, plain_meta.criteria) is before  # an empty book: nothing hidden
