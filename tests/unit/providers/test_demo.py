"""The simulated market: deterministic, plausible, on real strike steps and trading-day expirations."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime

import numpy as np
import pandas as pd
import pytest

from scanner.config import Settings
from scanner.errors import ProviderError
from scanner.market.calendar import NY, is_trading_day
from scanner.providers.base import ChainRequest
from scanner.providers.demo import DemoProvider
from scanner.scan.criteria import Criteria
from scanner.scan.engine import ScanRequest, begin_scan, run_scan
from scanner.scan.screening import screen
from scanner.schema import CHAIN_COLUMNS
from scanner.store.scans import ScanMeta, ScanStore

DAY = date(2026, 11, 30)
TICKERS = ("AAPL", "MSFT", "NVDA", "F", "BRK.B", "KO", "TSLA", "SPY")


def fetch(ticker: str = "AAPL", day: date = DAY, **request: object) -> pd.DataFrame:
    return DemoProvider().fetch(ticker, ChainRequest(as_of=day, **request))


def test_identity() -> None:
    provider = DemoProvider()
    assert (provider.name, provider.simulated, provider.live) == ("demo", True, False)
    assert "simulated" in provider.label.lower()


def test_quote_date() -> None:
    provider = DemoProvider(now=lambda: datetime(2026, 12, 1, 2, 0, tzinfo=NY))
    assert provider.quote_date(ChainRequest()) == date(2026, 12, 1)
    assert provider.quote_date(ChainRequest(as_of=DAY)) == DAY


def test_deterministic_per_ticker_and_day() -> None:
    pd.testing.assert_frame_equal(fetch("AAPL"), fetch("aapl"))
    assert not fetch("AAPL").equals(fetch("AAPL", date(2026, 12, 1)))
    assert fetch("AAPL").underlying_price.iloc[0] != fetch("MSFT").underlying_price.iloc[0]


@pytest.mark.parametrize(("ticker", "low", "high"), [("AAPL", 180, 290), ("MSFT", 330, 530), ("NVDA", 110, 180),
                                                     ("SPY", 450, 720), ("KO", 50, 85)])
def test_familiar_symbols_trade_near_a_plausible_level(ticker: str, low: float, high: float) -> None:
    for day in (DAY, date(2027, 2, 16), date(2027, 6, 1)):
        assert low < fetch(ticker, day).underlying_price.iloc[0] < high


def test_other_symbols_get_a_hashed_level_that_drifts_daily() -> None:
    spots = [fetch("ZZZQ", date.fromordinal(DAY.toordinal() + i)).underlying_price.iloc[0] for i in range(5)]
    assert all(15 * 0.8 < s < 900 * 1.2 for s in spots)
    assert len(set(spots)) == 5 and max(spots) / min(spots) < 1.2  # moves a little every day


def test_now_is_used_when_no_as_of() -> None:
    provider = DemoProvider(now=lambda: datetime(2026, 11, 30, 12, 0, tzinfo=NY))
    pd.testing.assert_frame_equal(provider.fetch("KO", ChainRequest()), fetch("KO"))


@pytest.mark.parametrize("ticker", TICKERS)
def test_chain_shape(ticker: str) -> None:
    frame = fetch(ticker, sides=("put", "call"))
    assert tuple(frame.columns) == CHAIN_COLUMNS
    assert len(frame) == 2 * 4 * 15
    assert frame.groupby(["side", "expiration"]).size().eq(15).all()
    expirations = sorted(frame.expiration.unique())
    assert len(expirations) == 4 and expirations[0] > DAY
    assert all(is_trading_day(d) for d in expirations)
    assert (frame.quote_date == DAY).all() and (frame.ticker == ticker).all()


@pytest.mark.parametrize("ticker", TICKERS)
def test_otm_strikes_on_standard_steps(ticker: str) -> None:
    frame = fetch(ticker, sides=("put", "call"))
    spot = frame.underlying_price.iloc[0]
    step = 0.5 if spot < 25 else 1 if spot < 100 else 2.5 if spot < 200 else 5 if spot < 500 else 10
    assert np.allclose(frame.strike / step, np.round(frame.strike / step))
    puts, calls = frame[frame.side == "put"], frame[frame.side == "call"]
    assert (puts.strike < spot).all() and (calls.strike > spot).all()
    for _, strikes in frame.groupby(["side", "expiration"]).strike:
        assert np.allclose(np.diff(strikes.to_numpy()), step)  # consecutive, nearest the money first
    assert puts.strike.max() > spot - step and calls.strike.min() < spot + step


@pytest.mark.parametrize("ticker", TICKERS)
def test_quotes_are_sane(ticker: str) -> None:
    frame = fetch(ticker, sides=("put", "call"))
    assert (frame.bid >= 0).all() and (frame.bid <= frame.ask).all() and (frame.ask > 0).all()
    assert frame.volume.dtype == np.int64 and frame.open_interest.dtype == np.int64
    assert (frame.volume >= 0).all() and (frame.volume <= frame.open_interest).all()
    puts, calls = frame[frame.side == "put"], frame[frame.side == "call"]
    # OTM: puts above -0.5; calls near the money may pass 0.5 a little (the sigma^2/2 drift in d1).
    assert puts.delta.between(-0.5, 0).all() and calls.delta.between(0, 0.6).all()
    assert frame.iv.between(0.1, 2).all()
    cheap = frame[frame.bid >= 3]
    assert np.allclose(cheap.bid * 20, np.round(cheap.bid * 20))  # nickel ticks at $3 and above
    for _, group in puts.groupby("expiration"):  # put skew: IV rises as strikes fall
        assert (np.diff(group.sort_values("strike").iv.to_numpy()) <= 0).all()


def test_option_symbols_are_occ() -> None:
    frame = fetch("F", sides=("put",))
    first = frame.iloc[0]
    assert first.option_symbol == f"F     {first.expiration:%y%m%d}P{round(first.strike * 1000):08d}"
    assert fetch("BRK.B").option_symbol.str.startswith("BRKB  ").all()
    assert frame.option_symbol.str.len().eq(21).all()


def test_some_far_otm_bids_are_zero() -> None:
    bids = pd.concat(fetch(t, sides=("put", "call")) for t in TICKERS).bid
    assert (bids == 0).any() and (bids > 0).mean() > 0.5


def test_request_options() -> None:
    assert len(fetch(weeks=2, strike_limit=5)) == 2 * 5
    assert set(fetch(sides=("call",)).side) == {"call"}
    # Good Friday week: the Thursday expiration is one of them.
    assert date(2027, 3, 25) in set(fetch(day=date(2027, 3, 22)).expiration)


@pytest.mark.parametrize("bad", ["", "AAPL$", "TOOLONGTICKER", "A B", "ÄPFEL", "../etc"])
def test_bad_symbol(bad: str) -> None:
    with pytest.raises(ProviderError, match="unknown ticker"):
        fetch(bad)


def test_delay_per_expiration() -> None:
    started = time.perf_counter()
    DemoProvider(delay_ms=20).fetch("KO", ChainRequest(weeks=3, sides=("put", "call"), as_of=DAY))
    assert time.perf_counter() - started >= 3 * 0.02


def test_default_scan_finds_a_modest_number_of_matches() -> None:
    tickers = ["AAPL", "MSFT", "NVDA", "AMZN", "GOOGL", "META", "TSLA", "AMD", "NFLX", "INTC", "PLTR", "SOFI", "F",
               "BAC", "JPM", "KO", "PFE", "T", "DIS", "UBER", "COIN", "MARA", "RIVN", "NIO", "SHOP", "CRM"]
    criteria = Criteria()
    provider = DemoProvider()
    matches = [int(screen(provider.fetch(t, criteria.chain_request(DAY)), criteria, DAY).match.sum()) for t in tickers]
    assert 0.5 <= np.mean(matches) <= 5
    assert 0 in matches


def test_default_watch_list_finds_a_few_puts() -> None:
    tickers = ("AAPL ADBE AMZN ANET ASML AVGO CRM CRWD DDOG DUOL GOOGL JPM MA META MSFT NFLX NOW NVDA PANW PLTR PYPL "
               "SHOP SPGI SPOT UBER V").split()
    criteria = Criteria()
    provider = DemoProvider()
    matches = [int(screen(provider.fetch(t, criteria.chain_request(DAY)), criteria, DAY).match.sum()) for t in tickers]
    assert 0.5 <= np.mean(matches) <= 4  # a few candidates, not a wall of them
    assert 0 in matches and max(matches) > 0


def _demo_scan(store: ScanStore, concurrency: int, on_progress: Callable[[ScanMeta], None]) -> ScanMeta:
    """A whole demo scan of TICKERS in this process, each ticker's progress passed to ``on_progress``."""
    settings = replace(Settings.from_env({"SCANNER_PROVIDER": "demo"}), demo_delay_ms=0, concurrency=concurrency)
    started = begin_scan(settings, store, ScanRequest(tickers=list(TICKERS), ignore_market_hours=True))
    return run_scan(settings, store, started.scan_id, started.token, on_progress=on_progress)


def test_progress_reported_per_write_is_what_the_scan_stores(fake_store: ScanStore) -> None:
    """Tickers that finished together are written together (one write, their count at once)."""
    seen: list[ScanMeta] = []
    final = _demo_scan(fake_store, 3, seen.append)
    done = [m.tickers_done for m in seen]
    assert done == sorted(set(done)) and done[-1] == len(TICKERS)
    assert {m.current_ticker for m in seen} <= set(TICKERS)
    assert [m.pct for m in seen] == sorted(m.pct for m in seen) and seen[-1].pct == 100.0
    last = seen[-1]
    assert (last.contracts, last.matches, last.errors) == (final.contracts, final.matches, final.errors)


@pytest.mark.parametrize(("cancel_after", "status"), [(1, "cancelled"), (len(TICKERS) - 2, "completed")])
def test_a_cancel_is_recorded_only_when_it_skipped_a_ticker(fake_store: ScanStore, cancel_after: int,
                                                            status: str) -> None:
    """The next fetch starts before a ticker's write reads the cancel flag, so the scan stops two tickers after the
    cancel; when that is the end of the list nothing was skipped and the scan is complete, not cancelled."""
    def cancel_at(meta: ScanMeta) -> None:
        if meta.tickers_done == cancel_after:
            fake_store.request_cancel(meta.scan_id)

    final = _demo_scan(fake_store, 1, cancel_at)
    assert final.status == status
    assert final.tickers_done == min(cancel_after + 2, len(TICKERS))


def test_a_dte_window_takes_every_listed_expiration_in_it() -> None:
    rows = fetch("AAPL", dte_window=(30, 45))  # from Monday 2026-11-30
    days = sorted({(expiration - DAY).days for expiration in rows.expiration})
    # listed: weeklies through 2027-01-22 (the 8th), so 2026-12-31 (31 DTE), 2027-01-08 (39), 2027-01-15 (46: out)
    assert days == [31, 39] and len(rows) == 2 * 15


def test_far_windows_select_monthly_expirations_out_to_two_years() -> None:
    rows = fetch("KO", dte_window=(300, 730))
    expirations = sorted(set(rows.expiration))
    assert expirations and all(300 <= (day - DAY).days <= 730 for day in expirations)
    # each is its month's standard expiration: the week of the third Friday (15th-21st), a trading day
    assert all(15 <= (day.day + 4 - day.weekday()) <= 21 and is_trading_day(day) for day in expirations)
    assert len({(day.year, day.month) for day in expirations}) == len(expirations)


def test_a_window_with_no_listed_expiration_is_an_empty_chain() -> None:
    assert fetch("AAPL", dte_window=(0, 2)).empty  # Monday: the first weekly is 4 days out


def test_a_scan_with_a_dte_window_and_further_rules_records_them_and_keeps_to_them(fake_store: ScanStore) -> None:
    # stored rules a 30-45 DTE seller might keep: lower annualized minimums, a liquidity floor, a spread cap
    fake_store.criteria.save({"min_put_annualized": 8, "min_call_annualized": 5, "min_open_interest": 500,
                              "max_spread_pct": 12.0})
    settings = replace(Settings.from_env({"SCANNER_PROVIDER": "demo"}), demo_delay_ms=0)
    request = ScanRequest(tickers=["AAPL", "KO"], side="both", min_dte=30, max_dte=45, as_of=DAY,
                          ignore_market_hours=True)
    started = begin_scan(settings, fake_store, request)
    final = run_scan(settings, fake_store, started.scan_id, started.token)
    recorded = fake_store.get(final.scan_id).criteria
    assert {k: recorded[k] for k in ("side", "min_dte", "max_dte", "min_open_interest", "max_spread_pct",
                                     "min_bid")} == {"side": "both", "min_dte": 30, "max_dte": 45,
                                                     "min_open_interest": 500, "max_spread_pct": 12.0, "min_bid": None}
    rows = fake_store.results(final.scan_id).frame
    assert set(rows.dte) == {31, 39}  # every listed expiration in the window, both tickers, both sides
    matches = rows[rows.match]
    assert len(matches) and (matches.open_interest >= 500).all() and (matches.spread_pct <= 12.0).all()
    reasons = set(rows.reason.str.extract(r"^(open interest|spread) ", expand=False).dropna())
    assert reasons == {"open interest", "spread"}  # both rules took contracts away, and say so
    assert final.matches == len(matches)


def test_a_contract_is_quoted_by_its_option_symbol_in_the_money_too() -> None:
    provider = DemoProvider(now=lambda: datetime(2026, 12, 1, 11, tzinfo=NY))
    request = ChainRequest(weeks=2)
    chain = provider.fetch("MSFT", request)
    otm = chain.iloc[0]
    spot = float(otm.underlying_price)
    itm_strike = round(spot * 1.1 / 5) * 5  # a put 10 % in the money: never in the OTM chain
    symbol = f"MSFT{otm.expiration:%y%m%d}P{itm_strike * 1000:08d}"
    quotes = provider.option_quotes([otm.option_symbol, symbol, "not a symbol"], request)
    assert len(quotes) == 2 and quotes.iloc[0].strike == otm.strike and quotes.iloc[1].strike == itm_strike
    assert quotes.iloc[1].bid > 0.9 * (itm_strike - spot) > 0  # near its intrinsic value (European, r > 0)
    assert (quotes.underlying_price == spot).all()
