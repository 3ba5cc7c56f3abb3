"""A ticker's daily closes, what HV20 and HV60 rest on (DESIGN "Volatility").

A source hands them over as ``DailyCloses`` for the sessions before a quote date (the quote date's own session is
not complete while it is quoted); the scan caches them per ticker and day (scan.candles_cache) and reads HV from
them (market.volatility).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np

from scanner.market.volatility import hv20, hv60

LOOKBACK = timedelta(days=120)  # calendar days asked for: HV60 needs 61 closes, about 88 calendar days


@dataclass(frozen=True)
class DailyCloses:
    """Closes per session, oldest first (the days and closes tuples are aligned)."""

    days: tuple[date, ...] = ()
    closes: tuple[float, ...] = ()

    @classmethod
    def of(cls, pairs: Iterable[tuple[date | None, Any]], before: date) -> DailyCloses:
        """The readable positive closes of sessions before `before`, one per day (the last given wins), sorted;
        a pair without a day is skipped."""
        kept: dict[date, float] = {}
        for day, close in pairs:
            if day is None:
                continue
            try:
                value = float(close)
            except (TypeError, ValueError):
                continue
            if day < before and np.isfinite(value) and value > 0:
                kept[day] = value
        days = sorted(kept)
        return cls(tuple(days), tuple(kept[day] for day in days))

    @property
    def hv20(self) -> float:
        return hv20(np.array(self.closes))

    @property
    def hv60(self) -> float:
        return hv60(np.array(self.closes))

    def to_json(self) -> str:
        return json.dumps({"days": [day.isoformat() for day in self.days], "closes": list(self.closes)})

    @classmethod
    def from_json(cls, text: str | bytes) -> DailyCloses:
        """The cached form back; ValueError (or KeyError/TypeError) when it is not one."""
        raw = json.loads(text)
        days, closes = tuple(map(date.fromisoformat, raw["days"])), tuple(map(float, raw["closes"]))
        if len(days) != len(closes):
            raise ValueError("days and closes differ in length")
        return cls(days, closes)


NO_CLOSES = DailyCloses()


def window_start(as_of: date) -> date:
    """The first day a source is asked closes for."""
    return as_of - LOOKBACK
