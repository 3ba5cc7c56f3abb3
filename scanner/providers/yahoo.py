"""Yahoo Finance through yfinance: whole chains per expiration, no greeks, so delta comes from IV.

Yahoo's quotes outside market hours are unreliable: bids of 0 and IVs like 2.0 or 1e-5 come from its
model, not from the market. A quote with bid 0, no IV or an IV outside (0, MAX_TRUSTED_IV] therefore
gets neither IV nor delta (screening would otherwise derive a delta from the junk IV) and never matches.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import yfinance
from yfinance.exceptions import YFRateLimitError

from scanner.config import Settings
from scanner.errors import ProviderError
from scanner.market import blackscholes
from scanner.market.calendar import weekly_expirations
from scanner.market.candles import DailyCloses, window_start
from scanner.market.events import EarningsTime, TickerEvents
from scanner.providers.base import ChainRequest, Registered, live_quote_date
from scanner.providers.chains import empty_chain, fill_delta, nearest_otm, normalized, positive_number
from scanner.providers.httpclient import RetryPolicy
from scanner.scan.book import quotes_by_symbol
from scanner.scan.positions import Contract

log = logging.getLogger(__name__)
T = TypeVar("T")

_FIELDS = {  # normalized column <- yfinance option_chain column
    "option_symbol": "contractSymbol", "strike": "strike", "last": "lastPrice", "bid": "bid", "ask": "ask",
    "volume": "volume", "open_interest": "openInterest", "iv": "impliedVolatility",
}
_YAHOO_RETRY = RetryPolicy(attempts=4, backoff_base=2.0, backoff_cap=30.0)  # Yahoo's throttle lasts longer


class YahooProvider(Registered):
    """Delayed chains from Yahoo Finance (DESIGN "Data sources": yahoo)."""

    def __init__(self, settings: Settings, ticker_factory: Callable[[str], Any] = yfinance.Ticker,
                 retry: RetryPolicy = _YAHOO_RETRY, sleep: Callable[[float], None] = time.sleep,
                 now: Callable[[], datetime] | None = None) -> None:
        self._ticker_factory = ticker_factory
        self._retry, self._sleep, self._now = retry, sleep, now
        self._rate, self._dividend_yield = settings.risk_free_rate, settings.dividend_yield

    def quote_date(self, request: ChainRequest) -> date:
        return live_quote_date(request, self._now)

    def fetch(self, ticker: str, request: ChainRequest) -> pd.DataFrame:
        symbol = str(ticker).strip().upper()
        quote_date = self.quote_date(request)
        handle = self._ticker_factory(symbol)
        listed = set(self._call(symbol, lambda: tuple(handle.options)))
        if not listed:  # yfinance's answer to a symbol Yahoo does not know (an empty result or a 404)
            raise ProviderError(f"{symbol}: Yahoo Finance lists no option expirations (unknown symbol?)")
        wanted = [d.isoformat() for d in _wanted(listed, request, quote_date)]
        frames = [self._expiration(symbol, handle, expiration, request.sides, quote_date) for expiration in wanted]
        frames = [frame for frame in frames if len(frame)]
        if not frames:
            return empty_chain()
        chain = nearest_otm(pd.concat(frames, ignore_index=True), request.sides, request.strike_limit)
        return fill_delta(chain, quote_date, self._rate, self._dividend_yield, iv_from_mid=False)

    def option_quotes(self, option_symbols: list[str], request: ChainRequest) -> pd.DataFrame:
        """Contracts by OCC symbol (an open short option in the money, or of an expiration the scan does not take):
        the chain of each contract's expiration, whole, and the contract picked from it."""
        quote_date = self.quote_date(request)

        def expiration_chains(ticker: str, contracts: list[Contract]) -> pd.DataFrame:
            handle = self._ticker_factory(ticker)
            sides = tuple(sorted({contract.side.value for contract in contracts}))
            return pd.concat([self._expiration(ticker, handle, day.isoformat(), sides, quote_date)
                              for day in sorted({contract.expiration for contract in contracts})], ignore_index=True)

        quotes = quotes_by_symbol(option_symbols, expiration_chains, "Yahoo Finance")
        return (fill_delta(quotes, quote_date, self._rate, self._dividend_yield, iv_from_mid=False) if len(quotes)
                else quotes)

    def events(self, ticker: str, as_of: date) -> TickerEvents:
        """From `Ticker.calendar`: the earlier of its earnings dates (Yahoo gives two, a range, until the date is
        confirmed; no time of day), and its ex-dividend date, whose amount it does not give. A date already past
        says nothing of the next one: unknown."""
        symbol = str(ticker).strip().upper()
        handle = self._ticker_factory(symbol)
        calendar = self._call(symbol, lambda: handle.calendar)
        calendar = calendar if isinstance(calendar, dict) else {}
        earnings = min((day for day in _dates(calendar.get("Earnings Date")) if day >= as_of), default=None)
        ex_dividend = next((day for day in _dates([calendar.get("Ex-Dividend Date")]) if day > as_of), None)
        return TickerEvents(earnings_date=earnings, earnings_time=EarningsTime.UNKNOWN,
                            ex_dividend_date=ex_dividend, earnings_known_through=earnings,
                            dividends_known_through=ex_dividend)

    def candles(self, ticker: str, as_of: date) -> DailyCloses:
        """Daily closes from `Ticker.history()` (split- and dividend-adjusted, as log returns want them), the
        sessions before `as_of` (yfinance's `end` is exclusive)."""
        symbol = str(ticker).strip().upper()
        handle = self._ticker_factory(symbol)
        history = self._call(symbol, lambda: handle.history(start=window_start(as_of).isoformat(),
                                                            end=as_of.isoformat(), interval="1d"))
        if not isinstance(history, pd.DataFrame) or "Close" not in history or history.empty:
            return DailyCloses()
        days = [stamp.date() for stamp in pd.DatetimeIndex(history.index)]
        return DailyCloses.of(zip(days, history["Close"], strict=True), before=as_of)

    def _expiration(self, symbol: str, handle: Any, expiration: str, sides: tuple[str, ...],
                    quote_date: date) -> pd.DataFrame:
        chain = self._call(symbol, lambda: handle.option_chain(expiration))
        spot = positive_number((chain.underlying or {}).get("regularMarketPrice"))
        if spot is None:  # the chain's quote lacks a price: ask the ticker itself
            spot = positive_number(self._call(symbol, lambda: handle.fast_info["lastPrice"]))
        if spot is None:
            raise ProviderError(f"{symbol}: Yahoo Finance gave no underlying price")
        frames = []
        for side in sides:
            quotes = getattr(chain, "calls" if side == "call" else "puts")
            if quotes is None or quotes.empty:
                continue
            frame = pd.DataFrame({name: quotes.get(source, np.nan) for name, source in _FIELDS.items()})
            frame = frame.assign(ticker=symbol, side=side, expiration=date.fromisoformat(expiration),
                                 underlying_price=spot, quote_date=quote_date, delta=np.nan)
            frames.append(frame)
        if not frames:
            return empty_chain()
        rows = normalized(pd.concat(frames, ignore_index=True))
        junk = ~((rows["bid"] > 0) & (rows["iv"] > 0) & (rows["iv"] <= blackscholes.MAX_TRUSTED_IV))
        rows.loc[junk, "iv"] = np.nan
        return rows

    def _call(self, symbol: str, action: Callable[[], T]) -> T:
        """`action`, retried with backoff while Yahoo throttles; other failures are this ticker's error."""
        for attempt in range(1, self._retry.attempts + 1):
            try:
                return action()
            except YFRateLimitError:
                if attempt == self._retry.attempts:
                    raise ProviderError(f"{symbol}: Yahoo Finance is rate limiting ({attempt} attempts)") from None
                delay = self._retry.backoff(attempt)
                log.warning("Yahoo Finance rate limit on %s; retry %d in %.1f s", symbol, attempt, delay)
                self._sleep(delay)
            except Exception as exc:  # yfinance raises anything from KeyError to JSON errors for odd symbols
                raise ProviderError(f"{symbol}: Yahoo Finance failed ({type(exc).__name__}: {exc})") from None
        raise AssertionError("unreachable")


def _wanted(listed: set[str], request: ChainRequest, quote_date: date) -> list[date]:
    """The next `weeks` weeklies Yahoo lists, or every listed expiration in the DTE window."""
    if request.dte_window is None:
        return [day for day in weekly_expirations(quote_date, request.weeks) if day.isoformat() in listed]
    readable = []
    for text in listed:
        try:
            readable.append(date.fromisoformat(text))
        except ValueError:  # not a date: nothing to fetch for it
            continue
    return request.in_window(readable, quote_date)


def _dates(values: Any) -> list[date]:
    """The calendar dates among `values` (yfinance gives dates; anything else is skipped)."""
    if not isinstance(values, (list, tuple)):
        return []
    return [value.date() if isinstance(value, datetime) else value for value in values if isinstance(value, date)]
