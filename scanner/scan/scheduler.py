"""The scheduler (``python -m scanner scheduler``): runs each due slot of the schedule, once across replicas.

Each pass reads the schedule (so an edit on the page takes effect within a pass), finds the latest slot due within
``GRACE``, claims it in Redis and, having won it, runs the scan in this process as any scan runs: it takes the lock
(``begin_scan``), so a slot that finds a scan running is skipped and recorded. Time comes from an injected clock,
so tests drive slots with a clock that advances instead of waiting for a real minute.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta

from scanner import clock
from scanner.config import Settings
from scanner.errors import REDIS_ERRORS, AlreadyRunning, LockLost, ScannerError
from scanner.scan.engine import ScanRequest, begin_scan, run_scan
from scanner.scan.schedule import Schedule
from scanner.store.connection import redis_failure
from scanner.store.scans import ScanStore, ScanTrigger
from scanner.store.schedule import ScheduleRecord, SlotOutcome, SlotRecord, scheduler_name

log = logging.getLogger(__name__)
GRACE = timedelta(minutes=5)  # a slot is still run this long after its time (a pass late, a restart), never later
MAX_PAUSE = 30.0  # seconds between passes at most: a schedule edited on the page is seen within this


class Scheduler:
    def __init__(self, settings: Settings, store: ScanStore, now: Callable[[], float] = clock.now,
                 grace: timedelta = GRACE, name: str | None = None) -> None:
        self.settings = settings
        self.store = store
        self.now = now
        self.grace = grace
        self.name = name or scheduler_name()
        self.record = ScheduleRecord(store.client, store.keys)

    def tick(self, stop: threading.Event | None = None) -> SlotRecord | None:
        """One pass: the due slot's outcome when this scheduler won it, else None (nothing due, or claimed)."""
        schedule = self.record.load()
        if schedule is None:
            return None
        slot = schedule.due_slot(clock.to_ny(self.now()), self.grace)
        if slot is None or not self.record.claim(slot, self.name, self.grace * 2):
            return None
        return self._run(slot.isoformat(), stop)

    def _run(self, slot: str, stop: threading.Event | None) -> SlotRecord:
        """The slot's scan, recorded as started before it runs (so the log shows it while it runs)."""
        request = ScanRequest(ignore_market_hours=True, trigger=ScanTrigger.SCHEDULE)  # the slot is in a session
        try:
            started = begin_scan(self.settings, self.store, request)
        except AlreadyRunning as exc:
            return self._log(SlotRecord(slot, SlotOutcome.SKIPPED, self.name, message=f"skipped: {exc}"))
        except ScannerError as exc:
            return self._log(SlotRecord(slot, SlotOutcome.REFUSED, self.name, message=str(exc)))
        entry = self._log(SlotRecord(slot, SlotOutcome.STARTED, self.name, scan_id=started.scan_id))
        try:
            meta = run_scan(self.settings, self.store, started.scan_id, started.token, stop=stop)
            log.info("slot %s: scan %s %s", slot, meta.scan_id, meta.status)
        except (AlreadyRunning, LockLost) as exc:
            log.warning("slot %s: %s", slot, exc)
        return entry

    def _log(self, entry: SlotRecord) -> SlotRecord:
        log.info("slot %s %s %s", entry.slot, entry.outcome, entry.message or entry.scan_id)
        self.record.record(entry)
        return entry

    def pause(self, schedule: Schedule | None) -> float:
        """Seconds until the next pass: the next slot's time, at most ``MAX_PAUSE``."""
        if schedule is None:
            return MAX_PAUSE
        now = clock.to_ny(self.now())
        upcoming = schedule.next_slot(now)
        return MAX_PAUSE if upcoming is None else min(max((upcoming - now).total_seconds(), 0.2), MAX_PAUSE)

    def run_forever(self, stop: threading.Event) -> None:
        """Passes until ``stop`` is set; a Redis error is logged in one line and the next pass tries again."""
        log.warning("scheduler %s started", self.name)
        while not stop.is_set():
            schedule = None
            try:
                self.tick(stop)
                schedule = self.record.load()
            except REDIS_ERRORS as exc:
                log.warning("scheduler pass failed: %s", redis_failure(exc, self.settings))
            stop.wait(self.pause(schedule))
        log.warning("scheduler %s stopped", self.name)


def next_scheduled(store: ScanStore, now: float | None = None) -> tuple[Schedule | None, str]:
    """The schedule and its next slot in words, for the pages and ``schedule show``."""
    schedule = ScheduleRecord(store.client, store.keys).load()
    return schedule, next_slot_line(schedule, now)


def next_slot_line(schedule: Schedule | None, now: float | None = None) -> str:
    """When ``schedule`` runs next, in words."""
    if schedule is None:
            return "No scan is scheduled."
    upcoming = schedule.next_slot(clock.to_ny(clock.now() if now is None else now))
    when = upcoming.strftime("%a %Y-%m-%d %H:%M ET") if upcoming else "none within two weeks"
    return f"Next scheduled scan: {when} ({schedule.describe()})."
