"""The schedule on the pages: the criteria page's section (admins edit it) and the "next scheduled scan" line of the
main page and the Monitor. Everything goes through ``scanner.scan.schedule`` and the store's schedule record."""

from __future__ import annotations

import streamlit as st

from scanner.scan.schedule import Schedule, ScheduleKind
from scanner.scan.scheduler import next_scheduled, next_slot_line
from scanner.store.schedule import ScheduleRecord
from scanner.ui.context import PageContext
from scanner.ui.markdown import plain
from scanner.ui.page import Notice, admin_action
from scanner.ui.refresh import SHARED_READ_SECONDS

NOTICE = Notice("settings_notice", "schedule")  # the criteria page's notice slot, its own section
KIND, CRON, EVERY = "sched-kind", "sched-cron", "sched-every"
_KINDS = {"Cron expression (US Eastern time)": ScheduleKind.CRON, "Every N minutes during market hours":
          ScheduleKind.EVERY}


def _record(ctx: PageContext) -> ScheduleRecord:
    return ScheduleRecord(ctx.store.client, ctx.store.keys)


@st.cache_data(ttl=SHARED_READ_SECONDS, show_spinner=False)
def _stored_schedule(_ctx: PageContext, prefix: str) -> Schedule | None:
    """The schedule as the main page and the Monitor read it on their reruns (kept, so an idle check stays at two
    round trips)."""
    return _record(_ctx).load()


@admin_action(NOTICE, denied="Only admins may change the schedule; nothing was saved.",
              unavailable="Redis unavailable: nothing was saved.", refused="Nothing was saved: {error}")
def _save(ctx: PageContext) -> str:
    if _KINDS[st.session_state.get(KIND, next(iter(_KINDS)))] == ScheduleKind.CRON:
        schedule = Schedule.parse(cron=st.session_state.get(CRON, ""))
    else:
        schedule = Schedule.parse(every_minutes=int(st.session_state.get(EVERY) or 0))
    _record(ctx).save(schedule)
    _stored_schedule.clear()
    return f"Schedule saved: {schedule.describe()}. A running `python -m scanner scheduler` picks it up."


@admin_action(NOTICE, denied="Only admins may change the schedule; nothing was changed.",
              unavailable="Redis unavailable: nothing was changed.", refused="Nothing was changed: {error}")
def _clear(ctx: PageContext) -> str:
    cleared = _record(ctx).clear()
    _stored_schedule.clear()
    return "Schedule cleared: no scan runs by itself." if cleared else "No schedule was set."


def next_scan_line(ctx: PageContext) -> None:
    """One caption: when the next scheduled scan runs (or that none is scheduled)."""
    st.caption(plain(next_slot_line(_stored_schedule(ctx, ctx.store.keys.root))))


def render_schedule(ctx: PageContext, can_edit: bool) -> None:
    """The criteria page's section: the schedule, its next slot, the latest slots' outcomes, and (admins) the form."""
    st.subheader("Schedule")
    NOTICE.show()
    schedule, line = next_scheduled(ctx.store)
    st.markdown(plain(line))
    recent = _record(ctx).recent(10)
    if recent:
        st.dataframe([{"slot (ET)": r.slot[:16].replace("T", " "), "outcome": r.outcome,
                       "scan": r.scan_id, "message": r.message, "scheduler": r.scheduler} for r in recent],
                     hide_index=True, width="stretch")
    if not can_edit:
        return
    kind = st.radio("Runs", list(_KINDS), key=KIND, horizontal=True,
                    index=1 if schedule is not None and schedule.kind == ScheduleKind.EVERY else 0)
    if _KINDS[kind] == ScheduleKind.CRON:
        st.text_input("Cron expression: minute hour day month weekday, in US Eastern time (slots outside NYSE "
                      "sessions are skipped)", value=schedule.cron if schedule else "35 9-15 * * 1-5", key=CRON)
    else:
        st.number_input("Minutes between scans, from each session's open", 1, 390,
                        schedule.every_minutes if schedule and schedule.every_minutes else 30, key=EVERY)
    left, right = st.columns(2)
    left.button("Save schedule", on_click=_save, args=(ctx,), key="sched-save")
    right.button("Clear schedule", on_click=_clear, args=(ctx,), key="sched-clear", disabled=schedule is None)
