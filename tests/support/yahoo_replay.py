"""Yahoo Finance's endpoints replayed on 127.0.0.1, for tests that run the real yfinance code end to end.

`LocalYahooSession` is the curl_cffi session yfinance uses in production (`impersonate="chrome"`), except that
every URL it is asked for, whatever the host, goes to the local `ReplayServer` with the host as the first path
segment: `https://query2.finance.yahoo.com/v7/finance/options/GOOGL?date=1` is served from
`/query2.finance.yahoo.com/v7/finance/options/GOOGL?date=1`, so the recorded paths say which Yahoo endpoint
was asked for and nothing can reach the network. `YahooReplay` scripts realistic answers: the cookie
(`fc.yahoo.com`, a 404 that sets A3), the crumb (`v1/test/getcrumb`), option chains (`v7/finance/options`)
built from a sample in the yfinance CSV layout, and price history (`v8/finance/chart`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pandas as pd
import pytest
from curl_cffi import requests as curl_requests
from yfinance import cache
from yfinance.data import SingletonMeta, YfData

from tests.support.http_replay import Answer, ReplayServer, Seen

COOKIE = "d=AQABBDdmVmkCEO7wDeQzLjBvMQ3VtAAKWn0FEgEBAQG3V2lgaQAAAAAA_eMAAA&S=AQAAAjY4ow8YHn2e1w2Z4Umlh3s"
CRUMB = "f7Tr2nBLu.q"
NOT_FOUND = {"finance": {"result": None, "error": {"code": "Not Found", "description": "HTTP 404 Not Found"}}}
COOKIE_PAGE = "<html><head><title>404 Not Found</title></head><body>404 Not Found</body></html>"
NO_CHAIN = {"optionChain": {"result": [], "error": None}}  # Yahoo's answer for a symbol it does not know


def epoch(day: date) -> int:
    """Yahoo's expiration timestamp: the date at 00:00 UTC."""
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())


class LocalYahooSession(curl_requests.Session):
    """yfinance's own session type, its requests sent to `base` (`http://127.0.0.1:<port>`) instead."""

    def __init__(self, base: str) -> None:
        super().__init__(impersonate="chrome", trust_env=False)  # no proxy from the environment
        self.base = base

    def request(self, method: Any, url: str, *args: Any, **kwargs: Any) -> Any:
        parts = urlsplit(url)
        local = urlsplit(self.base)
        rewritten = urlunsplit((local.scheme, local.netloc, f"/{parts.hostname}{parts.path or '/'}", parts.query, ""))
        return super().request(method, rewritten, *args, **kwargs)


class YahooReplay:
    """A local Yahoo Finance: cookie and crumb answered, anything unscripted a Yahoo 404."""

    QUERY1, QUERY2 = "query1.finance.yahoo.com", "query2.finance.yahoo.com"

    def __init__(self) -> None:
        self.server = ReplayServer()
        self.server.default = Answer(404, NOT_FOUND)
        self.base = ""

    def __enter__(self) -> YahooReplay:
        self.server.__enter__()
        self.base = self.server.url.removesuffix("/v1")
        self.reset()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.__exit__(*exc)

    def reset(self) -> None:
        """Back to the cookie and crumb answers alone, nothing seen (one server serves many tests: stopping
        one takes up to half a second)."""
        with self.server._lock:
            self.server.answers.clear()
            self.server.seen.clear()
        self.server.script("/fc.yahoo.com/", Answer(404, COOKIE_PAGE, headers={
            "Set-Cookie": f"A3={COOKIE}; Max-Age=31557600; Path=/; HttpOnly"}))
        for host in (self.QUERY1, self.QUERY2):
            self.server.script(f"/{host}/v1/test/getcrumb", Answer(200, CRUMB))

    def session(self) -> LocalYahooSession:
        """A new session (an empty cookie jar) sending to this server."""
        return LocalYahooSession(self.base)

    @classmethod
    def options_path(cls, symbol: str) -> str:
        return f"/{cls.QUERY2}/v7/finance/options/{symbol}"

    @classmethod
    def chart_path(cls, symbol: str) -> str:
        return f"/{cls.QUERY2}/v8/finance/chart/{symbol}"

    def options(self, symbol: str, *answers: Answer, expiration: date | None = None) -> None:
        """Answers to `v7/finance/options/{symbol}`, for `expiration` (`?date=`) or any date; script the
        expirations before the catch-all."""
        when = {"date": str(epoch(expiration))} if expiration else None
        self.server.script(self.options_path(symbol), *answers, when=when)

    def chart(self, symbol: str, *answers: Answer) -> None:
        self.server.script(self.chart_path(symbol), *answers)

    @property
    def seen(self) -> list[Seen]:
        return list(self.server.seen)

    def requests_to(self, path: str) -> list[Seen]:
        return self.server.requests_to(path)


def _number(value: Any) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


def contract(symbol: str, row: pd.Series, spot: float) -> dict[str, Any]:
    """One contract of a Yahoo chain from a row in the yfinance CSV layout; fields Yahoo has no value for
    (a volume never traded) are left out, as Yahoo does."""
    expiration = date.fromisoformat(row.expiry_date)
    kind = "C" if row.option_type == "call" else "P"
    fields: dict[str, Any] = {
        "contractSymbol": f"{symbol}{expiration:%y%m%d}{kind}{int(round(row.strike * 1000)):08d}",
        "strike": float(row.strike), "currency": "USD", "lastPrice": _number(row.last_price), "change": 0.0,
        "percentChange": 0.0, "volume": _number(row.volume), "openInterest": _number(row.open_interest),
        "bid": _number(row.bid), "ask": _number(row.ask), "contractSize": "REGULAR", "expiration": epoch(expiration),
        "lastTradeDate": epoch(expiration) - 9 * 86400 + 75599,  # the Wednesday before, 20:59:59 UTC
        "impliedVolatility": _number(row.implied_volatility),
        "inTheMoney": bool(row.strike < spot if kind == "C" else row.strike > spot),
    }
    for name in ("volume", "openInterest", "lastPrice", "bid", "ask", "impliedVolatility"):
        if fields[name] is None:
            del fields[name]
        elif name in ("volume", "openInterest"):
            fields[name] = int(fields[name])
    return fields


def quote(symbol: str, price: float | None) -> dict[str, Any]:
    """The `quote` of an options answer (a trimmed real one); `price` None leaves out regularMarketPrice."""
    fields: dict[str, Any] = {
        "language": "en-US", "region": "US", "quoteType": "EQUITY", "typeDisp": "Equity", "quoteSourceName":
        "Nasdaq Real Time Price", "triggerable": True, "currency": "USD", "exchange": "NMS", "shortName":
        "Alphabet Inc.", "longName": "Alphabet Inc.", "marketState": "CLOSED", "regularMarketTime": 1767214800,
        "regularMarketChange": -2.64, "regularMarketChangePercent": -0.835, "regularMarketPreviousClose": 316.15,
        "bid": 313.4, "ask": 313.6, "fullExchangeName": "NasdaqGS", "exchangeTimezoneName": "America/New_York",
        "exchangeTimezoneShortName": "EST", "gmtOffSetMilliseconds": -18000000, "market": "us_market",
        "esgPopulated": False, "tradeable": False, "cryptoTradeable": False, "symbol": symbol,
    }
    if price is not None:
        fields["regularMarketPrice"] = price
    return fields


def options_payload(sample: pd.DataFrame, symbol: str, price: float | None, chain_of: date,
                    listed: Iterable[date] = ()) -> dict[str, Any]:
    """Yahoo's `v7/finance/options/{symbol}` answer: every expiration of `sample` (the yfinance CSV layout)
    plus `listed` in `expirationDates`, the contracts of `chain_of` in `options[0]`."""
    rows = sample[sample.symbol == symbol]
    days = sorted({date.fromisoformat(day) for day in rows.expiry_date} | set(listed))
    spot = price if price is not None else float(rows.strike.median())
    chain = rows[rows.expiry_date == chain_of.isoformat()].sort_values("strike")
    side = {name: [contract(symbol, row, spot) for row in chain[chain.option_type == name].itertuples()]
            for name in ("call", "put")}
    return {"optionChain": {"result": [{
        "underlyingSymbol": symbol, "expirationDates": [epoch(day) for day in days],
        "strikes": sorted(float(k) for k in rows.strike.unique()), "hasMiniOptions": False,
        "quote": quote(symbol, price),
        "options": [{"expirationDate": epoch(chain_of), "hasMiniOptions": False, "calls": side["call"],
                     "puts": side["put"]}],
    }], "error": None}}


def chart_payload(symbol: str, closes: list[float], now: datetime) -> dict[str, Any]:
    """Yahoo's `v8/finance/chart/{symbol}` answer: daily bars closing at `closes`, the last one the day before
    `now` (yfinance keeps only the past year, counted from the real clock)."""
    last = (now - timedelta(days=1)).date()
    days = [last - timedelta(days=len(closes) - 1 - i) for i in range(len(closes))]
    stamps = [int(datetime(d.year, d.month, d.day, 14, 30, tzinfo=UTC).timestamp()) for d in days]
    today = datetime(now.year, now.month, now.day, tzinfo=UTC)
    session = {"timezone": "EST", "gmtoffset": -18000}
    period = {name: {**session, "start": int((today + timedelta(hours=start)).timestamp()),
                     "end": int((today + timedelta(hours=end)).timestamp())}
              for name, start, end in (("pre", 9, 14.5), ("regular", 14.5, 21), ("post", 21, 25))}
    meta = {
        "currency": "USD", "symbol": symbol, "exchangeName": "NMS", "fullExchangeName": "NasdaqGS",
        "instrumentType": "EQUITY", "firstTradeDate": 1092922200, "regularMarketTime": stamps[-1] + 23400,
        "hasPrePostMarketData": True, "gmtoffset": -18000, "timezone": "EST",
        "exchangeTimezoneName": "America/New_York", "regularMarketPrice": closes[-1], "priceHint": 2,
        "currentTradingPeriod": period, "dataGranularity": "1d", "range": "1y",
        "validRanges": ["1d", "5d", "1mo", "3mo", "6mo", "1y", "2y", "5y", "10y", "ytd", "max"],
    }
    bars = {"open": closes, "high": [c + 1 for c in closes], "low": [c - 1 for c in closes], "close": closes,
            "volume": [30_000_000] * len(closes)}
    return {"chart": {"result": [{"meta": meta, "timestamp": stamps, "indicators": {
        "quote": [bars], "adjclose": [{"adjclose": closes}]}}], "error": None}}


@contextmanager
def yfinance_sent_to(replay: YahooReplay, monkeypatch: pytest.MonkeyPatch) -> Iterator[YahooReplay]:
    """yfinance in this process sent to `replay` (reset first): a fresh YfData singleton whose session goes there,
    which a `yfinance.Ticker(symbol)` without a session uses, and the on-disk cookie and timezone caches off, so
    nothing is read from or written to the user's (for code that builds its own YahooProvider, as a scan does)."""
    replay.reset()
    monkeypatch.setattr(SingletonMeta, "_instances", {})
    monkeypatch.setattr(cache._CookieCacheManager, "_Cookie_cache", cache._CookieCacheDummy())
    monkeypatch.setattr(cache._TzCacheManager, "_tz_cache", cache._TzCacheDummy())
    with replay.session() as session:
        YfData(session=session)
        yield replay
