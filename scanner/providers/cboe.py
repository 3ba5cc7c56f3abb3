"""Cboe's free delayed quotes (`cboe`): a ticker's every expiration in one JSON file, 15 minutes late, no key.

`GET {CBOE_URL_BASE}/options/{SYMBOL}.json` answers `data.current_price`, `data.iv30` and `data.options[]`, whose
contracts name their expiration, side and strike only through the OCC symbol (`option`), so those are read from it
(`chains.occ_parts`). One request per ticker holds the whole chain: the request's expirations (weeks or DTE window)
and strikes (OTM, `strike_limit` nearest the money) are selected here. Indexes are filed under a leading
underscore (`_SPX`): a symbol Cboe does not file under its own name is asked for once more as an index.

Cboe publishes this for its web pages, not as an API: requests are paced (DEFAULT_REQUESTS_PER_SECOND unless
SCANNER_REQUESTS_PER_SECOND is set above 0) and say who sends them (USER_AGENT). A contract without a model value
carries iv 0 and greeks 0; its IV and delta are taken as missing (a delta of 0 would pass the put rule), so the
delta comes from the IV its mid implies, or it has none and never matches.

`data.iv30` (Cboe's 30-day implied volatility of the stock, in percent) is what DESIGN "Volatility" records as
is for this source: `published_iv30` hands it over, as a fraction, for the ticker's last fetch.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import date, datetime
from typing import Any
from urllib.parse import quote

import numpy as np
import pandas as pd

from scanner.config import Settings
from scanner.errors import ProviderError
from scanner.providers.base import ChainRequest, Registered, live_quote_date
from scanner.providers.chains import empty_chain, fill_delta, nearest_otm, normalized, occ_parts, positive_number
from scanner.providers.httpclient import HttpClient, RetryPolicy
from scanner.scan.book import quotes_by_symbol
from scanner.scan.positions import Contract

log = logging.getLogger(__name__)

DELAY = "delayed 15 min"
DEFAULT_REQUESTS_PER_SECOND = 2.0
USER_AGENT = ("options-scanner/1.0 (wheel-strategy option screener; reads Cboe delayed quotes, one request per "
              "ticker per scan)")
INDEX_PREFIX = "_"
_NOT_FILED = (403, 404)  # what the CDN answers for a file it does not hold
_FIELDS = {  # normalized column <- Cboe option field
    "option_symbol": "option", "bid": "bid", "ask": "ask", "last": "last_trade_price", "volume": "volume",
    "open_interest": "open_interest", "iv": "iv", "delta": "delta",
}


def chain_rows(payload: Any, symbol: str, quote_date: date) -> pd.DataFrame:
    """A Cboe options file as normalized rows of every listed contract (ProviderError when it holds no price)."""
    data = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(data, dict):
        raise ProviderError(f"{symbol}: malformed Cboe answer (no data object)")
    spot = positive_number(data.get("current_price"))
    if spot is None:
        raise ProviderError(f"{symbol}: Cboe gave no current price")
    options = [option for option in data.get("options") or [] if isinstance(option, dict)]
    if not options:
        return empty_chain()
    frame = pd.DataFrame({name: [option.get(source) for option in options] for name, source in _FIELDS.items()})
    frame = pd.concat([frame, occ_parts(frame["option_symbol"])], axis=1)
    rows = normalized(frame.assign(ticker=symbol, underlying_price=spot, quote_date=quote_date))
    unreadable = rows["expiration"].isna() | rows["side"].isna() | rows["strike"].isna()
    if unreadable.any():
        log.warning("Cboe %s: %d contracts without an OCC symbol skipped", symbol, int(unreadable.sum()))
    rows = rows[~unreadable].reset_index(drop=True)
    unmodelled = ~(rows["iv"] > 0)
    rows.loc[unmodelled, ["iv", "delta"]] = np.nan
    return rows


def published_iv30(payload: Any) -> float | None:
    """`data.iv30` as a fraction (Cboe publishes percent), None when absent or not positive."""
    data = payload.get("data") if isinstance(payload, dict) else None
    value = positive_number(data.get("iv30")) if isinstance(data, dict) else None
    return None if value is None else value / 100


def request_rate(settings: Settings) -> float:
    """Requests per second to Cboe: SCANNER_REQUESTS_PER_SECOND when set above 0, else the modest default."""
    return settings.requests_per_second or DEFAULT_REQUESTS_PER_SECOND


class CboeProvider(Registered):
    """Delayed chains from Cboe's delayed-quotes files (DESIGN "Data sources": cboe)."""

    def __init__(self, settings: Settings, retry: RetryPolicy = RetryPolicy(),
                 now: Callable[[], datetime] | None = None) -> None:
        self.client = HttpClient(settings.cboe_url_base, None, concurrency=settings.concurrency,
                                 requests_per_second=request_rate(settings),
                                 timeout=settings.http_timeout, retry=retry, service="Cboe",
                                 headers={"User-Agent": USER_AGENT})
        self._rate, self._dividend_yield = settings.risk_free_rate, settings.dividend_yield
        self._now = now
        self._iv30: dict[str, float] = {}
        self._lock = threading.Lock()
        self._last_file = threading.local()  # (symbol, payload) of this thread's last fetch: its open contracts' quotes

    def quote_date(self, request: ChainRequest) -> date:
        return live_quote_date(request, self._now)

    def published_iv30(self, ticker: str) -> float | None:
        """Cboe's own IV30 of the ticker (a fraction) from its last fetch, None when Cboe gave none or none was made."""
        with self._lock:
            return self._iv30.get(str(ticker).strip().upper())

    def fetch(self, ticker: str, request: ChainRequest) -> pd.DataFrame:
        symbol = str(ticker).strip().upper()
        if not symbol:
            raise ProviderError("empty ticker")
        quote_date = self.quote_date(request)
        payload = self._options_file(symbol)
        self._last_file.read = (symbol, payload)
        iv30 = published_iv30(payload)
        with self._lock:
            if iv30 is None:
                self._iv30.pop(symbol, None)
            else:
                self._iv30[symbol] = iv30
        rows = chain_rows(payload, symbol, quote_date)
        wanted = request.listed_to_fetch(rows["expiration"], quote_date)
        rows = rows[rows["expiration"].isin(wanted)]
        if rows.empty:
            return empty_chain()
        chain = nearest_otm(rows.reset_index(drop=True), request.sides, request.strike_limit)
        return fill_delta(chain, quote_date, self._rate, self._dividend_yield)

    def option_quotes(self, option_symbols: list[str], request: ChainRequest) -> pd.DataFrame:
        """Contracts by OCC symbol (an open short option in the money, or of an expiration the scan does not take),
        picked from the ticker's file, which lists every contract: the one this thread's fetch of the ticker just
        read (a scan asks right after it), else read again."""
        quote_date = self.quote_date(request)

        def whole_file(ticker: str, _: list[Contract]) -> pd.DataFrame:
            last = getattr(self._last_file, "read", None)
            payload = last[1] if last and last[0] == ticker else self._options_file(ticker)
            return chain_rows(payload, ticker, quote_date)

        quotes = quotes_by_symbol(option_symbols, whole_file, "Cboe")
        return fill_delta(quotes, quote_date, self._rate, self._dividend_yield) if len(quotes) else quotes

    def _options_file(self, symbol: str) -> dict[str, Any]:
        """The symbol's options file, else its index file (`_SPX`); ProviderError when Cboe files neither."""
        for name in (symbol, INDEX_PREFIX + symbol):
            reply = self.client.get(f"options/{quote(name, safe='')}.json")
            if reply.status == 200 and isinstance(reply.payload, dict):
                return reply.payload
            if reply.status not in _NOT_FILED:
                problem = "no JSON object" if reply.status == 200 else f"HTTP {reply.status}"
                raise ProviderError(f"{symbol}: unexpected Cboe answer ({problem})")
        raise ProviderError(f"{symbol}: Cboe publishes no delayed quotes for it (unknown symbol?)")
