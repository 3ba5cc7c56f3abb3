"""A ticker's IV30 history per source (``Keys.iv_history``): one point per NYSE session, kept 400 days.

Each point is a member of a sorted set scored by its session's ordinal day, so "the last scan of the session wins"
is a remove-by-score then add, and the 400-day retention a remove-by-score below the cut. A scan records its points
and reads back the windows their ranks rest on in one MULTI (one round trip per batch of tickers); the index set
lists every ``<source>:<ticker>`` so no history is reachable only by guessing its key. Histories are per source,
so a demo backfill never mixes into a live source's figures.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

import redis

from scanner.market.calendar import is_trading_day
from scanner.market.volatility import RANK_WINDOW
from scanner.store.keys import Keys

KEEP_DAYS = 400


def session_of(quote_date: date) -> date:
    """The NYSE session a quote date's figures belong to: that day, or the last session before it."""
    day = quote_date
    while not is_trading_day(day):
        day -= timedelta(days=1)
    return day


@dataclass(frozen=True)
class IvPoint:
    """One session's IV30 (a fraction) and the HV20 beside it (NaN when it was not known)."""

    session: date
    iv30: float
    hv20: float = math.nan

    def member(self) -> str:
        return json.dumps({"session": self.session.isoformat(), "iv30": self.iv30,
                           "hv20": None if math.isnan(self.hv20) else self.hv20})

    @classmethod
    def from_member(cls, text: str | bytes) -> IvPoint:
        raw = json.loads(text)
        hv20 = raw.get("hv20")
        return cls(date.fromisoformat(raw["session"]), float(raw["iv30"]), math.nan if hv20 is None else float(hv20))


def _points(members: Iterable[str | bytes]) -> list[IvPoint]:
    """Readable members as points, oldest first; an unreadable member is skipped rather than failing a scan."""
    points = []
    for member in members:
        try:
            points.append(IvPoint.from_member(member))
        except (ValueError, KeyError, TypeError):
            continue
    return sorted(points, key=lambda point: point.session)


class IvHistory:
    """Reads and writes ``iv:<source>:<ticker>`` and its index; Redis errors go to the caller (the scan's step
    catches them and goes on without a rank)."""

    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self._client, self._keys = client, keys

    def _write(self, pipe: redis.client.Pipeline, source: str, ticker: str, points: Iterable[IvPoint]) -> int:
        """Queue each point replacing its session's, the trim and the index entry; returns the newest day."""
        key, newest = self._keys.iv_history(source, ticker), 0
        for point in points:
            day = point.session.toordinal()
            pipe.zremrangebyscore(key, day, day)
            pipe.zadd(key, {point.member(): day})
            newest = max(newest, day)
        pipe.zremrangebyscore(key, "-inf", f"({newest - KEEP_DAYS}")
        pipe.sadd(self._keys.iv_index, f"{source}:{ticker}")
        return newest

    def record(self, source: str, points: Mapping[str, IvPoint]) -> dict[str, list[IvPoint]]:
        """Store each ticker's point of today (replacing an earlier scan's of the same session) and return, per
        ticker, the last RANK_WINDOW points up to it, oldest first: one MULTI for all of them, so a scan's batch of
        tickers costs one round trip, not one per ticker in the scan's writing thread."""
        if not points:
            return {}
        pipe = self._client.pipeline(transaction=True)
        reads = []
        for ticker, point in points.items():
            day = self._write(pipe, source, ticker, [point])
            pipe.zrevrangebyscore(self._keys.iv_history(source, ticker), day, "-inf", start=0, num=RANK_WINDOW)
            reads.append(len(pipe) - 1)
        replies = pipe.execute()
        return {ticker: _points(replies[at]) for ticker, at in zip(points, reads, strict=True)}

    def record_many(self, source: str, ticker: str, points: list[IvPoint]) -> None:
        """A backfill's points in one MULTI."""
        if points:
            pipe = self._client.pipeline(transaction=True)
            self._write(pipe, source, ticker, points)
            pipe.execute()

    def points(self, source: str, ticker: str) -> list[IvPoint]:
        """Every stored point, oldest first."""
        return _points(self._client.zrange(self._keys.iv_history(source, ticker), 0, -1))

    def sources_of(self, ticker: str) -> list[str]:
        """The sources holding a history of `ticker`, sorted."""
        return sorted(entry.rpartition(":")[0] for entry in self._entries() if entry.rpartition(":")[2] == ticker)

    def _entries(self) -> list[str]:
        return [entry.decode() if isinstance(entry, bytes) else entry
                for entry in self._client.smembers(self._keys.iv_index)]
