"""When a page reruns by itself (``streamlit-autorefresh``): slowly while idle, to notice a scan started elsewhere
(another tab, a replica, the CLI), every ``SCANNER_POLL_SECONDS`` while one runs, and sooner when it is about to
end, so its results show within about ``MIN_SECONDS`` of the end instead of up to a whole poll later. Each interval
is drawn within ``SPREAD`` of that: every viewer of a scan refreshes at its ETA, and fifty sessions rerunning at the
same moments queue in one interpreter (bench/bench_viewers.py, 50 viewers: rerun p95 3.0 s during a scan and 1.3 s
idle after it, 0.9 s and 0.5 s with the spread)."""

from __future__ import annotations

import random

from streamlit_autorefresh import st_autorefresh

from scanner.config import Settings
from scanner.store.scans import ScanMeta

MIN_SECONDS = 2.0  # the soonest a running scan's page reruns on its own, however close the end looks
SPREAD = 0.25  # an interval is drawn within ±25 % of its value, never below MIN_SECONDS for a running scan
SHARED_READ_SECONDS = 300
"""How long a page keeps what other processes rarely change (the schedule, the saved screens) before reading it
again: the idle check stays at its two round trips. This process's own edits clear it at once; an edit elsewhere
(another replica, the CLI) shows within this time."""


def refresh_seconds(*, running: bool, poll: float, idle_poll: float, eta: float | None = None,
                    elapsed: float | None = None, spread: float = 0.0) -> float:
    """Seconds until the next rerun, moved by ``spread`` (-1 to 1) times ``SPREAD`` of it.

    Idle: ``idle_poll``. Running: ``poll``, or the scan's ETA when that is sooner (never below ``MIN_SECONDS``,
    unless ``poll`` itself is). Before the first ticker is in there is no ETA yet; the time the scan has run so
    far stands in for it, so a short scan gets its first ETA within seconds rather than after a whole poll.
    """
    if not running:
        return float(idle_poll) * (1 + SPREAD * spread)
    hint = eta if eta is not None else elapsed
    seconds = float(poll) if hint is None else min(float(poll), max(MIN_SECONDS, hint))
    return max(min(seconds, MIN_SECONDS), seconds * (1 + SPREAD * spread))


def draw_spread() -> float:
    """This rerun's draw for ``refresh_seconds``: each session's own, so sessions drift apart."""
    return random.uniform(-1.0, 1.0)


def autorefresh(settings: Settings, meta: ScanMeta | None, *, running: bool, key: str) -> float:
    """Render the page's timer for its next rerun (one per page, the same ``key`` idle or running); returns
    the interval in seconds."""
    seconds = refresh_seconds(running=running, poll=settings.poll_seconds, idle_poll=settings.idle_poll_seconds,
                              eta=meta.eta_seconds if running and meta is not None else None,
                              elapsed=meta.elapsed if running and meta is not None and meta.active else None,
                              spread=draw_spread())
    st_autorefresh(interval=round(seconds * 1000), key=key)
    return seconds
