"""Backfilling a source's IV30 history (``iv-history backfill``), so the IV rank need not wait 20 sessions of scans.

Each source that knows past chains fills its own ``iv:<source>:<ticker>`` (a demo backfill never reaches a live
source's history): the demo simulates each past session (``DemoProvider.simulated_iv30``, what a scan of that day's
chain would find); MarketData's end-of-day chains are asked with ``date=`` (metered: the plan says what it will cost
and nothing is asked without confirmation); a snapshot folder gives each earlier quote date its files hold. Every
point is the session's IV30 under the stored criteria (sides, weeks or DTE window), with the HV20 of the closes the
source gives for today where they reach back that far.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

import numpy as np

from scanner.config import Settings
from scanner.errors import ProviderError, ScanRefused
from scanner.market.candles import DailyCloses
from scanner.market.volatility import hv20
from scanner.providers.base import ChainRequest, Provider
from scanner.scan.criteria import Criteria
from scanner.scan.screening import screen
from scanner.scan.volatility import chain_iv30
from scanner.store.iv_history import IvHistory, IvPoint, session_of
from scanner.store.scans import ScanStore

log = logging.getLogger(__name__)


class PastChains(StrEnum):
    """How a source knows a past session's chain."""

    SIMULATED = "simulated"  # the demo prices any day
    DATED = "dated"  # the API serves end-of-day chains by date, metered
    FILES = "files"  # the snapshot folder's files of earlier quote dates


PAST_CHAINS = {"demo": PastChains.SIMULATED, "marketdata": PastChains.DATED, "snapshot": PastChains.FILES}


def past_sessions(before: date, count: int) -> list[date]:
    """The `count` NYSE sessions before `before`'s session, oldest first."""
    sessions, day = [], session_of(before)
    while len(sessions) < count:
        day = session_of(day - timedelta(days=1))
        sessions.append(day)
    return sessions[::-1]


@dataclass(frozen=True)
class Plan:
    """What a backfill will ask: per ticker and session one chain (MarketData: one request per expiration)."""

    source: str
    tickers: list[str]
    sessions: list[date]
    requests: int  # chain requests it sends (0 for the demo and files)
    credits: int  # MarketData's estimate: one credit per contract quoted

    def cost_words(self) -> str:
        return (f"{self.requests:,} MarketData chain requests ({len(self.tickers)} tickers × {len(self.sessions)} "
                f"sessions × the expirations of each), about {self.credits:,} credits (one per contract quoted), and "
                "one candles request per ticker for the HV20 beside each point")


def plan(provider: Provider, criteria: Criteria, tickers: list[str], days: int) -> Plan:
    """What backfilling `tickers` over the last `days` sessions before the quote date asks of `provider`;
    ScanRefused for a source without past chains, or a snapshot folder without earlier days."""
    kind = PAST_CHAINS.get(provider.name)
    if kind is None:
        raise ScanRefused(f"{provider.name} publishes no past chains: its IV history grows one session per scan "
                          "(backfill works for demo, marketdata and snapshot)")
    today = provider.quote_date(ChainRequest())
    if kind is PastChains.FILES:
        sessions = [day for day in provider.quote_dates() if day < today][-days:]
        if not sessions:
            raise ScanRefused(f"the snapshot folder holds no quote date before {today} (one day's files): nothing "
                              "earlier to backfill")
        return Plan(provider.name, tickers, sessions, 0, 0)
    sessions = past_sessions(today, days)
    if kind is PastChains.SIMULATED:
        return Plan(provider.name, tickers, sessions, 0, 0)
    request = criteria.chain_request()
    expirations = request.weeks if request.dte_window is None else request.dte_window[1] // 7 + 1
    chains = len(tickers) * len(sessions) * expirations
    return Plan(provider.name, tickers, sessions, chains, chains * request.strike_limit * len(request.sides))


def _hv20_on(closes: DailyCloses, session: date) -> float:
    """HV20 of the closes before `session` (NaN where they do not reach back 21 sessions)."""
    days = np.array(closes.days, dtype="datetime64[D]")
    before = np.array(closes.closes)[days < np.datetime64(session, "D")]
    return hv20(before)


def backfill(settings: Settings, store: ScanStore, provider: Provider, the_plan: Plan,
             on_ticker: Callable[[str, int], None] = lambda ticker, points: None) -> int:
    """Fill each ticker's history over the plan's sessions; returns the points written. A ticker the source fails
    for is skipped with a warning (its other sessions still count)."""
    criteria = store.criteria.load()
    history = IvHistory(store.client, store.keys)
    kind = PAST_CHAINS[provider.name]
    today = provider.quote_date(ChainRequest())
    written = 0
    for ticker in the_plan.tickers:
        try:
            closes = provider.candles(ticker, today)
        except ProviderError as exc:
            log.warning("closes of %s unknown: %s", ticker, exc)
            closes = DailyCloses()
        points = []
        for session in the_plan.sessions:
            try:
                iv = _iv30_on(provider, kind, criteria, ticker, session, settings)
            except ProviderError as exc:
                log.warning("%s on %s skipped: %s", ticker, session, exc)
                continue
            if not math.isnan(iv):
                points.append(IvPoint(session, iv, _hv20_on(closes, session)))
        history.record_many(provider.name, ticker, points)
        written += len(points)
        on_ticker(ticker, len(points))
    return written


def _iv30_on(provider: Provider, kind: PastChains, criteria: Criteria, ticker: str, session: date,
             settings: Settings) -> float:
    """One past session's IV30 of `ticker` under `criteria`."""
    request = criteria.chain_request(session)
    if kind is PastChains.SIMULATED:
        return provider.simulated_iv30(ticker, request)
    chain = provider.fetch_dated(ticker, request) if kind is PastChains.FILES else provider.fetch(ticker, request)
    rows = screen(chain, criteria, session, rate=settings.risk_free_rate, dividend_yield=settings.dividend_yield)
    return chain_iv30(provider, ticker, rows)
