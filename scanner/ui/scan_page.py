"""The main page: last scan line, the scan button, live progress while the lock is held, final results."""

from __future__ import annotations

import redis
import streamlit as st
from streamlit_autorefresh import st_autorefresh

from scanner import clock
from scanner.errors import AlreadyRunning, ConfigError, MarketClosed, ScanRefused
from scanner.scan.engine import ScanRequest, start_background
from scanner.store.scans import Overview, ScanMeta
from scanner.ui.auth import admin_gate, current_access, guard_page
from scanner.ui.context import PageContext, page_context, redis_failed
from scanner.ui.results import previous_completed, render_expanders_offline, render_scan_view

NOTICE = "scan_notice"
LAST_VIEW = "last_completed_view"  # the last completed scan shown, kept readable while Redis is down


def _start_scan(ctx: PageContext) -> None:
    """Button callback: runs before the rerun, so the page that follows already shows the new scan."""
    if not current_access().admin:
        st.session_state[NOTICE] = ("error", "Starting a scan is limited to admins.")
        return
    try:
        scan_id = start_background(ctx.settings, ctx.store, ScanRequest())
        st.session_state[NOTICE] = ("success", f"Scan {scan_id} started.")
    except AlreadyRunning:
        st.session_state[NOTICE] = ("info", "A scan is already running; showing it below. Nothing new was started.")
    except MarketClosed as exc:
        st.session_state[NOTICE] = ("warning", str(exc))
    except (ScanRefused, ConfigError) as exc:
        st.session_state[NOTICE] = ("error", f"The scan was not started: {exc}")
    except (redis.ConnectionError, redis.TimeoutError):
        st.session_state[NOTICE] = ("error", "Redis unavailable: the scan was not started.")


def _last_scan_line(latest: ScanMeta | None) -> None:
    if latest is None:
        st.caption("No completed scan yet.")
        return
    st.markdown(f"**Last scan:** {clock.fmt_ny(latest.finished_at or latest.started_at)} — "
                f"{latest.tickers_total} tickers, {latest.matches} matches")


def _notice() -> None:
    kind, text = st.session_state.pop(NOTICE, (None, None))
    if kind:
        getattr(st, kind)(text)


def _progress(ctx: PageContext, snap: Overview) -> None:
    st_autorefresh(interval=ctx.settings.poll_seconds * 1000, key="scan-refresh")
    meta = snap.current
    if meta is None or not meta.active:
        st.info("Scan in progress... (starting)")
        return
    st.info(f"Scan in progress... ({meta.pct:.0f}% complete)")
    st.progress(min(meta.pct / 100, 1.0))
    cols = st.columns(5)
    cols[0].metric("Tickers", f"{meta.tickers_done}/{meta.tickers_total}")
    cols[1].metric("Matches so far", meta.matches)
    cols[2].metric("Errors", meta.errors)
    cols[3].metric("Elapsed", clock.fmt_duration(meta.elapsed))
    cols[4].metric("ETA", clock.fmt_duration(meta.eta_seconds))
    _credits(meta)
    st.caption("Results updating in real-time" if meta.matches else "No options found yet. Scanning...")
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
    if meta.status == "cancelled":
        st.warning(f"The scan started {when} was cancelled. {meta.message}")
    elif meta.status in ("failed", "abandoned"):
        st.error(f"The scan started {when} {meta.status}: {meta.message}")


def _final(ctx: PageContext, snap: Overview) -> None:
    current, latest = snap.current, snap.latest
    if current is not None and current.status != "completed":
        _banner(current)
    if latest is None:
        return
    st.subheader(f"Results — scan of {clock.fmt_ny(latest.started_at)}")
    _credits(latest)
    previous = previous_completed(ctx.store, ctx.store.keys.root, latest.scan_id)
    frame = render_scan_view(ctx.store, latest, previous, key="main", empty_text="No options found.",
                             exportable=True)
    st.session_state[LAST_VIEW] = (latest, frame)


def _offline(ctx: PageContext, exc: Exception) -> None:
    """Redis is down: say so, keep showing what this session last saw, and retry on a timer."""
    redis_failed(exc, ctx.settings)
    if LAST_VIEW in st.session_state:
        latest, frame = st.session_state[LAST_VIEW]
        st.caption(f"Showing the last completed scan loaded before Redis became unavailable "
                   f"({clock.fmt_ny(latest.started_at)}).")
        render_expanders_offline(latest, frame)


def render() -> None:
    st.title("Options Scanner")
    guard_page()
    ctx = page_context()
    try:
        snap = ctx.store.overview()
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        _offline(ctx, exc)
        return
    _last_scan_line(snap.latest)
    if admin_gate("start a scan"):
        st.button("Scan for options", type="primary", on_click=_start_scan, args=(ctx,))
    _notice()
    try:
        if snap.lock.held or (snap.current is not None and snap.current.active):
            _progress(ctx, snap)
        else:
            _final(ctx, snap)
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        _offline(ctx, exc)
