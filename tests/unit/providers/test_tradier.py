"""The Tradier source against a real local server answering in Tradier's documented shapes (tests/support)."""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from scanner.config import Settings
from scanner.errors import ConfigError, ProviderError, ProviderFatal
from scanner.market import blackscholes
from scanner.providers.base import ChainRequest
from scanner.providers.httpclient import RetryPolicy
from scanner.providers.registry import get_provider
from scanner.providers.tradier import TradierProvider
from scanner.scan.criteria import Criteria
from scanner.scan.engine import ScanRequest, begin_scan, run_scan
from scanner.scan.screening import screen
from scanner.store.scans import ScanStore
from tests.support.http_replay import Answer, ReplayServer
from tests.support.tradier_replay import (
    CHAINS,
    EXPIRATIONS,
    QUOTES,
    chain_payload,
    expirations_payload,
    option,
    quotes_payload,
    serve_tradier,
)
from tests.support.yahoo_replay import YahooReplay, yfinance_sent_to
from tests.unit.providers.test_events_sources import calendar_answer

TOKEN = "tr-Secret+9x/Q2="
AS_OF = date(2026, 11, 30)  # a Monday
WEEKLIES = [date(2026, 12, 4), date(2026, 12, 11), date(2026, 12, 18), date(2026, 12, 24)]
FAST = RetryPolicy(attempts=2, backoff_base=0.01, backoff_cap=0.02, max_rate_limit_wait=5)


@pytest.fixture
def server() -> Iterator[ReplayServer]:
    with ReplayServer() as replay:
        yield replay


@pytest.fixture(scope="module")
def local_yahoo() -> Iterator[YahooReplay]:
    with YahooReplay() as replay:
        yield replay


@pytest.fixture
def yahoo(local_yahoo: YahooReplay, monkeypatch: pytest.MonkeyPatch) -> Iterator[YahooReplay]:
    """Yahoo, the events stand-in a scan's Tradier source asks, on 127.0.0.1 (so a scan never leaves the machine)."""
    with yfinance_sent_to(local_yahoo, monkeypatch) as replay:
        yield replay


def settings(server: ReplayServer, **kwargs: Any) -> Settings:
    return Settings(data_dir=Path("."), provider="tradier", tradier_token=TOKEN, tradier_url_base=server.url,
                    enforce_market_hours=False, **kwargs)


def provider(server: ReplayServer, **kwargs: Any) -> TradierProvider:
    return TradierProvider(settings(server, **kwargs), retry=FAST)


def test_needs_a_token_and_labels_the_sandbox_with_its_delay() -> None:
    with pytest.raises(ConfigError, match="TRADIER_TOKEN"):
        get_provider("tradier", Settings(data_dir=Path(".")))
    production = get_provider("tradier", Settings(data_dir=Path("."), tradier_token=TOKEN))
    sandbox = get_provider("tradier", Settings(data_dir=Path("."), tradier_token=TOKEN,
                                               tradier_url_base="https://sandbox.tradier.com/v1"))
    assert production.label == "Tradier" and production.live and not production.simulated
    assert sandbox.label == "Tradier sandbox (delayed 15 min)"


def test_asks_for_all_roots_greeks_and_the_quote_with_bearer_json(server: ReplayServer) -> None:
    serve_tradier(server, ["AAPL"], WEEKLIES)
    provider(server).fetch("aapl", ChainRequest(weeks=2, as_of=AS_OF))
    (listed,) = server.requests_to(EXPIRATIONS)
    assert listed.query == {"symbol": "AAPL", "includeAllRoots": "true"}
    assert [s.query for s in server.requests_to(CHAINS)] in (
        [{"symbol": "AAPL", "expiration": day.isoformat(), "greeks": "true"} for day in order]
        for order in (WEEKLIES[:2], WEEKLIES[1::-1]))
    assert [s.query for s in server.requests_to(QUOTES)] == [{"symbols": "AAPL"}]
    for seen in server.seen:
        assert seen.headers["Accept"] == "application/json" and seen.headers["Authorization"] == f"Bearer {TOKEN}"


def test_keeps_standard_otm_contracts_with_orats_greeks(server: ReplayServer) -> None:
    serve_tradier(server, ["AAPL"], WEEKLIES[:1], spot=100.0)
    rows = provider(server).fetch("AAPL", ChainRequest(sides=("put", "call"), weeks=1, strike_limit=3, as_of=AS_OF))
    puts, calls = rows[rows.side == "put"], rows[rows.side == "call"]
    assert list(puts.strike) == [97.0, 98.0, 99.0] and list(calls.strike) == [101.0, 102.0, 103.0]
    assert set(rows.option_symbol.str[:10]) == {"AAPL261204"}  # no AAPL1 (adjusted) row, no mini, no ITM put
    assert list(puts.bid) == [1.4, 1.7, 2.0] and list(puts.delta) == [-0.13, -0.16, -0.19]  # the standard 99 put
    assert (rows.iv == 0.3).all() and (rows.underlying_price == 100.0).all() and (rows.quote_date == AS_OF).all()
    assert (rows.expiration == WEEKLIES[0]).all() and (rows.open_interest == 100).all()


def test_a_lone_expiration_and_a_lone_contract_come_as_objects(server: ReplayServer) -> None:
    lone = option("AAPL", WEEKLIES[0], "put", 95.0, 1.0, 1.1, delta=-0.1)
    server.script(EXPIRATIONS, Answer(200, expirations_payload(WEEKLIES[:1])))
    server.script(QUOTES, Answer(200, quotes_payload("AAPL", 100.0)))
    server.script(CHAINS, Answer(200, chain_payload([lone])))
    rows = provider(server).fetch("AAPL", ChainRequest(as_of=AS_OF))
    assert list(rows.strike) == [95.0] and list(rows.delta) == [-0.1]


@pytest.mark.parametrize("empty", ["expirations", "options"])
def test_null_expirations_or_options_are_no_contracts(server: ReplayServer, empty: str) -> None:
    server.script(EXPIRATIONS, Answer(200, expirations_payload([] if empty == "expirations" else WEEKLIES)))
    server.script(QUOTES, Answer(200, quotes_payload("AAPL", 100.0)))
    server.script(CHAINS, Answer(200, chain_payload([])))
    assert provider(server).fetch("AAPL", ChainRequest(as_of=AS_OF)).empty
    assert len(server.requests_to(CHAINS)) == (0 if empty == "expirations" else 4)


def test_null_greeks_take_delta_from_the_iv_their_mid_implies_or_never_match(server: ReplayServer) -> None:
    priced = option("AAPL", WEEKLIES[0], "put", 98.0, 1.5, 1.6, greeks=False)
    unpriced = option("AAPL", WEEKLIES[0], "put", 97.0, 0.0, 0.0, greeks=False)
    server.script(EXPIRATIONS, Answer(200, expirations_payload(WEEKLIES[:1])))
    server.script(QUOTES, Answer(200, quotes_payload("AAPL", 100.0)))
    server.script(CHAINS, Answer(200, chain_payload([priced, unpriced])))
    rows = provider(server).fetch("AAPL", ChainRequest(weeks=1, as_of=AS_OF)).set_index("strike")
    t = blackscholes.year_fraction(4)
    iv = blackscholes.implied_vol("put", 1.55, 100.0, 98.0, t, 0.04, 0.0)
    assert math.isclose(rows.at[98.0, "iv"], iv) and 0 < iv < 1
    assert math.isclose(rows.at[98.0, "delta"], blackscholes.delta("put", 100.0, 98.0, t, iv, 0.04, 0.0))
    assert math.isnan(rows.at[97.0, "delta"]) and math.isnan(rows.at[97.0, "iv"])
    screened = screen(rows.reset_index(), Criteria(), AS_OF).set_index("strike")
    assert not screened.at[97.0, "match"]


def test_a_dte_window_asks_for_each_listed_expiration_in_it(server: ReplayServer) -> None:
    listed = [*WEEKLIES, date(2027, 1, 15), date(2027, 3, 19), date(2028, 1, 21)]
    serve_tradier(server, ["AAPL"], listed)
    rows = provider(server).fetch("AAPL", ChainRequest(as_of=AS_OF, dte_window=(40, 120)))
    assert sorted(s.query["expiration"] for s in server.requests_to(CHAINS)) == ["2027-01-15", "2027-03-19"]
    assert sorted(set(rows.expiration)) == [date(2027, 1, 15), date(2027, 3, 19)]


def test_a_429_waits_for_the_window_expiry_then_goes_on(server: ReplayServer) -> None:
    expiry = str(int((time.time() + 0.2) * 1000))
    limited = {"X-Ratelimit-Allowed": "120", "X-Ratelimit-Used": "120", "X-Ratelimit-Available": "0",
               "X-Ratelimit-Expiry": expiry}
    server.script(QUOTES, Answer(429, "Quota Violation", limited), Answer(200, quotes_payload("AAPL", 100.0)))
    serve_tradier(server, ["AAPL"], WEEKLIES[:1])  # its quote comes after the script above: that one answers
    rows = provider(server).fetch("AAPL", ChainRequest(weeks=1, as_of=AS_OF))
    assert len(rows) == 5 and [s.status for s in server.requests_to(QUOTES)] == [429, 200]


def test_a_refused_token_stops_the_scan(server: ReplayServer) -> None:
    server.script(EXPIRATIONS, Answer(401, "Invalid Access Token"))
    with pytest.raises(ProviderFatal, match="TRADIER_TOKEN"):
        provider(server).fetch("AAPL", ChainRequest(as_of=AS_OF))


@pytest.mark.parametrize(("answer", "message"), [
    (Answer(400, {"fault": {"faultstring": "bad symbol"}}), "AAPL: Tradier error (HTTP 400): bad symbol"),
    (Answer(400, {"errors": {"error": ["a", "b"]}}), "AAPL: Tradier error (HTTP 400): a; b"),
    (Answer(200, "not json"), "AAPL: Tradier error (HTTP 200): no JSON body"),
    (Answer(503), "Tradier unavailable: HTTP 503 (2 attempts)"),
])
def test_ticker_errors(server: ReplayServer, answer: Answer, message: str) -> None:
    server.script(EXPIRATIONS, answer)
    with pytest.raises(ProviderError) as error:
        provider(server).fetch("AAPL", ChainRequest(as_of=AS_OF))
    assert str(error.value) == message and not isinstance(error.value, ProviderFatal)


def test_an_unknown_symbol_has_no_quote(server: ReplayServer) -> None:
    server.script(QUOTES, Answer(200, quotes_payload("ZZZZ", None)))
    serve_tradier(server, ["ZZZZ"], WEEKLIES[:1])
    with pytest.raises(ProviderError, match="ZZZZ: Tradier has no quote"):
        provider(server).fetch("ZZZZ", ChainRequest(as_of=AS_OF))


def scan(server: ReplayServer, store: ScanStore, tickers: list[str], **kwargs: Any) -> str:
    config = settings(server, concurrency=1, **kwargs)
    started = begin_scan(config, store, ScanRequest(tickers=tickers, provider="tradier", weeks=2, as_of=AS_OF))
    run_scan(config, store, started.scan_id, started.token)
    return started.scan_id


def test_a_whole_scan_through_tradier_with_yahoos_events(server: ReplayServer, yahoo: YahooReplay,
                                                          fake_store: ScanStore) -> None:
    serve_tradier(server, ["AAPL", "MSFT"], WEEKLIES)
    report = int(datetime(2026, 12, 10, 12, tzinfo=UTC).timestamp())  # AAPL reports inside the second weekly
    yahoo.server.script(f"/{YahooReplay.QUERY2}/v10/finance/quoteSummary/AAPL",
                        Answer(200, calendar_answer(earnings={"earningsDate": [report]})))
    scan_id = scan(server, fake_store, ["AAPL", "MSFT"])
    meta = fake_store.get(scan_id)
    assert meta.status == "completed" and meta.provider == "tradier" and meta.provider_label == "Tradier"
    frame = fake_store.results(scan_id).frame
    assert len(frame) == 2 * 2 * 5 and set(frame.ticker) == {"AAPL", "MSFT"}
    assert set(frame.expiration.dt.date) == set(WEEKLIES[:2]) and frame["match"].any()
    aapl, msft = frame[frame.ticker == "AAPL"], frame[frame.ticker == "MSFT"]
    assert set(aapl.earnings_date.dt.date) == {date(2026, 12, 10)}
    assert list(aapl.groupby("expiration").earnings_in_window.first()) == [False, True]
    assert not aapl[aapl.earnings_in_window.astype(bool)]["match"].any()  # earnings excluded by default
    assert msft.earnings_date.isna().all()  # Yahoo has no calendar for it: unknown


@pytest.mark.usefixtures("yahoo")
def test_the_token_never_reaches_errors_logs_or_the_store(server: ReplayServer, fake_store: ScanStore,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    serve_tradier(server, ["AAPL"], WEEKLIES[:2])
    echoes = {"MSFT": TOKEN, "NVDA": TOKEN.lower(), "AMD": "tr-Secret%2B9x%2FQ2%3D"}
    for ticker, echo in echoes.items():
        server.script(EXPIRATIONS, Answer(400, {"fault": {"faultstring": f"token {echo} is bad"}}),
                      when={"symbol": ticker})
    scan_id = scan(server, fake_store, ["AAPL", *echoes])
    errors = fake_store.errors(scan_id)
    assert errors == {t: f"{t}: Tradier error (HTTP 400): token [redacted] is bad" for t in echoes}
    scan_hash = json.dumps(fake_store.client.hgetall(fake_store.keys.scan(scan_id)))
    for text in (caplog.text, scan_hash, json.dumps(errors), repr(settings(server))):
        assert TOKEN not in text and TOKEN.lower() not in text



OPEN_PUT = "AAPL270115P00104000"  # in the money at 100, of an expiration the scan does not take


def quotes_answer(*quotes: dict[str, Any]) -> Answer:
    """`/markets/quotes` naming the stock and option symbols: every quote found, in one list (or the one object)."""
    return Answer(200, {"quotes": {"quote": quotes[0] if len(quotes) == 1 else list(quotes)}})


def test_an_open_contract_is_quoted_by_its_option_symbol_with_the_stock(server: ReplayServer) -> None:
    stock = quotes_payload("AAPL", 100.0)["quotes"]["quote"]
    server.script(QUOTES, quotes_answer(stock, option("AAPL", date(2027, 1, 15), "put", 104, 4.5, 4.7, delta=-0.7)),
                  when={"symbols": f"AAPL,{OPEN_PUT}", "greeks": "true"})
    quotes = provider(server).option_quotes([OPEN_PUT], ChainRequest(as_of=AS_OF))
    row = quotes.iloc[0]
    assert (len(quotes), row.option_symbol, row.side, row.expiration, row.strike, row.bid, row.ask, row.delta,
            row.iv, row.underlying_price) == (1, OPEN_PUT, "put", date(2027, 1, 15), 104.0, 4.5, 4.7, -0.7, 0.3, 100.0)
    assert len(server.seen) == 1


@pytest.mark.parametrize(("answer", "reason"), [
    (quotes_answer(quotes_payload("AAPL", 100.0)["quotes"]["quote"],
                   option("AAPL", date(2027, 1, 15), "put", 104, None, None)),  # Tradier's nulls
     f"no quote for the open contract {OPEN_PUT} (not listed, or no bid and ask)"),
    (Answer(200, {"quotes": {"quote": quotes_payload("AAPL", 100.0)["quotes"]["quote"],
                             "unmatched_symbols": {"symbol": OPEN_PUT}}}),
     f"no quote for the open contract {OPEN_PUT}"),
    (Answer(200, quotes_payload("AAPL", None)), "not quoted: AAPL: Tradier has no quote for it"),
    (Answer(400, {"fault": {"faultstring": "bad symbols"}}), "not quoted: AAPL: Tradier error (HTTP 400): bad symbols"),
    (Answer(401, "Invalid Access Token"), "Tradier refused the token (HTTP 401)"),
])
def test_an_open_contract_tradier_cannot_quote_is_left_out_with_the_reason(
        server: ReplayServer, caplog: pytest.LogCaptureFixture, answer: Answer, reason: str) -> None:
    server.script(QUOTES, answer)
    with caplog.at_level(logging.WARNING):
        quotes = provider(server).option_quotes([OPEN_PUT], ChainRequest(as_of=AS_OF))
    assert quotes.empty and "Tradier: " in caplog.text and reason in caplog.text and TOKEN not in caplog.text
