"""The main page: last scan line, the scan button, live progress while the lock is held, final results."""

from __future__ import annotations

import streamlit as st

from scanner import clock
from scanner.errors import AlreadyRunning, MarketClosed
from scanner.scan.engine import ScanRequest, start_background
from scanner.store.scans import Overview, ScanMeta, ScanStatus
from scanner.ui.auth import admin_gate, current_access
from scanner.ui.context import PageContext
from scanner.ui.markdown import plain
from scanner.ui.page import Notice, NoticeKind, Outcome, admin_action, page_frame
from scanner.ui.positions_page import book_user, viewer_meta
from scanner.ui.refresh import autorefresh
from scanner.ui.results import previous_completed, render_expanders_offline, render_scan_view
from scanner.ui.schedule_panel import next_scan_line

NOTICE = Notice("scan_notice")
LAST_VIEW = "last_completed_view"  # the last completed scan shown, kept readable while Redis is down


@admin_action(NOTICE, denied="Starting a scan is limited to admins.",
              unavailable="Redis unavailable: the scan was not started.", refused="The scan was not started: {error}")
def _start_scan(ctx: PageContext) -> Outcome:
    """Button callback: runs before the rerun, so the page that follows already shows the new scan."""
    try:
        scan_id = start_background(ctx.settings, ctx.store, ScanRequest(book_user=book_user(current_access())))
    except AlreadyRunning:
        return NoticeKind.INFO, "A scan is already running; showing it below. Nothing new was started."
    except MarketClosed as exc:
        return NoticeKind.WARNING, str(exc)
    return f"Scan {scan_id} started."


def _last_scan_line(latest: ScanMeta | None) -> None:
    if latest is None:
        st.caption("No completed scan yet.")
        return
    latest = viewer_meta(latest)  # another's scan: its counts without what its starter's book brought
    st.markdown(f"**Last scan:** {clock.fmt_ny(latest.finished_at or latest.started_at)} — "
                f"{latest.tickers_total} tickers, {latest.matches} matches")


def _progress(ctx: PageContext, snap: Overview) -> None:
    meta = snap.current
    if meta is None or not meta.active or not meta.tickers_done:
        st.info("Scan in progress... (starting)")  # the one line until a ticker is in: no empty boxes
        return
    meta = viewer_meta(meta)  # another's scan: its counts without what its starter's book brought
    st.info(f"Scan in progress... ({meta.pct:.0f}% complete)")
    st.progress(min(meta.pct / 100, 1.0))
    cols = st.columns(5)
    cols[0].metric("Tickers", f"{meta.tickers_done}/{meta.tickers_total}")
    cols[1].metric("Matches so far", meta.matches)
    cols[2].metric("Errors", meta.errors)
    cols[3].metric("Elapsed", clock.fmt_duration(meta.elapsed))
    cols[4].metric("ETA", clock.fmt_duration(meta.eta_seconds))
    _credits(meta)
    if meta.matches:
        st.caption("Results updating in real-time")
    render_scan_view(ctx.store, meta, snap.latest, key="main", empty_text="No options found yet. Scanning...",
                     exportable=False)


def _credits(meta: ScanMeta) -> None:
    """What a metered source (MarketData) charged for this scan, and what the plan has left."""
    if meta.credits_used is not None:
        left = f" · remaining today: {meta.credits_remaining}" if meta.credits_remaining is not None else ""
        st.caption(f"API credits used by this scan: {meta.credits_used}{left}")


def _banner(meta: ScanMeta) -> None:
    """The outcome of the newest scan when it did not complete."""
    when = clock.fmt_ny(meta.started_at)
    meta = viewer_meta(meta)
    if meta.status == ScanStatus.CANCELLED:
        st.warning(f"The scan started {when} was cancelled. {plain(meta.message)}")
    elif meta.status in (ScanStatus.FAILED, ScanStatus.ABANDONED):
        st.error(f"The scan started {when} {meta.status}: {plain(meta.message)}")


def _final(ctx: PageContext, snap: Overview) -> None:
    current, latest = snap.current, snap.latest
    if current is not None and current.status != ScanStatus.COMPLETED:
        _banner(current)
    if latest is None:
        return
    st.subheader(f"Results — scan of {clock.fmt_ny(latest.started_at)}")
    _credits(latest)
    previous = previous_completed(ctx.store, ctx.store.keys.root, latest.scan_id)
    frame = render_scan_view(ctx.store, latest, previous, key="main", empty_text="No options found.",
                             exportable=True)
    st.session_state[LAST_VIEW] = (latest, frame)


def _offline() -> None:
    """Redis is down (the frame drew the banner): keep showing what this session last saw."""
    if LAST_VIEW in st.session_state:
        latest, frame = st.session_state[LAST_VIEW]
        st.caption(f"Showing the last completed scan loaded before Redis became unavailable "
                   f"({clock.fmt_ny(latest.started_at)}).")
        render_expanders_offline(latest, frame)


def render() -> None:
    with page_frame("Options Scanner", offline=_offline) as page:
        snap = page.store.overview()
        _last_scan_line(snap.latest)
        next_scan_line(page)
        if admin_gate("start a scan"):
            st.button("Scan for options", type="primary", on_click=_start_scan, args=(page,))
        NOTICE.show()
        running = snap.lock.held or (snap.current is not None and snap.current.active)
        if running:
            _progress(page, snap)
        else:
            _final(page, snap)
        # last: its iframe loads after the tables' code (idle, it notices a scan started elsewhere)
        autorefresh(page.settings, snap.current, running=running, key="scan-refresh")
