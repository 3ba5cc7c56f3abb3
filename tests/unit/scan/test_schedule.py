"""The schedule's rules: slots only inside NYSE sessions [open, close), holidays and early closes skipped, cron in
US Eastern time through DST, and no replay of slots missed while no scheduler ran."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from scanner.clock import NY
from scanner.errors import SettingsError
from scanner.scan.schedule import Schedule, ScheduleKind


def _ny(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=NY)


def _take(schedule: Schedule, after: datetime, count: int) -> list[str]:
    slots = schedule.slots(after)
    return [next(slots).strftime("%a %m-%d %H:%M") for _ in range(count)]


def test_cron_slots_run_inside_the_session_and_skip_the_weekend() -> None:
    hourly = Schedule.parse(cron="35 9-15 * * 1-5")
    slots = _take(hourly, _ny(2026, 12, 4, 15, 0), 3)  # a Friday afternoon
    assert slots == ["Fri 12-04 15:35", "Mon 12-07 09:35", "Mon 12-07 10:35"]


def test_a_slot_at_the_close_is_outside_the_session_and_one_at_the_open_inside() -> None:
    half_hourly = Schedule.parse(cron="*/30 9-16 * * 1-5")
    day = [s for s in _take(half_hourly, _ny(2026, 12, 1, 0, 0), 14) if s.startswith("Tue")]
    assert day[0] == "Tue 12-01 09:30" and day[-1] == "Tue 12-01 15:30"  # 09:00 before the open, 16:00 at the close
    assert len(day) == 13


def test_a_holiday_has_no_slot() -> None:
    hourly = Schedule.parse(cron="35 9-15 * * 1-5")
    assert hourly.next_slot(_ny(2026, 12, 24, 23, 0)).strftime("%m-%d %H:%M") == "12-28 09:35"  # Christmas Friday


def test_after_an_early_close_the_day_has_no_more_slots() -> None:
    hourly = Schedule.parse(cron="35 9-15 * * 1-5")
    slots = _take(hourly, _ny(2026, 11, 27, 9, 0), 5)  # the day after Thanksgiving closes at 13:00
    assert slots[:4] == ["Fri 11-27 09:35", "Fri 11-27 10:35", "Fri 11-27 11:35", "Fri 11-27 12:35"]
    assert slots[4] == "Mon 11-30 09:35"


def test_every_n_minutes_counts_from_each_open_until_the_close() -> None:
    every = Schedule.parse(every_minutes=90)
    assert _take(every, _ny(2026, 11, 27, 0, 0), 4) == [
        "Fri 11-27 09:30", "Fri 11-27 11:00", "Fri 11-27 12:30", "Mon 11-30 09:30"]  # 14:00 is after the early close


def test_cron_is_eastern_time_across_the_dst_change() -> None:
    opening = Schedule.parse(cron="35 9 * * 1-5")
    before, after = opening.next_slot(_ny(2026, 3, 5, 12, 0)), opening.next_slot(_ny(2026, 3, 6, 12, 0))
    assert (before.hour, before.minute, after.hour, after.minute) == (9, 35, 9, 35)
    assert (before.day, after.day) == (6, 9) and before.utcoffset() != after.utcoffset()  # EST, then EDT


def test_the_due_slot_is_only_the_latest_within_the_grace() -> None:
    every = Schedule.parse(every_minutes=5)
    grace = timedelta(minutes=5)
    assert every.due_slot(_ny(2026, 12, 1, 9, 42, 10), grace) == _ny(2026, 12, 1, 9, 40)
    # back after two hours down: the latest slot only, not the 24 missed
    assert every.due_slot(_ny(2026, 12, 1, 11, 50, 30), grace) == _ny(2026, 12, 1, 11, 50)
    hourly = Schedule.parse(cron="35 9-15 * * 1-5")
    assert hourly.due_slot(_ny(2026, 12, 1, 10, 50), grace) is None  # 10:35 is past the grace: none
    assert hourly.due_slot(_ny(2026, 12, 1, 10, 35), grace) == _ny(2026, 12, 1, 10, 35)


def test_a_schedule_outside_every_session_never_runs() -> None:
    assert Schedule.parse(cron="0 3 * * *").next_slot(_ny(2026, 12, 1, 12, 0)) is None


@pytest.mark.parametrize(("cron", "every", "words"), [
    ("61 * * * *", None, "Bad minute"),
    ("* * * * * *", None, "five fields"),
    ("35 9-15 * *", None, "five fields"),
    (None, None, "either"),
    ("* * * * *", 5, "either"),
    (None, 0, "between 1 and 390"),
])
def test_bad_schedules_are_refused_in_words(cron: str | None, every: int | None, words: str) -> None:
    with pytest.raises(SettingsError, match=words):
        Schedule.parse(cron=cron, every_minutes=every)


def test_the_stored_form_round_trips_and_a_hand_edit_is_refused() -> None:
    for schedule in (Schedule.parse(cron="35  9-15 * * 1-5"), Schedule.parse(every_minutes=30)):
        assert Schedule.from_json(schedule.to_json()) == schedule
    assert Schedule.parse(cron="35  9-15 * * 1-5").cron == "35 9-15 * * 1-5"
    assert Schedule.parse(every_minutes=30).kind == ScheduleKind.EVERY
    with pytest.raises(ValueError):
        Schedule.from_json('{"kind": "cron", "cron": "nonsense"}')
