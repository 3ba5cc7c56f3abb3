"""The Cboe delayed-quotes source against a real local server serving options files in Cboe's shape (tests/support)."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from scanner.config import Settings
from scanner.errors import ProviderError
from scanner.market import blackscholes
from scanner.providers.base import ChainRequest
from scanner.providers.cboe import DEFAULT_REQUESTS_PER_SECOND, USER_AGENT, CboeProvider, request_rate
from scanner.providers.httpclient import RetryPolicy
from scanner.providers.registry import get_provider
from scanner.scan.engine import ScanRequest, begin_scan, run_scan
from scanner.scan.rolls import open_statuses
from scanner.store.positions import PositionsRecord
from scanner.store.scans import ScanStore
from tests.support.cboe_replay import NOT_FILED, contract, options_file, options_path, serve_cboe
from tests.support.http_replay import Answer, ReplayServer

AS_OF = date(2026, 11, 30)  # a Monday
WEEKLIES = [date(2026, 12, 4), date(2026, 12, 11), date(2026, 12, 18), date(2026, 12, 24)]
LISTED = [*WEEKLIES, date(2026, 12, 31), date(2027, 1, 15), date(2027, 6, 17), date(2028, 1, 21)]
FAST = RetryPolicy(attempts=2, backoff_base=0.01, backoff_cap=0.02, max_rate_limit_wait=5)


@pytest.fixture
def server() -> Iterator[ReplayServer]:
    with ReplayServer() as replay:
        yield replay


def settings(server: ReplayServer, **kwargs: Any) -> Settings:
    return Settings(data_dir=Path("."), provider="cboe", cboe_url_base=server.url, enforce_market_hours=False,
                    **kwargs)


def provider(server: ReplayServer, **kwargs: Any) -> CboeProvider:
    return CboeProvider(settings(server, **kwargs), retry=FAST)


def test_needs_no_key_and_its_label_names_the_delay() -> None:
    cboe = get_provider("cboe", Settings(data_dir=Path(".")))
    assert cboe.label == "Cboe delayed quotes (delayed 15 min)" and cboe.live and not cboe.simulated


def test_a_modest_default_rate_unless_one_is_set() -> None:
    assert request_rate(Settings(data_dir=Path("."))) == DEFAULT_REQUESTS_PER_SECOND == 2.0
    assert request_rate(Settings(data_dir=Path("."), requests_per_second=0.5)) == 0.5


def test_one_request_per_ticker_says_who_sends_it(server: ReplayServer) -> None:
    serve_cboe(server, ["AAPL"], LISTED)
    cboe = provider(server)
    rows = cboe.fetch("aapl", ChainRequest(sides=("put", "call"), weeks=4, as_of=AS_OF))
    (seen,) = server.seen
    assert seen.path == options_path("AAPL") and seen.query == {}
    assert seen.headers["User-Agent"] == USER_AGENT and "Authorization" not in seen.headers
    assert sorted(set(rows.expiration)) == WEEKLIES and set(rows.ticker) == {"AAPL"}


def test_expiration_side_and_strike_come_from_the_occ_symbol_otm_nearest_the_money(server: ReplayServer) -> None:
    serve_cboe(server, ["AAPL"], LISTED, spot=100.0)
    rows = provider(server).fetch("AAPL", ChainRequest(sides=("put", "call"), weeks=1, strike_limit=3, as_of=AS_OF))
    puts, calls = rows[rows.side == "put"], rows[rows.side == "call"]
    assert list(puts.strike) == [97.0, 98.0, 99.0] and list(calls.strike) == [101.0, 102.0, 103.0]
    assert (rows.expiration == WEEKLIES[0]).all() and list(puts.option_symbol) == [
        "AAPL261204P00097000", "AAPL261204P00098000", "AAPL261204P00099000"]
    assert list(puts.bid) == [1.8, 1.9, 2.0] and list(puts.delta) == [-0.17, -0.18, -0.19]
    assert (rows.iv == 0.3).all() and (rows.underlying_price == 100.0).all() and (rows.quote_date == AS_OF).all()
    assert (rows.open_interest == 250).all() and (rows.volume == 40).all() and list(puts["last"]) == [1.85, 1.95, 2.05]


def test_a_dte_window_selects_the_listed_expirations_in_it(server: ReplayServer) -> None:
    serve_cboe(server, ["AAPL"], LISTED)
    rows = provider(server).fetch("AAPL", ChainRequest(as_of=AS_OF, dte_window=(30, 200)))
    assert sorted(set(rows.expiration)) == [date(2026, 12, 31), date(2027, 1, 15), date(2027, 6, 17)]
    assert len(server.seen) == 1


def test_an_unmodelled_contract_takes_its_delta_from_its_mid(server: ReplayServer) -> None:
    serve_cboe(server, ["AAPL"], WEEKLIES[:1], spot=100.0)
    rows = provider(server).fetch("AAPL", ChainRequest(weeks=1, strike_limit=20, as_of=AS_OF)).set_index("strike")
    far = rows.loc[80.0]  # iv 0 and delta 0 in the file: no model value
    t = blackscholes.year_fraction(4)
    iv = blackscholes.implied_vol("put", 0.15, 100.0, 80.0, t, 0.04, 0.0)
    assert math.isclose(far["iv"], iv) and math.isclose(far["delta"], blackscholes.delta("put", 100.0, 80.0, t, iv,
                                                                                         0.04, 0.0))
    assert far["delta"] != 0.0


def test_an_index_is_asked_for_under_its_underscore_name(server: ReplayServer) -> None:
    server.script(options_path("SPX"), NOT_FILED)
    contracts = [contract("SPXW", WEEKLIES[0], "put", 6000.0, 20.0, 20.5, 0.2, -0.2),
                 contract("SPX", WEEKLIES[2], "put", 6000.0, 40.0, 40.6, 0.2, -0.2)]
    server.script(options_path("_SPX"), Answer(200, options_file("_SPX", contracts, spot=6100.0, iv30=15.0)))
    cboe = provider(server)
    rows = cboe.fetch("SPX", ChainRequest(weeks=3, as_of=AS_OF))
    assert [s.path for s in server.seen] == [options_path("SPX"), options_path("_SPX")]
    assert set(rows.ticker) == {"SPX"} and list(rows.option_symbol) == ["SPXW261204P06000000",
                                                                         "SPX261218P06000000"]
    assert cboe.published_iv30("SPX") == 0.15


def test_a_symbol_cboe_does_not_publish_is_a_ticker_error(server: ReplayServer) -> None:
    with pytest.raises(ProviderError, match="ZZZZ: Cboe publishes no delayed quotes for it"):
        provider(server).fetch("ZZZZ", ChainRequest(as_of=AS_OF))
    assert [s.path for s in server.seen] == [options_path("ZZZZ"), options_path("_ZZZZ")]


@pytest.mark.parametrize(("answer", "message"), [
    (Answer(200, "<html>maintenance</html>"), "AAPL: unexpected Cboe answer (no JSON object)"),
    (Answer(200, {"data": {"options": [], "current_price": None}}), "AAPL: Cboe gave no current price"),
    (Answer(200, {"timestamp": "x"}), "AAPL: malformed Cboe answer (no data object)"),
    (Answer(500), "Cboe unavailable: HTTP 500 (2 attempts)"),
])
def test_ticker_errors(server: ReplayServer, answer: Answer, message: str) -> None:
    server.script(options_path("AAPL"), answer)
    with pytest.raises(ProviderError) as error:
        provider(server).fetch("AAPL", ChainRequest(as_of=AS_OF))
    assert str(error.value) == message


def test_junk_contracts_are_skipped(server: ReplayServer) -> None:
    junk = [{"option": "=cmd|x", "bid": 5}, {"bid": 1.0}, "text", contract("AAPL", WEEKLIES[0], "put", 99.0, 2.0, 2.1,
                                                                              0.3, -0.19)]
    server.script(options_path("AAPL"), Answer(200, options_file("AAPL", junk)))
    rows = provider(server).fetch("AAPL", ChainRequest(weeks=1, as_of=AS_OF))
    assert list(rows.option_symbol) == ["AAPL261204P00099000"]


@pytest.mark.parametrize(("iv30", "published"), [(24.5, 0.245), (None, None), (0.0, None), ("n/a", None)])
def test_the_published_iv30_as_a_fraction(server: ReplayServer, iv30: Any, published: float | None) -> None:
    serve_cboe(server, ["AAPL"], WEEKLIES, iv30=iv30)
    cboe = provider(server)
    assert cboe.published_iv30("AAPL") is None  # nothing fetched yet
    cboe.fetch("AAPL", ChainRequest(as_of=AS_OF))
    assert cboe.published_iv30("aapl") == published


def test_a_whole_scan_through_cboe(server: ReplayServer, fake_store: ScanStore) -> None:
    serve_cboe(server, ["AAPL", "MSFT"], LISTED)
    config = settings(server, concurrency=1)
    started = begin_scan(config, fake_store, ScanRequest(tickers=["AAPL", "MSFT"], provider="cboe", as_of=AS_OF))
    run_scan(config, fake_store, started.scan_id, started.token)
    meta = fake_store.get(started.scan_id)
    assert meta.status == "completed" and meta.provider_label == "Cboe delayed quotes (delayed 15 min)"
    frame = fake_store.results(started.scan_id).frame
    assert len(frame) == 2 * 4 * 15 and set(frame.expiration.dt.date) == set(WEEKLIES) and frame["match"].any()
    assert len(server.seen) == 2  # one file per ticker for four expirations



def test_an_open_contract_outside_the_scan_is_quoted_from_the_file_its_fetch_read(server: ReplayServer) -> None:
    """An in-the-money put of an expiration the scan does not take: picked from the file just fetched (no second
    request), its delta filled."""
    serve_cboe(server, ["AAPL"], LISTED)
    cboe = provider(server)
    cboe.fetch("AAPL", ChainRequest(as_of=AS_OF))
    quotes = cboe.option_quotes(["AAPL270115P00104000"], ChainRequest(as_of=AS_OF))
    assert len(server.seen) == 1
    row = quotes.iloc[0]
    assert (len(quotes), row.ticker, row.side, row.expiration, row.strike, row.bid, row.ask, row.underlying_price) == (
        1, "AAPL", "put", date(2027, 1, 15), 104.0, 4.0, 4.2, 100.0)
    assert row.delta == -0.8


def test_an_open_contract_is_quoted_from_a_file_read_again_when_no_fetch_read_it(server: ReplayServer) -> None:
    serve_cboe(server, ["AAPL", "MSFT"], LISTED)
    cboe = provider(server)
    cboe.fetch("MSFT", ChainRequest(as_of=AS_OF))
    quotes = cboe.option_quotes(["AAPL261231C00090000"], ChainRequest(as_of=AS_OF))
    assert [s.path for s in server.seen] == [options_path("MSFT"), options_path("AAPL")]
    assert (quotes.iloc[0].strike, quotes.iloc[0].bid) == (90.0, 10.0)


@pytest.mark.parametrize(("answer", "symbol", "reason"), [
    (None, "AAPL270115P00555000", "no quote for the open contract AAPL270115P00555000 (not listed"),
    (Answer(500, {"error": "boom"}), "AAPL270115P00104000", "not quoted: Cboe unavailable: HTTP 500"),
    (Answer(200, {"data": {"current_price": None}}), "AAPL270115P00104000", "Cboe gave no current price"),
])
def test_an_open_contract_cboe_cannot_quote_is_left_out_with_the_reason(
        server: ReplayServer, caplog: pytest.LogCaptureFixture, answer: Answer | None, symbol: str,
        reason: str) -> None:
    if answer is None:
        serve_cboe(server, ["AAPL"], LISTED)
    else:
        server.script(options_path("AAPL"), answer)
    with caplog.at_level(logging.WARNING):
        quotes = provider(server).option_quotes([symbol], ChainRequest(as_of=AS_OF))
    assert quotes.empty and reason in caplog.text and "Cboe" in caplog.text


def test_a_scan_quotes_the_books_open_contract_outside_its_window_from_the_same_file(
        server: ReplayServer, fake_store: ScanStore) -> None:
    """Before Cboe had option_quotes, the roll said "no quote in the scan" for it."""
    serve_cboe(server, ["AAPL"], LISTED)
    PositionsRecord(fake_store.client, fake_store.keys).add_option("AAPL270115P00104000", 1, 3.0)
    config = settings(server, concurrency=1)
    started = begin_scan(config, fake_store, ScanRequest(tickers=["AAPL"], provider="cboe", as_of=AS_OF))
    run_scan(config, fake_store, started.scan_id, started.token)
    rows = fake_store.results(started.scan_id).frame
    [status] = open_statuses(PositionsRecord(fake_store.client, fake_store.keys).load(), rows, AS_OF)
    assert (status.bid, status.ask, status.underlying, status.tested) == (4.0, 4.2, 100.0, True)
    assert len(server.seen) == 1  # the ticker's one file served its chain and the open contract's quote
