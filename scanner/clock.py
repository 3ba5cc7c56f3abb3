"""Time: epoch seconds in Redis, US Eastern (market) time on pages and in exports."""

from __future__ import annotations

import time
from datetime import datetime
from zoneinfo import ZoneInfo

NY = ZoneInfo("America/New_York")


def now() -> float:
    return time.time()


def to_ny(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, NY)


def fmt_ny(epoch: float | None, pattern: str = "%Y-%m-%d %H:%M ET") -> str:
    return "—" if epoch is None else to_ny(epoch).strftime(pattern)


def fmt_duration(seconds: float | None) -> str:
    if seconds is None or seconds < 0:
        return "—"
    seconds = int(round(seconds))
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"
