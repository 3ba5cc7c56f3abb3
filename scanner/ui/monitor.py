"""The monitor page: the lock and its holder, the running scan's progress, errors and log, cancel and release."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st

from scanner import clock
from scanner.scan.control import MonitorState, cancel_scan, monitor_state, records_only, release_lock
from scanner.scan.engine import in_words
from scanner.store.scans import ScanMeta, ScanStore
from scanner.ui.auth import admin_gate
from scanner.ui.markdown import plain
from scanner.ui.page import Notice, NoticeKind, Page, admin_action, page_frame
from scanner.ui.positions_page import viewer_meta
from scanner.ui.refresh import autorefresh
from scanner.ui.schedule_panel import next_scan_line

NOTICE = Notice("monitor_notice")
CONFIRM = "monitor_confirm_force"
CANCEL_NOTICED = "monitor_cancel_noticed"  # the run after a click on Cancel: its notice says it, once


@admin_action(NOTICE, denied="Only admins may do that; nothing was done.",
              unavailable="Redis unavailable: nothing was done.", refused="Nothing was done: {error}.",
              refused_kind=NoticeKind.WARNING)
def _act(action: Callable[..., str], *args: Any, **kwargs: Any) -> str:
    """Button callback: run a control action (its text is the outcome); the force-release box starts unticked
    again whatever happened."""
    try:
        return action(*args, **kwargs)
    finally:
        st.session_state[CONFIRM] = False


def _cancel(store: ScanStore) -> str:
    """Button callback's action: cancel, and leave the "Cancel requested" line of the scan to the notice on the
    run that follows (two messages saying one thing would overlap)."""
    outcome = cancel_scan(store)
    st.session_state[CANCEL_NOTICED] = True
    return outcome


def _where(holder: ScanMeta) -> str:
    """Where the holder runs; until the scan process marks itself running only its pid is known."""
    if holder.host:
        return f"pid {holder.pid or '?'} on {holder.host}"
    return f"pid {holder.pid}, starting" if holder.pid else "starting"


def _lock_section(state: MonitorState) -> None:
    st.subheader("Lock")
    if not state.lock.held:
        st.markdown("**Free**: no scan holds the lock.")
        return
    holder = state.holder
    ttl = f"{state.lock.ttl_seconds:.0f} s" if state.lock.ttl_seconds is not None else "no expiry"
    st.markdown(f"**Held** by scan `{holder.scan_id}`, {_where(holder)} — TTL left {ttl}" if holder
                else f"**Held**, but no running scan claims it — TTL left {ttl}")
    if state.heartbeat_age is not None and holder is not None:
        age = f"Heartbeat {state.heartbeat_age:.0f} s ago"
        st.markdown(f":red[{age}: older than the lock TTL ({state.lock_ttl} s)]" if state.heartbeat_stale
                    else f"{age} (lock TTL {state.lock_ttl} s)")
    if state.process_gone:
        st.markdown(f":red[Process {holder.pid} no longer runs on {holder.host}.]")


def _scan_section(meta: ScanMeta) -> None:
    """The scan's status, as the viewer may read it (``viewer_meta``)."""
    now = meta.current_ticker if meta.active else None
    st.subheader(f"Scan {meta.scan_id}")
    st.markdown(f"Status **{meta.status}** — {meta.pct:.0f}% ({meta.tickers_done}/{meta.tickers_total} tickers)"
                f"{f', now {now}' if now else ''}; "
                f"{meta.matches} matches, {meta.errors} errors; started {clock.fmt_ny(meta.started_at)} "
                f"{meta.trigger.label}, "
                f"elapsed {clock.fmt_duration(meta.elapsed)}")
    st.progress(min(meta.pct / 100, 1.0))
    if meta.message:
        st.caption(plain(meta.message))
    noticed = st.session_state.pop(CANCEL_NOTICED, False)
    if meta.cancel_requested and meta.active and not noticed:
        st.warning("Cancel requested: the scan stops once the tickers already being fetched are in.")
    if meta.lock_released_by:
        forced = " (forced while it was still beating)" if meta.lock_release_forced else ""
        st.caption(f"Lock released by {meta.lock_released_by} at {clock.fmt_ny(meta.lock_released_at)}{forced}.")
    with st.expander("Watch-list and criteria this scan ran with"):
        st.markdown(", ".join(meta.tickers) or "no tickers")
        st.json(meta.criteria, expanded=True)


def _errors_section(errors: dict[str, str]) -> None:
    st.subheader("Errors")
    if not errors:
        st.caption("No ticker failed.")
        return
    frame = pd.DataFrame(sorted(errors.items()), columns=["ticker", "message"])
    st.dataframe(frame, hide_index=True, width="stretch")


def _log_section(state: MonitorState, admin: bool) -> None:
    st.subheader("Log")
    if state.log_tail is None:
        st.caption("No log file: this scan ran in the foreground (command line), which printed its own output.")
        return
    st.caption(f"Last lines of {state.log_file.name}")
    shown, hidden = (state.log_tail, 0) if admin else records_only(state.log_tail)
    if hidden:
        st.caption(f"Tracebacks are shown to admins only: {in_words(hidden, 'line')} left out.")
    st.code(shown or "(empty)", language=None)


def _actions(page: Page, state: MonitorState) -> None:
    st.subheader("Actions")
    if not admin_gate("cancel a scan or release the lock"):
        return
    meta = state.current
    running = meta is not None and meta.active
    st.button("Cancel scan", on_click=_act, args=(_cancel, page.store), key="cancel",
              disabled=not running or (meta is not None and meta.cancel_requested),
              help="The scan stops once the tickers already being fetched are in and keeps its partial results.")
    if not state.lock.held:
        return
    by = f"monitor page ({page.access.actor})"
    if state.holder_dead:
        st.button("Release lock", key="release", on_click=_act, args=(release_lock, page.settings, page.store),
                  kwargs={"force": False, "by": by}, help="The holder looks dead; frees the lock for a new scan.")
        return
    confirmed = st.checkbox("The holder is still beating: release its lock anyway (it stops at its next "
                            "heartbeat; the release is recorded on the scan)", key=CONFIRM)
    st.button("Force release lock", key="force-release", disabled=not confirmed, on_click=_act,
              args=(release_lock, page.settings, page.store), kwargs={"force": True, "by": by})


def render() -> None:
    with page_frame("Scan monitor", notice=NOTICE) as page:
        state = monitor_state(page.settings, page.store)
        running = state.lock.held or (state.current is not None and state.current.active)
        autorefresh(page.settings, state.current, running=running, key="monitor-refresh")
        _lock_section(state)
        next_scan_line(page)
        if state.current is None:
            st.info("No scan has run yet.")
        else:
            meta = viewer_meta(state.current)  # another's scan: without what its starter's book brought
            _scan_section(meta)
            _errors_section({ticker: error for ticker, error in state.errors.items() if ticker in meta.tickers})
            _log_section(state, page.access.admin)
        _actions(page, state)
