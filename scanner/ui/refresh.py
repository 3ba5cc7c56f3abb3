"""When a page reruns by itself (``streamlit-autorefresh``): slowly while idle, to notice a scan started elsewhere
(another tab, a replica, the CLI), every ``SCANNER_POLL_SECONDS`` while one runs, and sooner when it is about to
end, so its results show within about ``MIN_SECONDS`` of the end instead of up to a whole poll later."""

from __future__ import annotations

from streamlit_autorefresh import st_autorefresh

from scanner.config import Settings
from scanner.store.scans import ScanMeta

MIN_SECONDS = 2.0  # the soonest a running scan's page reruns on its own, however close the end looks
SHARED_READ_SECONDS = 300
"""How long a page keeps what other processes rarely change (the schedule, the saved screens) before reading it
again: the idle check stays at its two round trips. This process's own edits clear it at once; an edit elsewhere
(another replica, the CLI) shows within this time."""


def refresh_seconds(*, running: bool, poll: float, idle_poll: float, eta: float | None = None,
                    elapsed: float | None = None) -> float:
    """Seconds until the next rerun.

    Idle: ``idle_poll``. Running: ``poll``, or the scan's ETA when that is sooner (never below ``MIN_SECONDS``,
    unless ``poll`` itself is). Before the first ticker is in there is no ETA yet; the time the scan has run so
    far stands in for it, so a short scan gets its first ETA within seconds rather than after a whole poll.
    """
    if not running:
        return float(idle_poll)
    hint = eta if eta is not None else elapsed
    if hint is None:
        return float(poll)
    return min(float(poll), max(MIN_SECONDS, hint))


def autorefresh(settings: Settings, meta: ScanMeta | None, *, running: bool, key: str) -> float:
    """Render the page's timer for its next rerun (one per page, the same ``key`` idle or running); returns
    the interval in seconds."""
    seconds = refresh_seconds(running=running, poll=settings.poll_seconds, idle_poll=settings.idle_poll_seconds,
                              eta=meta.eta_seconds if running and meta is not None else None,
                              elapsed=meta.elapsed if running and meta is not None and meta.active else None)
    st_autorefresh(interval=round(seconds * 1000), key=key)
    return seconds
