"""MarketData.app (the original app's source): one chain request per ticker and weekly expiration.

Credits are spent per contract returned, so the API's own filters cut every chain before it is sent:
`expiration` (one weekly date per request, computed from the NYSE calendar, so no expirations lookup
is paid for), `range=otm`, `strikeLimit` and `side` (omitted for both sides: with `range` set,
`strikeLimit` then applies to each side, one request instead of two). `--as-of` asks for that day's
end-of-day chain (`date`). A ticker's expirations are requested concurrently on a pool shared by all
tickers, so at most SCANNER_CONCURRENCY requests are ever in flight.

A DTE window (`min_dte`/`max_dte`) takes the ticker's listed expirations first (`/options/expirations/`, one
request; weeklies, monthlies and LEAPS alike) and asks for each one in the window as above. The chain's own
`from`/`to` filters would fetch the window in one request, but MarketData documents `strikeLimit` only as "max
strikes per side" of the answer, not per expiration, and the replay server in the tests does not apply it at all:
with several expirations in one answer, a strike limit taken over the whole answer would leave the later
expirations (sparser strike grids) with fewer strikes than asked, or cost a credit per contract without it. One
request per expiration keeps `strikeLimit` per expiration, which is what `nearest_otm_positions` then enforces.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import quote

import numpy as np
import pandas as pd

from scanner.config import Settings
from scanner.errors import ConfigError, ProviderError, ProviderFatal
from scanner.market.calendar import NY, weekly_expirations
from scanner.market.candles import DailyCloses, window_start
from scanner.market.events import EarningsTime, TickerEvents, next_report
from scanner.providers.base import ChainRequest, Registered, live_quote_date
from scanner.providers.chains import NUMERIC_COLUMNS, empty_chain, fill_delta, nearest_otm_positions
from scanner.providers.httpclient import HttpClient, RetryPolicy
from scanner.schema import CHAIN_COLUMNS, SIDES

log = logging.getLogger(__name__)

_FIELDS = {  # normalized column <- MarketData chain field
    "ticker": "underlying", "side": "side", "expiration": "expiration", "strike": "strike", "bid": "bid",
    "ask": "ask", "last": "last", "volume": "volume", "open_interest": "openInterest", "iv": "iv",
    "delta": "delta", "underlying_price": "underlyingPrice", "option_symbol": "optionSymbol",
}


_OCC = r"^(?P<root>[A-Z0-9.]+?)(?P<expiration>\d{6})(?P<side>[CP])(?P<strike>\d{8})$"


_SOURCES = {**_FIELDS, "quote_date": "updated"}


def _aligned(payload: Mapping[str, Any], source: str) -> list[Any]:
    """The field's list, or all None when it is absent or does not hold one entry per contract (logged)."""
    symbols = payload.get("optionSymbol")
    if not isinstance(symbols, list):
        raise ProviderError("malformed MarketData chain: no optionSymbol list")
    values, n = payload.get(source), len(symbols)
    if values is None:
        return [None] * n
    if not isinstance(values, list) or len(values) != n:
        log.warning("MarketData chain field %r holds %s entries for %d contracts; ignored", source,
                    len(values) if isinstance(values, list) else "no list of", n)
        return [None] * n
    return values


def merge_chains(payloads: list[Mapping[str, Any]]) -> dict[str, list[Any]]:
    """Several chain responses as one, so a ticker's expirations become one frame (pandas costs per call,
    not per row: one frame per response made parsing slower than the requests)."""
    return {source: [value for payload in payloads for value in _aligned(payload, source)]
            for source in _SOURCES.values()}


def _array(values: list[Any], dtype: type) -> np.ndarray | None:
    """`values` as a 1-d numpy array in one C pass; None when numpy cannot (junk strings for floats) or
    reads nested lists as another dimension."""
    try:
        array = np.array(values, dtype=dtype)
    except (TypeError, ValueError):
        return None
    return array if array.shape == (len(values),) else None


def _numbers(values: list[Any]) -> np.ndarray:
    """Floats with None as NaN; junk entries (text, lists) make NaN through pandas, the slow path."""
    numbers = _array(values, float)
    if numbers is None:
        return pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").to_numpy(dtype=float)
    return numbers


def _epoch_date(seconds: float) -> date | None:
    """Unix seconds as a New York date; None for NaN, infinities and times no calendar holds (1e20)."""
    try:
        return datetime.fromtimestamp(seconds, NY).date()
    except (OverflowError, OSError, ValueError):
        return None


def _epoch_dates(values: list[Any]) -> np.ndarray:
    """Unix seconds as New York dates; converted once per distinct value (a chain has a few expirations)."""
    codes, uniques = pd.factorize(_numbers(values))
    days = [_epoch_date(u) for u in uniques] + [None]
    return np.array(days, dtype=object)[codes]


def _texts(values: list[Any], normalize: Callable[[str], str] = str) -> np.ndarray:
    """Text as an object array, missing as None; normalized once per distinct value (a chain holds one
    ticker and two sides). Non-text entries become their text, as pandas' string dtype makes them."""
    try:
        codes, uniques = pd.factorize(_array(values, object))
    except TypeError:  # unhashable entries (lists), or None: numpy read nested lists as a dimension
        texts = pd.Series(values, dtype="string").to_numpy(dtype=object, na_value=None)
        return np.array([None if text is None else normalize(text) for text in texts], dtype=object)
    names = [normalize(value if isinstance(value, str) else str(value)) for value in uniques]
    return np.array([*names, None], dtype=object)[codes]


def _from_symbols(columns: dict[str, Any], ticker: str | None) -> None:
    """Side, strike, ticker and expiration read from the OCC option symbol where the fields lack them."""
    symbol = pd.Series(columns["option_symbol"], dtype="string")
    occ = symbol.str.strip().str.extract(_OCC)
    side = pd.Series(columns["side"], dtype=object)
    columns["side"] = side.where(side.isin(SIDES), occ["side"].map({"C": "call", "P": "put"})).to_numpy(dtype=object)
    strike = pd.to_numeric(occ["strike"]).to_numpy(dtype=float) / 1000
    columns["strike"] = np.where(np.isnan(columns["strike"]), strike, columns["strike"])
    root = np.full(len(symbol), ticker, dtype=object) if ticker is not None else occ["root"].to_numpy(dtype=object)
    columns["ticker"] = np.where(pd.isna(columns["ticker"]), root, columns["ticker"])
    expiration = pd.to_datetime(occ["expiration"], format="%y%m%d", errors="coerce").dt.date.to_numpy(dtype=object)
    columns["expiration"] = np.where(pd.isna(columns["expiration"]), expiration, columns["expiration"])


def chain_frame(payload: Mapping[str, Any], ticker: str | None = None) -> pd.DataFrame:
    """A MarketData chain response (`s: ok`, one list per field) as normalized rows.

    Null entries become NaN. A field whose list does not hold one entry per contract cannot be
    aligned and is dropped (logged); side, strike, expiration and underlying then come from the OCC
    option symbol (the API's own documented example has 96 `side` entries for 92 contracts).
    `ticker` fills a missing underlying; `quote_date` is the New York date of `updated`. Every column
    is built with numpy and the frame once: pandas costs per call, and a scan parses hundreds of small chains.
    """
    return pd.DataFrame(chain_columns(payload, ticker), columns=list(CHAIN_COLUMNS))


def chain_columns(payload: Mapping[str, Any], ticker: str | None = None) -> dict[str, np.ndarray]:
    """`chain_frame` as numpy columns, so a scan cuts its slice before paying for a frame."""
    raw = {name: _aligned(payload, source) for name, source in _SOURCES.items()}
    columns: dict[str, Any] = {name: _numbers(raw[name]) for name in NUMERIC_COLUMNS}
    columns["expiration"] = _epoch_dates(raw["expiration"])
    columns["quote_date"] = _epoch_dates(raw["quote_date"])
    columns["ticker"] = _texts(raw["ticker"], str.upper)
    columns["side"] = _texts(raw["side"], str.lower)
    columns["option_symbol"] = _texts(raw["option_symbol"])
    if not np.isin(columns["side"], SIDES).all() or np.isnan(columns["strike"]).any() \
            or pd.isna(columns["expiration"]).any() or pd.isna(columns["ticker"]).any():
        _from_symbols(columns, ticker)
    return columns


EARNINGS_HORIZON = timedelta(days=400)  # the earnings asked for run from the quote date this far: past a quarter
EARNINGS_REFUSED = (401, 402, 403)  # a plan without the premium earnings endpoint (or a key it does not take)


def earnings_reports(payload: Mapping[str, Any]) -> list[tuple[date, EarningsTime]]:
    """An earnings answer's (reportDate, reportTime) pairs; `date` is the fiscal period's end, not the report's.
    Entries whose reportDate cannot be read (garbage, nulls, lists out of step) are skipped."""
    days, times = payload.get("reportDate"), payload.get("reportTime")
    if not isinstance(days, list):
        return []
    if not isinstance(times, list) or len(times) != len(days):
        times = [None] * len(days)
    reports = []
    for value, time in zip(days, times, strict=True):
        day = _report_day(value)
        if day is not None:
            reports.append((day, EarningsTime.read(time)))
    return reports


def _report_day(value: Any) -> date | None:
    """A reportDate as a New York date: unix seconds (the default) or an ISO date (dateformat=timestamp)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return _epoch_date(float(value))
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


class MarketDataProvider(Registered):
    """Live chains from the MarketData.app REST API (DESIGN "Data sources": marketdata)."""

    def __init__(self, settings: Settings, retry: RetryPolicy = RetryPolicy(),
                 now: Callable[[], datetime] | None = None) -> None:
        if not settings.md_api_key:
            raise ConfigError("MD_API_KEY is not set: the marketdata source needs a MarketData.app token")
        self.client = HttpClient(settings.md_url_base, settings.md_api_key, concurrency=settings.concurrency,
                                 requests_per_second=settings.requests_per_second, timeout=settings.http_timeout,
                                 retry=retry)
        self._pool = ThreadPoolExecutor(max_workers=self.client.concurrency, thread_name_prefix="marketdata")
        self._rate, self._dividend_yield = settings.risk_free_rate, settings.dividend_yield
        self._now = now
        self._earnings_refused = ""  # once refused, this scan asks no more: every ticker's earnings are unknown

    def quote_date(self, request: ChainRequest) -> date:
        return live_quote_date(request, self._now)

    def usage(self) -> dict[str, int]:
        """Scan-hash fields: credits this provider's requests consumed, and the plan's credits left."""
        usage = self.client.usage
        fields = {"credits_used": usage.consumed}
        if usage.remaining is not None:
            fields["credits_remaining"] = usage.remaining
        return fields

    def fetch(self, ticker: str, request: ChainRequest) -> pd.DataFrame:
        symbol = str(ticker).strip().upper()
        if not symbol:
            raise ProviderError("empty ticker")
        quote_date = self.quote_date(request)
        params: dict[str, str | int] = {"range": "otm", "strikeLimit": request.strike_limit}
        if len(request.sides) == 1:
            params["side"] = request.sides[0]
        if request.as_of:
            params["date"] = request.as_of.isoformat()
        futures = [self._pool.submit(self._chain, symbol, expiration, params)
                   for expiration in self._expirations(symbol, request, quote_date)]
        payloads = [payload for payload in _results(futures) if payload is not None]
        if not payloads:
            return empty_chain()
        columns = chain_columns(merge_chains(payloads), symbol)
        kept = nearest_otm_positions(columns["ticker"], columns["side"], columns["expiration"], columns["strike"],
                                     columns["underlying_price"], request.sides, request.strike_limit)
        columns["quote_date"][pd.isna(columns["quote_date"])] = quote_date
        chain = pd.DataFrame({name: columns[name][kept] for name in CHAIN_COLUMNS}, copy=False)
        return fill_delta(chain, quote_date, self._rate, self._dividend_yield)

    def option_quotes(self, option_symbols: list[str], request: ChainRequest) -> pd.DataFrame:
        """Contracts by OCC symbol from `/options/quotes/{optionSymbol}/` (one request, one credit, each; the answer
        is chain-shaped): an open short option a scan's OTM chain no longer holds, in the money."""
        quote_date = self.quote_date(request)
        params = {"date": request.as_of.isoformat()} if request.as_of else {}
        futures = [self._pool.submit(self._ok_payload, symbol, f"options/quotes/{quote(symbol, safe='')}/", params)
                   for symbol in option_symbols]
        payloads = [payload for payload in _results(futures) if payload is not None]
        if not payloads:
            return empty_chain()
        columns = chain_columns(merge_chains(payloads))
        columns["quote_date"][pd.isna(columns["quote_date"])] = quote_date
        chain = pd.DataFrame({name: columns[name] for name in CHAIN_COLUMNS}, copy=False)
        return fill_delta(chain, quote_date, self._rate, self._dividend_yield)

    def events(self, ticker: str, as_of: date) -> TickerEvents:
        """The next report from `/stocks/earnings/` (a premium endpoint: refused, the scan's earnings are unknown and
        noted once); MarketData has no dividend endpoint, so ex-dividend dates stay unknown. A known next report
        covers the days before it; an answer without one covers nothing."""
        if self._earnings_refused:
            return TickerEvents(note=self._earnings_refused)
        symbol = str(ticker).strip().upper()
        reply = self.client.get(f"stocks/earnings/{quote(symbol, safe='')}/",
                                {"from": as_of.isoformat(), "to": (as_of + EARNINGS_HORIZON).isoformat()})
        if reply.status in EARNINGS_REFUSED:
            self._earnings_refused = ("earnings unknown: MarketData refused its earnings endpoint "
                                      f"(HTTP {reply.status}, a premium plan's)")
            return TickerEvents(note=self._earnings_refused)
        payload = reply.payload if isinstance(reply.payload, dict) else {}
        if reply.status == 204 or payload.get("s") == "no_data":
            return TickerEvents()
        if reply.status not in (200, 203) or payload.get("s") != "ok":
            raise ProviderError(self.client.redact(f"{symbol}: unexpected MarketData earnings answer "
                                                   f"(HTTP {reply.status}, status {payload.get('s')!r})"))
        found = next_report(earnings_reports(payload), as_of)
        if found is None:
            return TickerEvents()
        return TickerEvents(earnings_date=found[0], earnings_time=found[1], earnings_known_through=found[0])

    def candles(self, ticker: str, as_of: date) -> DailyCloses:
        """Daily closes from `/stocks/candles/D/{symbol}/?from=&to=` (`c` and `t` in unix seconds, one per session),
        up to the day before `as_of`."""
        symbol = str(ticker).strip().upper()
        payload = self._ok_payload(symbol, f"stocks/candles/D/{quote(symbol, safe='')}/",
                                   {"from": window_start(as_of).isoformat(),
                                    "to": (as_of - timedelta(days=1)).isoformat()})
        if payload is None:
            return DailyCloses()
        closes, stamps = payload.get("c"), payload.get("t")
        if not isinstance(closes, list) or not isinstance(stamps, list) or len(closes) != len(stamps):
            raise ProviderError(f"{symbol}: malformed MarketData candles (c and t differ)")
        return DailyCloses.of(((_epoch_date(float(stamp)), close) for stamp, close in zip(stamps, closes, strict=True)
                               if isinstance(stamp, int | float)), before=as_of)

    def _expirations(self, symbol: str, request: ChainRequest, quote_date: date) -> list[date]:
        """The next `weeks` weeklies from the NYSE calendar (nothing paid for), or the listed ones in the DTE window."""
        if request.dte_window is None:
            return weekly_expirations(quote_date, request.weeks)
        params = {"date": request.as_of.isoformat()} if request.as_of else {}
        payload = self._ok_payload(symbol, f"options/expirations/{quote(symbol, safe='')}/", params)
        listed = payload.get("expirations") if payload is not None else None
        if not isinstance(listed, list):
            return []
        return request.in_window(_listed_dates(listed), quote_date)

    def _chain(self, symbol: str, expiration: date, params: Mapping[str, str | int]) -> dict[str, Any] | None:
        """One expiration's `s: ok` payload; None for no contracts (204, `no_data`), which is not an error."""
        return self._ok_payload(symbol, f"options/chain/{quote(symbol, safe='')}/",
                                {**params, "expiration": expiration.isoformat()})

    def _ok_payload(self, symbol: str, path: str, params: Mapping[str, str | int]) -> dict[str, Any] | None:
        """An `s: ok` payload of `path`; None for nothing there (204, `no_data`), which is not an error."""
        reply = self.client.get(path, params)
        if reply.status == 401:
            raise ProviderFatal("MarketData refused the API key (HTTP 401): check MD_API_KEY")
        if reply.status == 204:
            return None
        payload = reply.payload
        status = payload.get("s") if isinstance(payload, dict) else None
        if status == "no_data":
            return None
        if status == "error":
            message = f"MarketData error (HTTP {reply.status}): {payload.get('errmsg') or 'no message'}"
        elif reply.status not in (200, 203) or status != "ok":
            message = f"unexpected MarketData answer (HTTP {reply.status}, " + (
                "no JSON body)" if payload is None else f"status {status!r})")
        else:
            return payload
        raise ProviderError(self.client.redact(f"{symbol}: {message}"))


def _listed_dates(values: list[Any]) -> list[date]:
    """The readable YYYY-MM-DD dates of an expirations answer (anything else skipped)."""
    dates = []
    for value in values:
        try:
            dates.append(date.fromisoformat(str(value)))
        except ValueError:
            log.warning("MarketData listed an unreadable expiration %r; skipped", value)
    return dates


def _results(futures: list[Future]) -> list[dict[str, Any] | None]:
    """Every future's payload; a ProviderFatal wins over a ProviderError, which wins over success."""
    frames, errors = [], []
    for future in futures:
        try:
            frames.append(future.result())
        except ProviderError as exc:
            errors.append(exc)
    fatal = [exc for exc in errors if isinstance(exc, ProviderFatal)]
    if fatal or errors:
        raise (fatal or errors)[0]
    return frames
