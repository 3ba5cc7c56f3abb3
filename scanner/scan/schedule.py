"""When scheduled scans run: a cron expression in US Eastern time, or every N minutes of a session.

Either way a slot counts only inside an NYSE session, [open, close): a holiday, a weekend and the hours after an
early close have none. Cron expressions are parsed by ``cronsim`` (healthchecks.io's parser, DST-aware on a zoned
datetime), never by a parser of our own; they have the five classic fields, so a slot is a whole minute.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache

from cronsim import CronSim, CronSimError

from scanner.clock import NY
from scanner.errors import SettingsError
from scanner.market import calendar

HORIZON = timedelta(days=14)  # how far ahead the next slot is looked for: past it, the schedule never runs
MAX_EVERY_MINUTES = 390  # a whole regular session


class ScheduleKind(StrEnum):
    CRON = "cron"
    EVERY = "every"  # every N minutes from each session's open


@dataclass(frozen=True)
class Schedule:
    """A validated schedule; ``Schedule.parse`` and ``from_json`` are the ways in."""

    kind: ScheduleKind
    cron: str = ""
    every_minutes: int = 0

    @classmethod
    def parse(cls, cron: str | None = None, every_minutes: int | None = None) -> Schedule:
        """A cron expression (five fields) or a number of minutes, exactly one; SettingsError says what is wrong."""
        if (cron is None) == (every_minutes is None):
            raise SettingsError("give either a cron expression or a number of minutes, not both or neither")
        if every_minutes is not None:
            if not 1 <= every_minutes <= MAX_EVERY_MINUTES:
                raise SettingsError(f"every N minutes needs N between 1 and {MAX_EVERY_MINUTES}, got {every_minutes}")
            return cls(ScheduleKind.EVERY, every_minutes=every_minutes)
        expression = " ".join(str(cron).split())
        if len(expression.split()) != 5:
            raise SettingsError(f"a cron expression has five fields (minute hour day month weekday), got {cron!r}")
        try:
            CronSim(expression, datetime(2026, 1, 1, tzinfo=NY))
        except CronSimError as exc:
            raise SettingsError(f"not a cron expression: {cron!r} ({exc})") from None
        return cls(ScheduleKind.CRON, cron=expression)

    def to_json(self) -> str:
        return json.dumps({"kind": self.kind.value, "cron": self.cron, "every_minutes": self.every_minutes})

    @classmethod
    def from_json(cls, text: str) -> Schedule:
        """The stored form; ValueError when it is not one (a hand edit)."""
        try:
            raw = json.loads(text)
            kind = ScheduleKind(raw["kind"])
            return cls.parse(cron=raw["cron"]) if kind == ScheduleKind.CRON else cls.parse(
                every_minutes=int(raw["every_minutes"]))
        except (KeyError, TypeError, SettingsError) as exc:
            raise ValueError(f"not a stored schedule: {exc}") from None

    def describe(self) -> str:
        if self.kind == ScheduleKind.EVERY:
            return f"every {self.every_minutes} minutes during market hours (from the open)"
        return f"cron `{self.cron}` (US Eastern time), inside market hours"

    def slots(self, after: datetime) -> Iterator[datetime]:
        """The slots strictly after ``after`` (zoned), in order, in New York time; ends past ``HORIZON``."""
        start = after.astimezone(NY)
        end = start + HORIZON
        ticks = self._every_ticks(start) if self.kind == ScheduleKind.EVERY else CronSim(self.cron, start)
        for tick in ticks:
            if tick > end:
                return
            if _trading_day(tick.date()) and calendar.is_market_open(tick):
                yield tick

    def _every_ticks(self, start: datetime) -> Iterator[datetime]:
        """Each session's open and every N minutes after it, strictly after ``start``."""
        day = start.date()
        step = timedelta(minutes=self.every_minutes)
        while True:
            if _trading_day(day):
                tick = calendar.next_open(datetime.combine(day, time(0), NY))
                while tick.date() == day and calendar.is_market_open(tick):
                    if tick > start:
                        yield tick
                    tick += step
            day += timedelta(days=1)
            if datetime.combine(day, time(0), NY) > start + HORIZON:
                return

    def next_slot(self, after: datetime) -> datetime | None:
        """The first slot strictly after ``after``; None when none comes within ``HORIZON``."""
        return next(self.slots(after), None)

    def due_slot(self, now: datetime, grace: timedelta) -> datetime | None:
        """The latest slot in (now − grace, now]: what a scheduler runs now. Older slots missed while no scheduler
        ran are never replayed, so a scheduler back from downtime starts at most one scan, not a burst."""
        due = None
        for slot in self.slots(now - grace):
            if slot > now:
                break
            due = slot
        return due


@lru_cache(maxsize=512)
def _trading_day(day: date) -> bool:
    """Cached, so a minute-by-minute cron skips a weekend's ticks without asking the calendar each time."""
    return calendar.is_trading_day(day)
