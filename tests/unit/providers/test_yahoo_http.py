"""The Yahoo source running the real yfinance code against Yahoo's endpoints replayed on 127.0.0.1.

test_yahoo.py replaces yfinance.Ticker with a fake; here nothing of yfinance is replaced. Its Ticker, its
YfData (cookie, crumb, the retry with the other cookie strategy, 429 handling), the curl_cffi session and
the DataFrames it builds run as in production; only the session's URLs go to a local server
(tests/support/yahoo_replay.py), whose answers are built from the GOOGL sample the fake serves. So the rows
must equal the fake-based provider's, and a yfinance upgrade that changes the endpoints, the fields it reads
or the frames it builds fails here while test_yahoo.py still passes.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
import pytest
import yfinance
from yfinance.exceptions import YFRateLimitError

from scanner.errors import ProviderError
from scanner.providers.base import ChainRequest
from scanner.providers.registry import get_provider
from scanner.providers.yahoo import YahooProvider
from tests.support.http_replay import Answer
from tests.support.yahoo_replay import (
    COOKIE,
    CRUMB,
    NO_CHAIN,
    NOT_FOUND,
    YahooReplay,
    chart_payload,
    epoch,
    options_payload,
    yfinance_sent_to,
)
from tests.unit.providers.test_yahoo import FAST, SPOT, TAKEN, read_sample, sample_settings, yahoo

EXPIRATION = date(2026, 1, 9)  # the sample's one expiration
LATER = date(2026, 3, 20)  # listed by Yahoo too, beyond the weeks asked for: never fetched
THROTTLED = Answer(429, "Too Many Requests\r\n")
BOTH = ChainRequest(sides=("put", "call"), weeks=4, as_of=TAKEN)


@pytest.fixture
def sample() -> pd.DataFrame:
    return read_sample()


@pytest.fixture(scope="module")
def local_yahoo() -> Iterator[YahooReplay]:
    with YahooReplay() as server:
        yield server


@pytest.fixture
def replay(local_yahoo: YahooReplay, monkeypatch: pytest.MonkeyPatch) -> Iterator[YahooReplay]:
    """The local Yahoo, reset, and yfinance's one shared YfData sending there: a `yfinance.Ticker(symbol)`
    without a session (the provider's default factory, as get_provider builds it) uses that singleton's
    session. A fresh singleton and session per test (no cookie, crumb or cookie strategy left from another),
    and yfinance's on-disk cookie and timezone caches off, so nothing is read from or written to the user's."""
    with yfinance_sent_to(local_yahoo, monkeypatch) as replay:
        yield replay


def serve_googl(replay: YahooReplay, sample: pd.DataFrame, *first: Answer, price: float | None = SPOT) -> None:
    """GOOGL's chain, after the answers `first` to the undated request (the expirations' list)."""
    payload = Answer(200, options_payload(sample, "GOOGL", price, EXPIRATION, listed=[LATER]))
    replay.options("GOOGL", payload, expiration=EXPIRATION)
    replay.options("GOOGL", *first, payload)


def provider(sleeps: list[float] | None = None) -> YahooProvider:
    """The production provider (yfinance.Ticker as the factory), with fast retries and a recorded sleep."""
    return YahooProvider(sample_settings(), retry=FAST, sleep=(sleeps if sleeps is not None else []).append)


def options_requests(replay: YahooReplay, symbol: str = "GOOGL") -> list[tuple[int, str | None]]:
    """(status, `date` asked for) of each `v7/finance/options/{symbol}` request, in order."""
    return [(seen.status, seen.query.get("date")) for seen in replay.requests_to(replay.options_path(symbol))]


@pytest.mark.parametrize("request_", [
    BOTH,
    ChainRequest(sides=("put", "call"), weeks=2, strike_limit=50, as_of=TAKEN),  # the junk quotes too
    ChainRequest(sides=("put",), as_of=TAKEN),
    ChainRequest(weeks=1, as_of=date(2026, 1, 2)),
], ids=["both-sides", "50-strikes", "puts", "from-friday"])
def test_rows_through_real_yfinance_equal_the_fake_tickers(replay: YahooReplay, sample: pd.DataFrame,
                                                           request_: ChainRequest) -> None:
    serve_googl(replay, sample)
    rows = provider().fetch("GOOGL", request_)
    assert len(rows) > 0
    pd.testing.assert_frame_equal(rows, yahoo(sample).fetch("GOOGL", request_))


def test_get_provider_fetches_googl_through_yfinance_from_the_local_yahoo(replay: YahooReplay,
                                                                         sample: pd.DataFrame) -> None:
    serve_googl(replay, sample)
    rows = get_provider("yahoo", sample_settings()).fetch("googl", BOTH)
    assert rows.groupby("side").size().to_dict() == {"call": 15, "put": 15}
    puts, calls = rows[rows.side == "put"], rows[rows.side == "call"]
    assert puts.strike.max() == 312.5 and (puts.strike < SPOT).all() and calls.strike.min() == 315.0
    assert (rows.underlying_price == SPOT).all() and (rows.expiration == EXPIRATION).all()
    assert rows.option_symbol.iloc[0] == "GOOGL260109C00315000" and rows.strike.dtype == np.float64
    put = rows[(rows.side == "put") & (rows.strike == 305.0)].iloc[0]
    quoted = sample[(sample.option_type == "put") & (sample.strike == 305.0)].iloc[0]
    assert (put.bid, put.ask, put.last, put.iv) == (1.75, quoted.ask, quoted.last_price, quoted.implied_volatility)
    assert (put.volume, put.open_interest) == (quoted.volume, quoted.open_interest) and -0.35 < put.delta < -0.2
    junk = rows.bid.eq(0) | rows.iv.isna()
    assert rows.bid.eq(0).sum() > 0 and rows.loc[junk, ["iv", "delta"]].isna().all().all()
    assert rows.loc[~junk, "delta"].notna().all()
    # the endpoints yfinance 1.7.0 asks for: the A3 cookie, a crumb, then the chain undated and dated
    assert {seen.path for seen in replay.seen} == {
        "/fc.yahoo.com/", "/query1.finance.yahoo.com/v1/test/getcrumb", replay.options_path("GOOGL")}
    assert options_requests(replay) == [(200, None), (200, str(epoch(EXPIRATION)))]  # never LATER
    for seen in replay.requests_to(replay.options_path("GOOGL")):
        assert seen.query["crumb"] == CRUMB and f"A3={COOKIE}" in seen.headers["Cookie"]


def test_price_missing_from_the_chain_comes_from_yfinance_price_history(replay: YahooReplay,
                                                                         sample: pd.DataFrame) -> None:
    serve_googl(replay, sample, price=None)
    replay.chart("GOOGL", Answer(200, chart_payload("GOOGL", [310.0, 316.15, SPOT], datetime.now(UTC))))
    rows = provider().fetch("GOOGL", BOTH)
    assert (rows.underlying_price == SPOT).all()
    pd.testing.assert_frame_equal(rows, yahoo(sample, quote={}).fetch("GOOGL", BOTH))
    ranges = [seen.query.get("range") for seen in replay.requests_to(replay.chart_path("GOOGL"))]
    assert ranges == ["1d", "1y"]  # the exchange's timezone, then the year of closes fast_info reads


def test_429_is_yfinance_rate_limit_error_retried_by_the_provider(replay: YahooReplay, sample: pd.DataFrame,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    serve_googl(replay, sample, THROTTLED, THROTTLED)  # yfinance retries once with its other cookie strategy
    sleeps: list[float] = []
    with caplog.at_level(logging.WARNING, logger="scanner.providers.yahoo"):
        rows = provider(sleeps).fetch("GOOGL", BOTH)
    pd.testing.assert_frame_equal(rows, yahoo(sample).fetch("GOOGL", BOTH))
    assert len(sleeps) == 1 and 0 <= sleeps[0] <= FAST.backoff_base and "rate limit on GOOGL; retry 1" in caplog.text
    assert options_requests(replay) == [(429, None), (429, None), (200, None), (200, str(epoch(EXPIRATION)))]


def test_endless_429_is_a_rate_limit_error_for_the_ticker(replay: YahooReplay, sample: pd.DataFrame) -> None:
    replay.options("GOOGL", THROTTLED)
    with pytest.raises(YFRateLimitError):
        tuple(yfinance.Ticker("GOOGL").options)  # what the provider calls
    assert options_requests(replay) == [(429, None)] * 2
    sleeps: list[float] = []
    with pytest.raises(ProviderError, match=r"^GOOGL: Yahoo Finance is rate limiting \(3 attempts\)$"):
        provider(sleeps).fetch("GOOGL", BOTH)
    assert len(sleeps) == 2 and options_requests(replay) == [(429, None)] * 8


@pytest.mark.parametrize("answer", [Answer(200, NO_CHAIN), Answer(404, NOT_FOUND)], ids=["empty-result", "404"])
def test_unknown_symbol_is_an_error_for_that_ticker_alone(replay: YahooReplay, sample: pd.DataFrame,
                                                          answer: Answer) -> None:
    replay.options("NOPE", answer)
    serve_googl(replay, sample)
    yahoo_source = provider()
    with pytest.raises(ProviderError, match=r"^NOPE: Yahoo Finance lists no option expirations"):
        yahoo_source.fetch("nope", BOTH)
    assert {status for status, _ in options_requests(replay, "NOPE")} == {answer.status}
    assert len(yahoo_source.fetch("GOOGL", BOTH)) == 30


def test_an_open_contract_is_quoted_from_its_expirations_chain(replay: YahooReplay, sample: pd.DataFrame) -> None:
    """An in-the-money put (never in the OTM chain) picked by its contract from the whole chain of its expiration."""
    serve_googl(replay, sample)
    quotes = provider().option_quotes(["GOOGL260109P00325000"], BOTH)
    row = quotes.iloc[0]
    assert (len(quotes), row.option_symbol, row.side, row.strike, row.bid, row.ask, row.underlying_price) == (
        1, "GOOGL260109P00325000", "put", 325.0, 12.10, 12.85, SPOT)
    assert row.delta < -0.5  # from its IV: deep in the money


@pytest.mark.parametrize(("symbol", "reason"), [
    ("GOOGL260109P00999000", "no quote for the open contract GOOGL260109P00999000 (not listed"),
    ("GOOGL260320P00325000", "open contracts GOOGL260320P00325000 not quoted: GOOGL: Yahoo Finance failed"),
])
def test_an_open_contract_yahoo_cannot_quote_is_left_out_with_the_reason(
        replay: YahooReplay, sample: pd.DataFrame, caplog: pytest.LogCaptureFixture, symbol: str,
        reason: str) -> None:
    replay.options("GOOGL", Answer(200, NO_CHAIN), expiration=LATER)  # scripted first: the catch-all's after
    serve_googl(replay, sample)
    with caplog.at_level(logging.WARNING):
        quotes = provider().option_quotes([symbol], BOTH)
    assert quotes.empty and "Yahoo Finance: " in caplog.text and reason in caplog.text
