"""A scan's volatility figures per ticker (DESIGN "Volatility"): its closes looked up in the fetch worker, the figures
added to the screened rows of a batch of tickers by the scan's writer.

For each ticker: its daily closes (from ``candles:<ticker>``, else asked of the source and cached to midnight) give
HV20 and HV60; its IV30 (the source's own when it publishes one, as Cboe does, else interpolated from the chain's
per-expiration ATM IV) is recorded as the session's point of ``iv:<source>:<ticker>`` and the window read back in
the same round trip gives the IV rank and percentile. Nothing here fails a ticker: a source without history, a
failing source or Redis trouble leaves the figures empty and the chain is stored all the same.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import pandas as pd
import redis

from scanner.errors import REDIS_ERRORS
from scanner.market.calendar import NY
from scanner.market.candles import NO_CLOSES, DailyCloses
from scanner.market.volatility import IvStanding, iv30, iv_standing
from scanner.providers.base import Provider
from scanner.scan.day_cache import DayCache
from scanner.store.iv_history import IvHistory, IvPoint, session_of
from scanner.store.keys import Keys

log = logging.getLogger(__name__)
NO_STANDING = IvStanding(math.nan, math.nan, 0)


@dataclass(frozen=True)
class TickerVolatility:
    """One ticker's figures as its rows carry them (NaN where not known)."""

    iv30: float = math.nan
    standing: IvStanding = NO_STANDING
    hv20: float = math.nan
    hv60: float = math.nan

    def columns(self) -> dict[str, float | int | None]:
        """The schema's volatility columns (Role.TICKER), one value each for every row of the ticker."""
        ratio = self.iv30 / self.hv20 if self.hv20 > 0 else math.nan
        return {"iv30": self.iv30, "iv_rank": self.standing.rank, "iv_percentile": self.standing.percentile,
                "iv_rank_days": self.standing.days or None, "hv20": self.hv20, "hv60": self.hv60,
                "iv_hv_ratio": ratio}


def chain_iv30(provider: Provider, ticker: str, rows: pd.DataFrame) -> float:
    """The source's own IV30 when it publishes one (Cboe's, as is), else the chain's interpolated one."""
    if rows.empty:
        return ticker_iv30(provider, ticker, np.zeros(0), np.zeros(0))
    return ticker_iv30(provider, ticker, rows["dte"].to_numpy(dtype=float, na_value=np.nan),
                       rows["atm_iv"].to_numpy(dtype=float))


def ticker_iv30(provider: Provider, ticker: str, dte: np.ndarray, atm_iv: np.ndarray) -> float:
    """`chain_iv30` on the ticker's rows' `dte` and `atm_iv` values."""
    published = getattr(provider, "published_iv30", None)
    value = published(ticker) if callable(published) else None
    if value is not None:
        return float(value)
    return iv30(dte, atm_iv) if len(dte) else math.nan


def candles_cache(client: redis.Redis, keys: Keys,
                  now: Callable[[], datetime] = lambda: datetime.now(NY)) -> DayCache[DailyCloses]:
    """``candles:<ticker>``: a source's closes per quote date, to the next New York midnight."""
    return DayCache(client, keys.candles, DailyCloses.to_json, DailyCloses.from_json, "closes", now)


def ticker_closes(provider: Provider, cache: DayCache[DailyCloses], ticker: str, as_of: date) -> DailyCloses:
    """`ticker`'s closes as of `as_of`: cached, else asked of `provider` and cached; none (uncached) when the
    source fails for it."""
    return cache.get_or_ask(provider.name, ticker, as_of, lambda: provider.candles(ticker, as_of), NO_CLOSES)


class VolatilityStep:
    """Per scan: each ticker's figures, its IV30 recorded once per source, ticker and session (the last scan of the
    session wins)."""

    def __init__(self, provider: Provider, client: redis.Redis, keys: Keys, as_of: date,
                 now: Callable[[], datetime] = lambda: datetime.now(NY)) -> None:
        self._provider, self._as_of, self._session = provider, as_of, session_of(as_of)
        self._candles = candles_cache(client, keys, now)
        self._history = IvHistory(client, keys)

    def closes(self, ticker: str) -> DailyCloses:
        """The ticker's closes, cached or asked of the source (network and Redis: the fetch worker calls it)."""
        return ticker_closes(self._provider, self._candles, ticker, self._as_of)

    def add(self, rows: pd.DataFrame, positions: Mapping[str, np.ndarray],
            closes: Mapping[str, DailyCloses]) -> pd.DataFrame:
        """`rows` (screen()'s own frame, shared with no one; several tickers' rows, `positions` naming each one's)
        given each ticker's volatility columns in place, one assignment per column for all of them: a copy of the
        frame, or an assignment per ticker, cost more than the figures. The tickers' IV30 points are recorded, and
        their windows read back, in one round trip."""
        dte, atm_iv = rows["dte"].to_numpy(dtype=float, na_value=np.nan), rows["atm_iv"].to_numpy(dtype=float)
        today = {ticker: ticker_iv30(self._provider, ticker, dte[at], atm_iv[at]) for ticker, at in positions.items()}
        standings = self._standings(today, closes)
        columns = {name: np.full(len(rows), np.nan) for name in TickerVolatility().columns()}
        for ticker, at in positions.items():
            known = closes.get(ticker, NO_CLOSES)
            figures = TickerVolatility(today[ticker], standings.get(ticker, NO_STANDING), known.hv20, known.hv60)
            for name, value in figures.columns().items():
                columns[name][at] = np.nan if value is None else value
        for name, values in columns.items():
            rows[name] = values
        return rows

    def _standings(self, today: Mapping[str, float], closes: Mapping[str, DailyCloses]) -> dict[str, IvStanding]:
        """Each ticker's IV rank and percentile once its IV30 (where known) is recorded as the session's point;
        none when Redis fails (the scan goes on without them)."""
        points = {ticker: IvPoint(self._session, iv, closes.get(ticker, NO_CLOSES).hv20)
                  for ticker, iv in today.items() if not math.isnan(iv)}
        try:
            windows = self._history.record(self._provider.name, points)
        except REDIS_ERRORS as exc:
            log.warning("IV history of %d tickers not recorded (%s)", len(points), type(exc).__name__)
            return {}
        return {ticker: iv_standing(np.array([point.iv30 for point in window])) for ticker, window in windows.items()}
