"""MarketData.app (the original app's source): one chain request per ticker and weekly expiration.

Credits are spent per contract returned, so the API's own filters cut every chain before it is sent:
`expiration` (one weekly date per request, computed from the NYSE calendar, so no expirations lookup
is paid for), `range=otm`, `strikeLimit` and `side` (omitted for both sides: with `range` set,
`strikeLimit` then applies to each side, one request instead of two). `--as-of` asks for that day's
end-of-day chain (`date`). A ticker's expirations are requested concurrently on a pool shared by all
tickers, so at most SCANNER_CONCURRENCY requests are ever in flight.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date, datetime
from typing import Any, Callable, Mapping
from urllib.parse import quote

import pandas as pd

from scanner.config import ConfigError, Settings
from scanner.market_hours import NY, today_ny, weekly_expirations
from scanner.providers.base import ChainRequest, ProviderError, ProviderFatal
from scanner.providers.chains import empty_chain, fill_delta, nearest_otm, normalized
from scanner.providers.httpclient import HttpClient, RetryPolicy

log = logging.getLogger(__name__)

_FIELDS = {  # normalized column <- MarketData chain field
    "ticker": "underlying", "side": "side", "expiration": "expiration", "strike": "strike", "bid": "bid",
    "ask": "ask", "last": "last", "volume": "volume", "open_interest": "openInterest", "iv": "iv",
    "delta": "delta", "underlying_price": "underlyingPrice", "option_symbol": "optionSymbol",
}


def _ny_dates(epochs: pd.Series) -> pd.Series:
    """Unix seconds as New York calendar dates (NaT where missing or junk)."""
    stamps = pd.to_datetime(pd.to_numeric(epochs, errors="coerce"), unit="s", utc=True)
    return stamps.dt.tz_convert(NY).dt.date


_OCC = r"^(?P<root>[A-Z0-9.]+?)(?P<expiration>\d{6})(?P<side>[CP])(?P<strike>\d{8})$"


def chain_frame(payload: Mapping[str, Any], ticker: str | None = None) -> pd.DataFrame:
    """A MarketData chain response (`s: ok`, one list per field) as normalized rows.

    Null entries become NaN. A field whose list does not hold one entry per contract cannot be
    aligned and is dropped (logged); side, strike, expiration and underlying then come from the OCC
    option symbol, which is authoritative for side (the API's own documented example has 96 `side`
    entries for 92 contracts). `ticker` fills a missing underlying; `quote_date` is the date of `updated`.
    """
    symbols = payload.get("optionSymbol")
    if not isinstance(symbols, list):
        raise ProviderError("malformed MarketData chain: no optionSymbol list")
    n = len(symbols)
    columns: dict[str, Any] = {}
    for name, source in (*_FIELDS.items(), ("quote_date", "updated")):
        values = payload.get(source)
        if values is not None and (not isinstance(values, list) or len(values) != n):
            log.warning("MarketData chain field %r holds %s entries for %d contracts; ignored", source,
                        len(values) if isinstance(values, list) else "no list of", n)
            values = None
        columns[name] = [None] * n if values is None else values
    frame = pd.DataFrame(columns)
    occ = frame["option_symbol"].astype("string").str.strip().str.extract(_OCC)
    frame["side"] = occ["side"].map({"C": "call", "P": "put"}).fillna(frame["side"])
    frame["strike"] = pd.to_numeric(frame["strike"], errors="coerce").fillna(pd.to_numeric(occ["strike"]) / 1000)
    frame["ticker"] = frame["ticker"].fillna(ticker if ticker is not None else occ["root"])
    expiration = _ny_dates(frame["expiration"])
    frame["expiration"] = expiration.fillna(pd.to_datetime(occ["expiration"], format="%y%m%d", errors="coerce").dt.date)
    frame["quote_date"] = _ny_dates(frame["quote_date"])
    return normalized(frame)


class MarketDataProvider:
    """Live chains from the MarketData.app REST API (DESIGN "Data sources": marketdata)."""

    name = "marketdata"
    label = "MarketData.app"
    simulated = False
    live = True

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

    def quote_date(self, request: ChainRequest) -> date:
        return request.as_of or today_ny(self._now() if self._now else None)

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
                   for expiration in weekly_expirations(quote_date, request.weeks)]
        frames = _results(futures)
        frames = [frame for frame in frames if len(frame)]
        if not frames:
            return empty_chain()
        chain = nearest_otm(pd.concat(frames, ignore_index=True), request.sides, request.strike_limit)
        chain["quote_date"] = chain["quote_date"].fillna(quote_date)
        return fill_delta(chain, quote_date, self._rate, self._dividend_yield)

    def _chain(self, symbol: str, expiration: date, params: Mapping[str, str | int]) -> pd.DataFrame:
        """One expiration's chain; no contracts (204, `no_data`) is an empty frame, not an error."""
        reply = self.client.get(f"options/chain/{quote(symbol, safe='')}/", {**params, "expiration": expiration.isoformat()})
        if reply.status == 401:
            raise ProviderFatal("MarketData refused the API key (HTTP 401): check MD_API_KEY")
        if reply.status == 204:
            return empty_chain()
        payload = reply.payload
        status = payload.get("s") if isinstance(payload, dict) else None
        if status == "no_data":
            return empty_chain()
        if status == "error":
            message = f"MarketData error (HTTP {reply.status}): {payload.get('errmsg') or 'no message'}"
        elif reply.status not in (200, 203) or status != "ok":
            message = f"unexpected MarketData answer (HTTP {reply.status}, " + (
                "no JSON body)" if payload is None else f"status {status!r})")
        else:
            return chain_frame(payload, symbol)
        raise ProviderError(self.client.redact(f"{symbol}: {message}"))


def _results(futures: list[Future]) -> list[pd.DataFrame]:
    """Every future's frame; a ProviderFatal wins over a ProviderError, which wins over success."""
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
