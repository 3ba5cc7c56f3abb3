"""Tradier's market-data API (`tradier`): listed expirations, chains with ORATS greeks, the underlying's quote.

Per ticker: `/markets/options/expirations` (`includeAllRoots=true`, so no listed date is missed), the chain of
each expiration the request wants (`/markets/options/chains`, `greeks=true`: `greeks.delta`, `greeks.mid_iv`), and
`/markets/quotes` for the underlying price, which the chains do not carry. The API filters nothing by moneyness, so
the slice (sides, OTM, strike limit) is cut here. With every root listed come adjusted contracts (a deliverable
other than 100 shares after a split or merger, roots such as AAPL1): only standard ones (root = the symbol,
100 shares) are kept, as their premiums are what the screening rules are about; an index's differently named
weekly root (SPXW beside SPX) is dropped by the same rule.

Tradier's JSON turns a list of one into the object itself and an empty list into null (`"options": null`,
`"expirations": {"date": "2026-12-04"}`), so every list goes through `_many`. `greeks` is null on some rows:
their delta then comes from the IV their mid implies (`fill_delta`), or they have none and never match. Rate
limits (`X-Ratelimit-*`, a 429 when spent) are paced by the HTTP client (TRADIER_LIMITS). The sandbox's quotes are
delayed, and its label says so. The market API has no earnings or dividend dates: events come from the source the
registry names as its stand-in (Yahoo's calendar) when that is installed, else they are unknown.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from functools import cached_property
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import pandas as pd

from scanner.config import Settings
from scanner.errors import ConfigError, ProviderError, ProviderFatal
from scanner.market.candles import NO_CLOSES, DailyCloses
from scanner.market.events import UNKNOWN, TickerEvents
from scanner.providers import registry
from scanner.providers.base import ChainRequest, Provider, Registered, live_quote_date
from scanner.providers.chains import empty_chain, fill_delta, nearest_otm, normalized
from scanner.providers.httpclient import TRADIER_LIMITS, HttpClient, RetryPolicy
from scanner.scan.book import quotes_by_symbol
from scanner.scan.positions import Contract

log = logging.getLogger(__name__)

SANDBOX_HOST = "sandbox.tradier.com"
SANDBOX_DELAY = "delayed 15 min"  # Tradier's sandbox serves quotes 15 minutes late
STANDARD_SHARES = 100
_FIELDS = {  # normalized column <- Tradier option field
    "option_symbol": "symbol", "side": "option_type", "strike": "strike", "bid": "bid", "ask": "ask", "last": "last",
    "volume": "volume", "open_interest": "open_interest",
}
_GREEKS = {"delta": "delta", "iv": "mid_iv"}  # normalized column <- field of the option's `greeks` object


def _many(value: Any) -> list[Any]:
    """Tradier's one-or-many: a list as it is, a lone object as a list of one, null (or absent) as none."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _member(payload: Any, *names: str) -> Any:
    """`payload[names[0]][names[1]]...`, None where a level is missing or not an object (`"options": null`)."""
    for name in names:
        payload = payload.get(name) if isinstance(payload, dict) else None
    return payload


def listed_expirations(payload: Any) -> list[date]:
    """The readable dates of an expirations answer (`{"expirations": {"date": [...] | "..."}}` or null)."""
    days = []
    for value in _many(_member(payload, "expirations", "date")):
        try:
            days.append(date.fromisoformat(str(value)))
        except ValueError:
            log.warning("Tradier listed an unreadable expiration %r; skipped", value)
    return days


def standard_contracts(payload: Any, symbol: str) -> list[dict[str, Any]]:
    """A chain answer's contracts on the symbol's own root for 100 shares (adjusted and other roots dropped)."""
    options = [option for option in _many(_member(payload, "options", "option")) if isinstance(option, dict)]
    return [option for option in options
            if option.get("root_symbol") == symbol and _number(option.get("contract_size")) == STANDARD_SHARES]


def chain_rows(contracts: list[dict[str, Any]], symbol: str, spot: float, quote_date: date) -> pd.DataFrame:
    """Tradier contracts as normalized rows: `greeks.delta`, `greeks.mid_iv` (a fraction; 0, ORATS' "none", as
    missing), or neither where `greeks` is null."""
    if not contracts:
        return empty_chain()
    frame = pd.DataFrame({name: [option.get(source) for option in contracts] for name, source in _FIELDS.items()})
    for name, source in _GREEKS.items():
        frame[name] = [_member(option, "greeks", source) for option in contracts]
    expiration = pd.to_datetime(pd.Series([option.get("expiration_date") for option in contracts], dtype=object),
                                format="%Y-%m-%d", errors="coerce")
    frame = frame.assign(ticker=symbol, expiration=expiration.dt.date.to_numpy(dtype=object), underlying_price=spot,
                         quote_date=quote_date)
    rows = normalized(frame)
    rows.loc[~(rows["iv"] > 0), "iv"] = np.nan
    return rows


def stock_price(payload: Any, symbol: str) -> float:
    """The symbol's last trade (else its previous close) in a `/markets/quotes` answer; ProviderError without."""
    quote = next((quote for quote in _many(_member(payload, "quotes", "quote"))
                  if isinstance(quote, dict) and str(quote.get("symbol", "")).upper() == symbol), {})
    for field in ("last", "prevclose"):
        price = _number(quote.get(field))
        if price is not None and price > 0:
            return price
    raise ProviderError(f"{symbol}: Tradier has no quote for it (unknown symbol?)")


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


class TradierProvider(Registered):
    """Chains from Tradier's brokerage API (DESIGN "Data sources": tradier)."""

    def __init__(self, settings: Settings, retry: RetryPolicy = RetryPolicy(),
                 now: Callable[[], datetime] | None = None) -> None:
        if not settings.tradier_token:
            raise ConfigError("TRADIER_TOKEN is not set: the tradier source needs a Tradier API access token")
        self.client = HttpClient(settings.tradier_url_base, settings.tradier_token, concurrency=settings.concurrency,
                                 requests_per_second=settings.requests_per_second, timeout=settings.http_timeout,
                                 retry=retry, service="Tradier", limits=TRADIER_LIMITS)
        self.sandbox = urlsplit(settings.tradier_url_base).hostname == SANDBOX_HOST
        self._pool = ThreadPoolExecutor(max_workers=self.client.concurrency, thread_name_prefix="tradier")
        self._rate, self._dividend_yield = settings.risk_free_rate, settings.dividend_yield
        self._now = now
        self._settings = settings

    @property
    def label(self) -> str:
        """The registry's label; the sandbox's names its delay."""
        return f"{super().label} sandbox ({SANDBOX_DELAY})" if self.sandbox else super().label

    def quote_date(self, request: ChainRequest) -> date:
        return live_quote_date(request, self._now)

    @cached_property
    def stand_in(self) -> Provider | None:
        """What the registry names for the events Tradier's market API lacks (Yahoo's calendar), None when unusable
        here; built on the first events asked for, so a scan without them never loads yfinance."""
        return registry.stand_in(self.name, self._settings)

    def events(self, ticker: str, as_of: date) -> TickerEvents:
        """None from Tradier's market API: the stand-in's, else unknown."""
        return UNKNOWN if self.stand_in is None else self.stand_in.events(ticker, as_of)

    def candles(self, ticker: str, as_of: date) -> DailyCloses:
        """The stand-in's daily closes (Yahoo's), else none."""
        return NO_CLOSES if self.stand_in is None else self.stand_in.candles(ticker, as_of)

    def fetch(self, ticker: str, request: ChainRequest) -> pd.DataFrame:
        symbol = str(ticker).strip().upper()
        if not symbol:
            raise ProviderError("empty ticker")
        quote_date = self.quote_date(request)
        listed = listed_expirations(self._payload(symbol, "markets/options/expirations",
                                                  {"symbol": symbol, "includeAllRoots": "true"}))
        wanted = request.listed_to_fetch(listed, quote_date)
        if not wanted:
            return empty_chain()
        spot = self._pool.submit(self._spot, symbol)
        chains = [self._pool.submit(self._payload, symbol, "markets/options/chains",
                                    {"symbol": symbol, "expiration": day.isoformat(), "greeks": "true"})
                  for day in wanted]
        contracts = [option for chain in chains for option in standard_contracts(chain.result(), symbol)]
        rows = chain_rows(contracts, symbol, spot.result(), quote_date)
        if rows.empty:
            return rows
        chain = nearest_otm(rows, request.sides, request.strike_limit)
        return fill_delta(chain, quote_date, self._rate, self._dividend_yield)

    def option_quotes(self, option_symbols: list[str], request: ChainRequest) -> pd.DataFrame:
        """Contracts by OCC symbol (an open short option in the money, or of an expiration the scan does not take):
        one `/markets/quotes` per ticker naming the stock and its contracts (`greeks=true`), whose option quotes
        carry a chain's fields."""
        quote_date = self.quote_date(request)

        def quoted(ticker: str, contracts: list[Contract]) -> pd.DataFrame:
            symbols = [ticker, *(contract.option_symbol for contract in contracts)]
            payload = self._payload(ticker, "markets/quotes", {"symbols": ",".join(symbols), "greeks": "true"})
            options = [quote for quote in _many(_member(payload, "quotes", "quote"))
                       if isinstance(quote, dict) and quote.get("type") == "option"]
            return chain_rows(options, ticker, stock_price(payload, ticker), quote_date)

        quotes = quotes_by_symbol(option_symbols, quoted, "Tradier")
        return fill_delta(quotes, quote_date, self._rate, self._dividend_yield) if len(quotes) else quotes

    def _spot(self, symbol: str) -> float:
        """The underlying's last trade (else its previous close) from `/markets/quotes`."""
        return stock_price(self._payload(symbol, "markets/quotes", {"symbols": symbol}), symbol)

    def _payload(self, symbol: str, path: str, params: Mapping[str, str]) -> dict[str, Any]:
        """The JSON object `path` answers; ProviderFatal for a refused token, ProviderError for anything else."""
        reply = self.client.get(path, params)
        if reply.status == 401:
            raise ProviderFatal("Tradier refused the token (HTTP 401): check TRADIER_TOKEN and TRADIER_URL_BASE "
                                "(a sandbox token works only on the sandbox)")
        if reply.status == 200 and isinstance(reply.payload, dict):
            return reply.payload
        detail = _member(reply.payload, "fault", "faultstring") or _member(reply.payload, "errors", "error")
        detail = "; ".join(map(str, _many(detail))) or ("no JSON body" if reply.payload is None else "no message")
        raise ProviderError(self.client.redact(f"{symbol}: Tradier error (HTTP {reply.status}): {detail}"))
