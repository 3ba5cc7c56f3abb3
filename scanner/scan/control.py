"""Operating a running scan: what the monitor shows, cancel, and releasing the lock.

The monitor page and the CLI (``status``, ``cancel``, ``release-lock``) call these same functions, so a
release is judged and recorded the same way wherever it comes from.
"""

from __future__ import annotations

import functools
import os
import re
import socket
from dataclasses import dataclass
from pathlib import Path

from scanner import clock
from scanner.config import Settings
from scanner.errors import REDIS_ERRORS, ControlRefused, ExitCode
from scanner.scan.launcher import log_path
from scanner.store.connection import redis_failure
from scanner.store.lock import LockState, force_release
from scanner.store.scans import ScanMeta, ScanStatus, ScanStore

_RECORD_START = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")  # cli.LOG_FORMAT's time, opening a record
LOG_TAIL_BYTES = 64 * 1024


@dataclass(frozen=True)
class MonitorState:
    """The lock, its holder and the newest scan, as the monitor page draws them."""

    lock: LockState
    current: ScanMeta | None
    lock_ttl: int
    heartbeat_age: float | None
    process_gone: bool  # the holder ran on this host and its pid no longer runs
    errors: dict[str, str]
    log_file: Path | None
    log_tail: str | None  # None when the scan has no log file (it ran in the foreground from the CLI)

    @property
    def holder(self) -> ScanMeta | None:
        """The scan holding the lock (None while the lock is free or no active scan claims it)."""
        return self.current if self.lock.held and self.current is not None and self.current.active else None

    @property
    def heartbeat_stale(self) -> bool:
        return self.heartbeat_age is not None and self.heartbeat_age > self.lock_ttl

    @property
    def holder_dead(self) -> bool:
        """The lock is held but nothing is working for it: no heartbeat within the TTL, a vanished process,
        or no active scan claiming it."""
        if not self.lock.held:
            return False
        return self.holder is None or self.heartbeat_stale or self.process_gone


def _process_gone(meta: ScanMeta) -> bool:
    """True only when we can tell: the scan ran on this host and its pid has exited (or is a zombie)."""
    if not meta.pid or meta.host != socket.gethostname():
        return False
    try:
        os.kill(meta.pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    try:
        stat = Path(f"/proc/{meta.pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[:1] == ["Z"]


def tail(path: Path, lines: int) -> str:
    """The last ``lines`` lines of a file, reading at most LOG_TAIL_BYTES from its end."""
    if lines <= 0:
        return ""
    with path.open("rb") as handle:
        handle.seek(0, os.SEEK_END)
        size = handle.tell()
        handle.seek(max(size - LOG_TAIL_BYTES, 0))
        text = handle.read().decode("utf-8", errors="replace")
    return "\n".join(text.splitlines()[-lines:])


def records_only(log_text: str) -> tuple[str, int]:
    """The lines of ``log_text`` that open a log record, and how many others were left out: a traceback (or any
    continuation line) shows server paths and code, for admins' eyes only."""
    lines = log_text.splitlines()
    kept = [line for line in lines if _RECORD_START.match(line)]
    return "\n".join(kept), len(lines) - len(kept)


@functools.lru_cache(maxsize=32)
def _errors_at(store: ScanStore, scan_id: str, version: int) -> dict[str, str]:
    """A scan's per-ticker errors as of ``version``, read from Redis once: a ticker's error is written in the MULTI
    that bumps ``version``, so what was read for a version stays true. An idle monitor rerunning every few seconds
    then costs the overview's two round trips alone (the caller skips the read when the scan counts no error)."""
    return store.errors(scan_id)


def monitor_state(settings: Settings, store: ScanStore, log_lines: int = 40) -> MonitorState:
    snap = store.overview()
    meta = snap.current
    heartbeat_age = process_gone = None
    errors: dict[str, str] = {}
    log_file = log_tail = None
    if meta is not None:
        last_sign = meta.heartbeat_at or meta.started_at
        heartbeat_age = clock.now() - last_sign if last_sign is not None else None
        process_gone = meta.active and _process_gone(meta)
        errors = _errors_at(store, meta.scan_id, meta.version) if meta.errors else {}
        log_file = log_path(settings, meta.scan_id)
        try:
            log_tail = tail(log_file, log_lines)
        except OSError:
            log_file = None
    return MonitorState(lock=snap.lock, current=meta, lock_ttl=settings.lock_ttl, heartbeat_age=heartbeat_age,
                        process_gone=bool(process_gone), errors=errors, log_file=log_file, log_tail=log_tail)


def cancel_scan(store: ScanStore) -> str:
    """Set the cancel flag of the running scan; its holder stops once the tickers already being fetched are in."""
    scan_id = store.current_id()
    if not scan_id or not store.request_cancel(scan_id):
        raise ControlRefused("no scan is running")
    return (f"Cancel requested for scan {scan_id}; it stops once the tickers already being fetched are in "
            "and keeps its partial results.")


def release_lock(settings: Settings, store: ScanStore, *, force: bool, by: str) -> str:
    """Free the lock of a dead holder; a live one (fresh heartbeat) only with ``force``. Recorded on the scan:
    who released it, when, and whether it was forced. A dead holder's scan is marked abandoned."""
    state = monitor_state(settings, store, log_lines=0)
    if not state.lock.held:
        return "The lock is free; nothing to release."
    holder, dead = state.holder, state.holder_dead
    if not dead and not force:
        raise ControlRefused(f"scan {holder.scan_id} is alive (heartbeat {state.heartbeat_age:.0f} s ago); "
                             "releasing its lock anyway needs confirmation (--force)", ExitCode.LOCKED)
    if not force_release(store.client, store.keys):
        return "The lock was freed meanwhile; nothing to release."
    if holder is None:
        return "Lock released (no running scan claimed it)."
    try:
        return _record_release(store, holder, dead=dead, by=by)
    except REDIS_ERRORS as exc:  # out of memory, say: the lock is free all the same (its DEL is always allowed)
        return f"Lock released; recording it on scan {holder.scan_id} failed: {redis_failure(exc, settings)}."


def _record_release(store: ScanStore, holder: ScanMeta, *, dead: bool, by: str) -> str:
    """Who released the lock, on the scan, and the scan's end: whoever takes a lock away records it."""
    store.set_fields(holder.scan_id, lock_released_by=by, lock_released_at=clock.now(), lock_release_forced=not dead)
    if dead:
        store.mark_abandoned(holder.scan_id)
        return f"Lock released; scan {holder.scan_id} had no live process and is marked abandoned."
    # its process can write nothing more (every write of a scan is fenced by the lock), so its end is recorded here
    store.finish(holder.scan_id, ScanStatus.FAILED,
                 f"The scan lost its lock: force-released by {by} after {holder.tickers_done}/{holder.tickers_total} "
                 "tickers; partial results kept.")
    return (f"Lock released while scan {holder.scan_id} was still beating (recorded); it is marked failed and "
            "its process stops at its next write.")
