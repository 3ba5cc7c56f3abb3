"""The MarketData source against a real local server replaying the API's real chain response."""

from __future__ import annotations

import copy
import json
import logging
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np
import pytest

from scanner.config import Settings
from scanner.errors import ConfigError, ProviderError, ProviderFatal
from scanner.market import blackscholes
from scanner.providers.base import ChainRequest
from scanner.providers.httpclient import RetryPolicy
from scanner.providers.marketdata import MarketDataProvider, chain_frame
from scanner.providers.registry import get_provider
from scanner.results import export
from scanner.scan.criteria import Criteria
from scanner.scan.engine import ScanRequest, begin_scan, run_scan
from scanner.scan.screening import screen
from scanner.schema import CHAIN_COLUMNS
from scanner.store.scans import ScanStore
from tests.support.http_replay import Answer, ReplayServer
from tests.support.paths import shared_file
from tests.support.processes import wait_for

KEY = "md-secret-7f3a9c"
AS_OF = date(2023, 5, 21)  # the file's quote date; its expiry 2023-06-16 is the 4th weekly after it
EXPIRY = "2023-06-16"
AAPL = "/v1/options/chain/AAPL/"
FAST = RetryPolicy(attempts=2, backoff_base=0.01, backoff_cap=0.02, max_rate_limit_wait=5)


@pytest.fixture
def payload() -> dict[str, Any]:
    return json.loads(shared_file("marketdata/options_chain_AAPL_2023-05-21.json").read_text())


@pytest.fixture
def server() -> Iterator[ReplayServer]:
    with ReplayServer() as replay:
        yield replay


def settings(server: ReplayServer, **kwargs: Any) -> Settings:
    return Settings(data_dir=Path("."), provider="marketdata", md_api_key=KEY, md_url_base=server.url,
                    enforce_market_hours=False, **kwargs)


def provider(server: ReplayServer, **kwargs: Any) -> MarketDataProvider:
    return MarketDataProvider(settings(server, **kwargs), retry=FAST)


def test_needs_a_key() -> None:
    with pytest.raises(ConfigError, match="MD_API_KEY"):
        get_provider("marketdata", Settings(data_dir=Path(".")))
    assert isinstance(get_provider("marketdata", Settings(data_dir=Path("."), md_api_key=KEY)), MarketDataProvider)


def test_asks_for_otm_weekly_chains_with_the_api_filters(server: ReplayServer, payload: dict) -> None:
    server.script(AAPL, Answer(200, payload), when={"expiration": EXPIRY})
    provider(server).fetch("aapl", ChainRequest(sides=("put",), weeks=4, strike_limit=15, as_of=AS_OF))
    seen = server.requests_to(AAPL)
    assert sorted(s.query["expiration"] for s in seen) == ["2023-05-26", "2023-06-02", "2023-06-09", EXPIRY]
    for s in seen:
        assert {k: s.query[k] for k in ("side", "range", "strikeLimit", "date")} == \
            {"side": "put", "range": "otm", "strikeLimit": "15", "date": "2023-05-21"}
        assert s.headers["Authorization"] == f"Bearer {KEY}"


def test_both_sides_in_one_request_per_expiration(server: ReplayServer, payload: dict) -> None:
    server.script(AAPL, Answer(203, payload), when={"expiration": EXPIRY})
    rows = provider(server).fetch("AAPL", ChainRequest(sides=("put", "call"), weeks=4, as_of=AS_OF))
    assert len(server.requests_to(AAPL)) == 4 and "side" not in server.requests_to(AAPL)[0].query
    assert rows.groupby("side").size().to_dict() == {"call": 15, "put": 15}


def test_rows_types_and_metrics_of_the_real_chain(server: ReplayServer, payload: dict) -> None:
    server.script(AAPL, Answer(200, payload), when={"expiration": EXPIRY})
    rows = provider(server).fetch("AAPL", ChainRequest(sides=("put",), as_of=AS_OF))
    assert tuple(rows.columns) == CHAIN_COLUMNS
    assert len(rows) == 15 and (rows.side == "put").all() and (rows.ticker == "AAPL").all()
    # OTM (175 < 175.13), the 15 nearest the money
    assert rows.strike.tolist() == [float(k) for k in range(105, 180, 5)]
    assert (rows.expiration == date(2023, 6, 16)).all() and (rows.quote_date == AS_OF).all()
    assert rows.strike.dtype == rows.bid.dtype == rows.delta.dtype == np.float64
    put = rows[rows.strike == 165].iloc[0]
    assert (put.bid, put.ask, put.delta, put.underlying_price) == (0.92, 0.95, -0.151, 175.13)
    screened = screen(rows, Criteria(), AS_OF)
    row = screened[screened.strike == 165].iloc[0]
    assert row.dte == 26 and row.annualized_return_pct == pytest.approx(0.92 / 165 / 26 * 365 * 100)


def test_the_side_array_of_the_real_file_is_misaligned_so_the_symbol_decides(payload: dict) -> None:
    assert len(payload["side"]) == 96 and len(payload["optionSymbol"]) == 92
    frame = chain_frame(payload)
    assert frame.side.value_counts().to_dict() == {"call": 46, "put": 46}
    assert (frame.side == np.where(frame.option_symbol.str[10] == "C", "call", "put")).all()


def test_nulls_in_any_column(server: ReplayServer, payload: dict) -> None:
    junk = copy.deepcopy(payload)
    puts = [i for i, s in enumerate(junk["optionSymbol"]) if s[10] == "P"]
    p165, p160, p155, p150 = (next(i for i in puts if junk["strike"][i] == k) for k in (165, 160, 155, 150))
    junk["delta"][p165] = None  # computed from its iv
    junk["bid"][p160] = None
    junk["iv"][p155] = junk["delta"][p155] = None  # iv implied by the mid, then delta
    junk["underlying"] = None
    junk["volume"][p150] = None
    junk["openInterest"] = [None] * len(junk["openInterest"])
    server.script(AAPL, Answer(200, junk), when={"expiration": EXPIRY})
    rows = provider(server, risk_free_rate=0.05).fetch("AAPL", ChainRequest(as_of=AS_OF))
    by_strike = rows.set_index("strike")
    assert (rows.ticker == "AAPL").all() and rows.open_interest.isna().all()
    expected = blackscholes.delta("put", 175.13, 165, 27 / 365, junk["iv"][p165], 0.05)  # 26 DTE counts as 27/365
    assert by_strike.delta[165] == pytest.approx(expected, abs=1e-12)
    assert np.isnan(by_strike.bid[160]) and np.isnan(by_strike.volume[150])
    assert by_strike.iv[155] > 0 and -0.2 < by_strike.delta[155] < 0
    screened = screen(rows, Criteria(min_put_annualized=0), AS_OF)
    assert not screened[screened.strike == 160].match.any()  # no bid, no match


@pytest.mark.parametrize("answer", [Answer(204), Answer(404, {"s": "no_data", "nextTime": 1685000000})])
def test_no_data_is_no_contracts(server: ReplayServer, answer: Answer) -> None:
    server.script(AAPL, answer)
    rows = provider(server).fetch("AAPL", ChainRequest(as_of=AS_OF))
    assert rows.empty and tuple(rows.columns) == CHAIN_COLUMNS


@pytest.mark.parametrize("answer, message", [
    (Answer(400, {"s": "error", "errmsg": "Invalid symbol: ZZZZ"}), "Invalid symbol: ZZZZ"),
    (Answer(200, "<html>oops"), "no JSON body"),
    (Answer(200, {"s": "ok", "optionSymbol": "AAPL230616P00165000"}), "malformed"),
    (Answer(500), "HTTP 500"),
])
def test_ticker_errors(server: ReplayServer, answer: Answer, message: str) -> None:
    server.script(AAPL, answer)
    with pytest.raises(ProviderError, match=message) as info:
        provider(server).fetch("AAPL", ChainRequest(as_of=AS_OF))
    assert not isinstance(info.value, ProviderFatal)


def test_a_refused_key_stops_the_scan(server: ReplayServer) -> None:
    server.script(AAPL, Answer(401, {"s": "error", "errmsg": "Invalid token"}))
    with pytest.raises(ProviderFatal, match="MD_API_KEY"):
        provider(server).fetch("AAPL", ChainRequest(as_of=AS_OF))


def test_expirations_share_the_concurrency_bound(server: ReplayServer) -> None:
    server.script(AAPL, Answer(204, delay=0.1))
    server.gate.clear()  # nothing is answered before the bound is reached, however slowly the requests start
    md = provider(server, concurrency=3)
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(4) as tickers:  # what the engine does: several tickers at once
        fetches = [tickers.submit(md.fetch, "AAPL", ChainRequest(weeks=4, as_of=AS_OF)) for _ in range(4)]
        wait_for(lambda: server.in_flight >= 3, timeout=60)
        server.gate.set()
        for fetch in fetches:
            fetch.result()
    assert len(server.requests_to(AAPL)) == 16 and server.max_in_flight == 3


def test_usage_fields(server: ReplayServer, payload: dict) -> None:
    server.script(AAPL, Answer(200, payload, {"X-Api-Ratelimit-Consumed": "92", "X-Api-Ratelimit-Remaining": "9908"}),
                  when={"expiration": EXPIRY})
    server.script(AAPL, Answer(404, {"s": "no_data"},
                               {"X-Api-Ratelimit-Consumed": "1", "X-Api-Ratelimit-Remaining": "9907"}))
    md = provider(server)
    assert md.usage() == {"credits_used": 0}
    md.fetch("AAPL", ChainRequest(as_of=AS_OF))
    assert md.usage()["credits_used"] == 95 and md.usage()["credits_remaining"] in (9907, 9908)


def scan(server: ReplayServer, store: ScanStore, tickers: list[str]) -> tuple[str, Settings]:
    config = settings(server, concurrency=1)
    started = begin_scan(config, store, ScanRequest(tickers=tickers, provider="marketdata", as_of=AS_OF))
    run_scan(config, store, started.scan_id, started.token)
    return started.scan_id, config


def test_scan_records_credits_and_stops_on_a_spent_budget(server: ReplayServer, payload: dict,
                                                          fake_store: ScanStore) -> None:
    credits = {"X-Api-Ratelimit-Consumed": "30", "X-Api-Ratelimit-Remaining": "5"}
    server.script(AAPL, Answer(200, payload, credits), when={"expiration": EXPIRY})
    server.script(AAPL, Answer(204, headers={"X-Api-Ratelimit-Consumed": "0", "X-Api-Ratelimit-Remaining": "5"}))
    spent = {"X-Api-Ratelimit-Remaining": "0", "X-Api-Ratelimit-Reset": str(int(time.time()) + 5 * 3600)}
    server.script("/v1/options/chain/MSFT/", Answer(429, {"s": "error", "errmsg": "API credit limit reached"}, spent))
    scan_id, _ = scan(server, fake_store, ["AAPL", "MSFT", "NVDA"])
    meta = fake_store.get(scan_id)
    assert meta.status == "failed" and "daily credit budget is spent" in meta.message
    assert "partial results kept" in meta.message
    assert meta.tickers_done == 2 and meta.credits_used == 30 and meta.credits_remaining == 0
    assert set(fake_store.results(scan_id).frame.ticker) == {"AAPL"}
    assert not server.requests_to("/v1/options/chain/NVDA/")  # the scan stopped


def test_the_key_never_reaches_logs_messages_the_store_or_exports(
        server: ReplayServer, payload: dict, fake_store: ScanStore, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    server.script(AAPL, Answer(200, payload), when={"expiration": EXPIRY})
    server.script(AAPL, Answer(204))
    server.script("/v1/options/chain/MSFT/", Answer(400, {"s": "error", "errmsg": f"bad token Bearer {KEY}"}))
    server.script("/v1/options/chain/NVDA/", Answer(503), Answer(200, f"not json {KEY}"))  # retried, logged
    scan_id, config = scan(server, fake_store, ["AAPL", "MSFT", "NVDA"])
    meta = fake_store.get(scan_id)
    errors = fake_store.errors(scan_id)
    assert meta.status == "completed" and set(errors) == {"MSFT", "NVDA"}
    assert errors["MSFT"] == "MSFT: MarketData error (HTTP 400): bad token Bearer [redacted]"
    assert "HTTP 503" in caplog.text  # the retry was logged
    frame = fake_store.results(scan_id).frame
    assert set(frame.ticker) == {"AAPL"}
    exports = [export.to_bytes(export.export_frame(frame, matches_only=only), fmt).decode("latin-1")
               for only in (True, False) for fmt in export.FORMATS]
    scan_hash = json.dumps(fake_store.client.hgetall(fake_store.keys.scan(scan_id)))
    for text in (caplog.text, scan_hash, json.dumps(errors), repr(config), repr(meta), *exports):
        assert KEY not in text


def test_a_dte_window_asks_for_each_listed_expiration_in_it_with_its_own_strike_limit(
        server: ReplayServer, payload: dict) -> None:
    listed = json.loads(shared_file("marketdata/options_expirations_example.json").read_text())  # from 2022-09-23
    server.script("/v1/options/expirations/AAPL/", Answer(200, listed))
    server.script(AAPL, Answer(200, payload), when={"expiration": EXPIRY})
    as_of = date(2022, 9, 20)
    rows = provider(server).fetch("AAPL", ChainRequest(sides=("put",), strike_limit=15, as_of=as_of,
                                                       dte_window=(30, 60)))
    assert server.requests_to("/v1/options/expirations/AAPL/")[0].query["date"] == "2022-09-20"
    # listed 2022-10-21 (31 DTE), 10-28 (38) and 11-18 (59) are in the window; 10-14 (24) and 12-16 (87) are not
    seen = server.requests_to(AAPL)
    assert sorted(s.query["expiration"] for s in seen) == ["2022-10-21", "2022-10-28", "2022-11-18"]
    assert all(s.query["strikeLimit"] == "15" and "from" not in s.query for s in seen)
    assert rows.empty  # the replay server has chains for none of them (only 2023-06-16)


def test_a_dte_window_reads_the_chains_it_asked_for(server: ReplayServer, payload: dict) -> None:
    server.script("/v1/options/expirations/AAPL/", Answer(200, {"s": "ok", "expirations": [EXPIRY, "junk"]}))
    server.script(AAPL, Answer(200, payload), when={"expiration": EXPIRY})
    rows = provider(server).fetch("AAPL", ChainRequest(sides=("put",), as_of=AS_OF, dte_window=(20, 30)))
    assert len(rows) == 15 and (rows.expiration == date(2023, 6, 16)).all()  # 26 DTE; "junk" is skipped


def test_no_listed_expirations_is_an_empty_chain(server: ReplayServer) -> None:
    server.script("/v1/options/expirations/AAPL/", Answer(404, {"s": "no_data"}))
    assert provider(server).fetch("AAPL", ChainRequest(as_of=AS_OF, dte_window=(0, 730))).empty
    assert server.requests_to(AAPL) == []


def test_the_key_is_redacted_in_any_case_and_url_encoded(server: ReplayServer, fake_store: ScanStore) -> None:
    key = "Md-Secret+7F/3a9c="  # url-encodes to Md-Secret%2B7F%2F3a9c%3D
    echoes = {"MSFT": key.lower(), "NVDA": key.upper(), "AMD": quote(key, safe=""), "KO": quote(key.lower(), safe="")}
    for ticker, echo in echoes.items():
        server.script(f"/v1/options/chain/{ticker}/", Answer(400, {"s": "error", "errmsg": f"bad token {echo}!"}))
    config = Settings(data_dir=Path("."), provider="marketdata", md_api_key=key, md_url_base=server.url,
                      enforce_market_hours=False, concurrency=1)
    started = begin_scan(config, fake_store, ScanRequest(tickers=list(echoes), provider="marketdata", as_of=AS_OF))
    run_scan(config, fake_store, started.scan_id, started.token)
    errors = fake_store.errors(started.scan_id)
    assert errors == {t: f"{t}: MarketData error (HTTP 400): bad token [redacted]!" for t in echoes}


def test_an_open_contract_is_quoted_by_its_option_symbol(server: ReplayServer, payload: dict) -> None:
    """The quotes endpoint answers in the chain's shape: here the real chain's 200 put (deep in the money)."""
    at = payload["optionSymbol"].index("AAPL230616P00200000")
    one = {name: [values[at]] if isinstance(values, list) else values for name, values in payload.items()}
    server.script("/v1/options/quotes/AAPL230616P00200000/", Answer(200, one))
    quotes = provider(server).option_quotes(["AAPL230616P00200000"], ChainRequest(as_of=AS_OF))
    assert len(quotes) == 1
    row = quotes.iloc[0]
    assert (row.ticker, row.side, row.strike, row.bid, row.ask, row.underlying_price) == (
        "AAPL", "put", 200.0, 24.25, 25.65, 175.13)
    assert server.seen[-1].query.get("date") == AS_OF.isoformat()
