"""Schedulers against one real embedded server, driven by a clock that advances (no test waits for a minute): each
slot scanned once whatever the number of schedulers, a slot finding a scan running skipped and recorded, no burst
of missed slots after downtime."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest

from scanner.config import Settings
from scanner.scan.schedule import Schedule
from scanner.scan.scheduler import Scheduler
from scanner.store.lock import ScanLock
from scanner.store.scans import ScanStatus, ScanStore, ScanTrigger, open_store
from scanner.store.schedule import ScheduleRecord, SlotOutcome

NY_SLOT = datetime.fromisoformat("2026-12-01T09:30:00-05:00")  # a Tuesday session


class FakeClock:
    """Epoch seconds a test moves forward by hand."""

    def __init__(self, start: datetime) -> None:
        self.value = start.timestamp()

    def __call__(self) -> float:
        return self.value

    def set(self, moment: datetime) -> None:
        self.value = moment.timestamp()


@pytest.fixture
def settings(scanner_env: dict[str, str]) -> Settings:
    return Settings.from_env(scanner_env)


@pytest.fixture
def store(settings: Settings) -> ScanStore:
    store = open_store(settings)
    store.watchlist.import_csv("symbol\nAAPL\nMSFT\n", replace=True)
    ScheduleRecord(store.client, store.keys).save(Schedule.parse(every_minutes=5))
    return store


def _scheduled(store: ScanStore) -> list:
    return [m for m in store.history(100) if m.trigger == ScanTrigger.SCHEDULE]


def test_two_schedulers_scan_each_slot_once(settings: Settings, store: ScanStore) -> None:
    clock = FakeClock(NY_SLOT)
    schedulers = [Scheduler(settings, open_store(settings), now=clock, name=f"replica-{i}") for i in range(2)]
    for slot in range(4):
        clock.set(NY_SLOT + timedelta(minutes=5 * slot, seconds=3))
        start = threading.Barrier(2)
        outcomes: list = []

        def one_pass(scheduler: Scheduler, start: threading.Barrier = start, outcomes: list = outcomes) -> None:
            start.wait()
            outcomes.append(scheduler.tick())

        threads = [threading.Thread(target=one_pass, args=(s,)) for s in schedulers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        won = [o for o in outcomes if o is not None]
        assert len(won) == 1 and won[0].outcome == SlotOutcome.STARTED
    scans = _scheduled(store)
    assert len(scans) == 4 and all(m.status == ScanStatus.COMPLETED for m in scans)
    slots = [r.slot for r in ScheduleRecord(store.client, store.keys).recent()]
    assert slots == [(NY_SLOT + timedelta(minutes=5 * i)).isoformat() for i in (3, 2, 1, 0)]


def test_a_slot_that_finds_a_scan_running_is_skipped_and_recorded(settings: Settings, store: ScanStore) -> None:
    lock = ScanLock(store.client, store.keys, settings.lock_ttl)
    assert lock.acquire() is not None
    clock = FakeClock(NY_SLOT + timedelta(seconds=1))
    outcome = Scheduler(settings, store, now=clock).tick()
    assert outcome is not None and outcome.outcome == SlotOutcome.SKIPPED and "running" in outcome.message
    assert ScheduleRecord(store.client, store.keys).recent()[0] == outcome
    assert _scheduled(store) == []
    lock.release()
    assert Scheduler(settings, store, now=clock).tick() is None  # the slot was had: not run late once the lock frees


def test_a_scheduler_back_from_downtime_runs_the_latest_slot_only(settings: Settings, store: ScanStore) -> None:
    clock = FakeClock(NY_SLOT + timedelta(hours=2, minutes=1))  # 24 slots missed
    scheduler = Scheduler(settings, store, now=clock)
    outcome = scheduler.tick()
    assert outcome is not None and outcome.slot == (NY_SLOT + timedelta(hours=2)).isoformat()
    assert scheduler.tick() is None
    assert len(_scheduled(store)) == 1


def test_outside_a_session_nothing_runs(settings: Settings, store: ScanStore) -> None:
    clock = FakeClock(datetime.fromisoformat("2026-12-25T10:00:00-05:00"))  # Christmas
    assert Scheduler(settings, store, now=clock).tick() is None
    ScheduleRecord(store.client, store.keys).clear()
    clock.set(NY_SLOT)
    assert Scheduler(settings, store, now=clock).tick() is None  # no schedule: none
    assert _scheduled(store) == []
