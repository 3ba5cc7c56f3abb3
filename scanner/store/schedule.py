"""The schedule in Redis (``Keys.schedule``), the slots' claims (``Keys.slot``) and their outcomes (``Keys.slot_log``).

A slot is claimed by SET NX with an expiry: of any number of schedulers (one per replica) exactly one wins it and
runs its scan; the expiry outlives the grace in which a slot can still be due, so a slot is never claimed twice.
"""

from __future__ import annotations

import json
import logging
import os
import socket
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from scanner.scan.schedule import Schedule
from scanner.store.connection import Client
from scanner.store.keys import Keys

log = logging.getLogger(__name__)
SLOT_LOG_LENGTH = 200


class SlotOutcome(StrEnum):
    STARTED = "started"  # the scan ran (its own record says how it ended)
    SKIPPED = "skipped"  # a scan held the lock: this slot's scan did not run
    REFUSED = "refused"  # the scan was refused (an empty watch-list, a bad setting) or failed to start


@dataclass(frozen=True)
class SlotRecord:
    slot: str  # the slot's time, ISO in New York time
    outcome: SlotOutcome
    scheduler: str  # host:pid of the scheduler that claimed it
    scan_id: str = ""
    message: str = ""

    @classmethod
    def from_json(cls, text: str) -> SlotRecord | None:
        try:
            raw = json.loads(text)
            return cls(slot=raw["slot"], outcome=SlotOutcome(raw["outcome"]), scheduler=raw["scheduler"],
                       scan_id=raw.get("scan_id", ""), message=raw.get("message", ""))
        except (ValueError, KeyError, TypeError):
            return None


def slot_name(slot: datetime) -> str:
    """The slot's key part: its minute in UTC, the same whatever zone a scheduler's clock is in."""
    return slot.astimezone(UTC).strftime("%Y%m%dT%H%MZ")


def scheduler_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class ScheduleRecord:
    """The stored schedule (none until set) and its slots."""

    def __init__(self, client: Client, keys: Keys) -> None:
        self._client = client
        self._keys = keys

    def load(self) -> Schedule | None:
        """The schedule, or None (also when the stored value is unreadable: a hand edit never starts scans)."""
        raw = self._client.get(self._keys.schedule)
        if raw is None:
            return None
        try:
            return Schedule.from_json(raw)
        except ValueError:
            log.warning("the stored schedule is unreadable; no scheduled scans until it is set again")
            return None

    def save(self, schedule: Schedule) -> Schedule:
        self._client.set(self._keys.schedule, schedule.to_json())
        return schedule

    def clear(self) -> bool:
        return bool(self._client.delete(self._keys.schedule))

    def claim(self, slot: datetime, who: str, hold: timedelta) -> bool:
        """Whether this scheduler won ``slot``: one SET NX, so two schedulers asking at once get one yes."""
        return bool(self._client.set(self._keys.slot(slot_name(slot)), who, nx=True,
                                     ex=max(int(hold.total_seconds()), 1)))

    def record(self, entry: SlotRecord) -> None:
        pipe = self._client.pipeline(transaction=False)
        pipe.lpush(self._keys.slot_log, json.dumps(asdict(entry)))
        pipe.ltrim(self._keys.slot_log, 0, SLOT_LOG_LENGTH - 1)
        pipe.execute()

    def recent(self, limit: int = 20) -> list[SlotRecord]:
        """The latest slots' outcomes, newest first."""
        entries = (SlotRecord.from_json(text) for text in self._client.lrange(self._keys.slot_log, 0, limit - 1))
        return [entry for entry in entries if entry is not None]
