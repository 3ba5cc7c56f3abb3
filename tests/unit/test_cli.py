"""The command line's own pieces: its log lines' times (US Eastern, the zone named, as on the pages)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from scanner.cli import LOG_FORMAT, EasternFormatter


def _line(when: datetime) -> str:
    record = logging.LogRecord("scanner.store.lock", logging.WARNING, __file__, 1, "the scan lock was lost; stopping",
                               None, None)
    record.created, record.msecs = when.timestamp(), 250.0
    return EasternFormatter(LOG_FORMAT).format(record)


def test_log_times_are_eastern_with_the_zone_named() -> None:
    assert _line(datetime(2025, 1, 15, 14, 30, 5, tzinfo=UTC)) == (
        "2025-01-15 09:30:05.250 EST WARNING scanner.store.lock: the scan lock was lost; stopping")
    assert _line(datetime(2025, 7, 1, 14, 30, 5, tzinfo=UTC)).startswith("2025-07-01 10:30:05.250 EDT ")
