"""AppTest of the monitor page against the real embedded server: idle, a live holder (cancel, confirmed force
release), a holder still starting, a dead holder (release), a stale heartbeat, per-ticker errors (read once per
version), the log tail, Redis down."""

from __future__ import annotations

import os
import socket
import subprocess

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from scanner import clock
from scanner.config import Settings
from scanner.scan.control import monitor_state
from scanner.scan.engine import counters
from scanner.scan.launcher import log_path
from scanner.store.lock import ScanLock
from scanner.store.scans import ScanStore
from tests.support.paths import ROOT


def _page() -> AppTest:
    return AppTest.from_file(str(ROOT / "pages" / "monitor.py"), default_timeout=60).run()


def _markdown(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown]


def _holder(store: ScanStore, pid: int, ttl: int = 30, scan_id: str = "live") -> str:
    """A scan that holds the lock as a scan process would: lock taken, record running, one ticker failed."""
    assert ScanLock(store.client, store.keys, ttl=ttl).acquire()
    store.create(scan_id, provider="demo", provider_label="Demo", criteria={"side": "put", "weeks": 4},
                 tickers=["AAPL", "MSFT", "NVDA"])
    store.mark_running(scan_id, pid=pid, host=socket.gethostname())
    rows = pd.DataFrame({"ticker": ["AAPL"], "strike": [100.0], "match": [True]})
    store.record_ticker(scan_id, "AAPL", rows, None, counters(1, 3, 1, 1, 0, "AAPL"))
    store.record_ticker(scan_id, "MSFT", None, "HTTP 429 after 3 retries", counters(2, 3, 1, 1, 1, "MSFT"))
    return scan_id


def test_idle(scanner_env) -> None:
    at = _page()
    assert not at.exception
    assert "**Free**: no scan holds the lock." in _markdown(at)
    assert "No scan has run yet." in [i.value for i in at.info]
    assert at.button(key="cancel").disabled


def test_live_holder_cancel_and_confirmed_force_release(scanner_env, real_store: ScanStore) -> None:
    settings = Settings.from_env()
    _holder(real_store, os.getpid())
    log_file = log_path(settings, "live")
    log_file.parent.mkdir(parents=True, exist_ok=True)
    log_file.write_text("".join(f"line {i}\n" for i in range(100)))
    at = _page()
    assert not at.exception
    held = next(m for m in _markdown(at) if m.startswith("**Held**"))
    assert f"scan `live`, pid {os.getpid()} on {socket.gethostname()}" in held and "TTL left" in held
    assert any(m.startswith("Heartbeat ") and ":red[" not in m for m in _markdown(at))
    assert any(m.startswith("Status **running** — 67% (2/3 tickers), now MSFT") for m in _markdown(at))
    errors = at.dataframe[0].value
    assert list(errors["ticker"]) == ["MSFT"] and errors["message"][0] == "HTTP 429 after 3 retries"
    assert at.code[0].value.splitlines() == [f"line {i}" for i in range(60, 100)]
    assert "Release lock" not in [b.label for b in at.button]  # the holder is alive

    at.button(key="cancel").click().run()
    assert real_store.cancel_requested("live")
    # One message says it: the click's notice, then (from the next rerun on) the scan's own line.
    assert [s.value for s in at.success if "Cancel requested" in s.value] == [
        "Cancel requested for scan live; it stops once the tickers already being fetched are in and keeps its "
        "partial results."]
    assert not [w.value for w in at.warning if "Cancel requested" in w.value]
    assert at.button(key="cancel").disabled
    at.run()
    assert not [s.value for s in at.success if "Cancel requested" in s.value]
    assert ([w.value for w in at.warning if "Cancel requested" in w.value]
            == ["Cancel requested: the scan stops once the tickers already being fetched are in."])

    assert at.button(key="force-release").disabled
    at.checkbox(key="monitor_confirm_force").check().run()
    at.button(key="force-release").click().run()
    assert any("still beating (recorded)" in s.value for s in at.success)
    assert not real_store.lock().held
    meta = real_store.get("live")
    assert meta.lock_release_forced is True and meta.lock_released_by == "monitor page (open access)"
    assert any(c.value.startswith("Lock released by monitor page (open access)") for c in at.caption)


def test_a_holder_still_starting_reads_starting_not_a_question_mark(scanner_env, real_store: ScanStore) -> None:
    assert ScanLock(real_store.client, real_store.keys, ttl=30).acquire()
    real_store.create("early", provider="demo", provider_label="Demo", criteria={"side": "put"}, tickers=["AAPL"])
    real_store.set_fields("early", pid=os.getpid())  # the page recorded the pid; the process has not marked itself
    at = _page()
    held = next(m for m in _markdown(at) if m.startswith("**Held**"))
    assert f"scan `early`, pid {os.getpid()}, starting — TTL left" in held and "?" not in held


def test_errors_are_read_once_per_version_and_not_at_all_without_errors(scanner_env, real_store: ScanStore,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    reads: list[str] = []
    read = ScanStore.errors
    monkeypatch.setattr(ScanStore, "errors", lambda self, scan_id: reads.append(scan_id) or read(self, scan_id))
    settings = Settings.from_env()
    assert ScanLock(real_store.client, real_store.keys, ttl=30).acquire()
    real_store.create("clean", provider="demo", provider_label="Demo", criteria={}, tickers=["AAPL", "MSFT"])
    real_store.record_ticker("clean", "AAPL", None, None, counters(1, 2, 0, 0, 0, "AAPL"))
    assert monitor_state(settings, real_store).errors == {} and reads == []  # no error counted: nothing to read

    real_store.record_ticker("clean", "MSFT", None, "HTTP 429", counters(2, 2, 0, 0, 1, "MSFT"))
    for _ in range(3):  # an idle monitor rerunning
        assert monitor_state(settings, real_store).errors == {"MSFT": "HTTP 429"}
    assert reads == ["clean"]

    real_store.set_fields("clean", tickers_total=3)
    real_store.record_ticker("clean", "NVDA", None, "timeout", counters(3, 3, 0, 0, 2, "NVDA"))  # a new version
    assert monitor_state(settings, real_store).errors == {"MSFT": "HTTP 429", "NVDA": "timeout"}
    assert reads == ["clean", "clean"]


def test_dead_holder_is_offered_release_and_marked_abandoned(scanner_env, real_store: ScanStore) -> None:
    gone = subprocess.Popen(["true"])
    gone.wait()
    _holder(real_store, gone.pid)
    at = _page()
    assert f":red[Process {gone.pid} no longer runs on {socket.gethostname()}.]" in _markdown(at)
    assert "force-release" not in [b.key for b in at.button]
    at.button(key="release").click().run()
    assert not at.exception
    assert any("marked abandoned" in s.value for s in at.success)
    assert not real_store.lock().held and real_store.get("live").status == "abandoned"
    assert real_store.get("live").lock_release_forced is False
    assert "**Free**: no scan holds the lock." in _markdown(at)


def test_stale_heartbeat_is_red_and_the_lock_releasable(scanner_env, real_store: ScanStore,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    _holder(real_store, os.getpid(), ttl=600)
    now = clock.now()
    real_store.set_fields("live", heartbeat_at=now - 120)
    monkeypatch.setattr(clock, "now", lambda: now)  # the age read is exact however long the page takes to start
    at = _page()
    assert any(m.startswith(":red[Heartbeat 120 s ago: older than the lock TTL (6 s)]") for m in _markdown(at))
    assert "Release lock" in [b.label for b in at.button]


def test_foreground_scan_has_no_log_file(scanner_env, real_store: ScanStore) -> None:
    scan_id = _holder(real_store, os.getpid(), scan_id=f"cli-{os.urandom(4).hex()}")
    at = _page()
    assert any(c.value.startswith("No log file") for c in at.caption)
    assert f"Scan {scan_id}" in [s.value for s in at.subheader]


def test_redis_down_is_a_banner(scanner_env, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://:hunter2@127.0.0.1:1/0")
    at = _page()
    assert not at.exception
    assert at.error and "Redis unavailable" in at.error[0].value and "hunter2" not in at.error[0].value


TRACEBACK_LOG = """\
2026-12-01 10:00:00.000 EST INFO scanner.scan.engine: scan live started
2026-12-01 10:00:01.000 EST ERROR scanner.scan.engine: unexpected error for AAPL
Traceback (most recent call last):
  File "/srv/scanner/.venv/lib/python3.11/site-packages/scanner/providers/snapshot.py", line 52, in td_frame
    for strikes in side_map.values() for contracts in strikes.values() for contract in contracts]
AttributeError: 'list' object has no attribute 'values'
2026-12-01 10:00:02.000 EST INFO scanner.scan.engine: MSFT done
"""


def test_the_log_tail_shows_tracebacks_to_admins_only(scanner_env, real_store: ScanStore) -> None:
    _holder(real_store, os.getpid())
    log_file = log_path(Settings.from_env(), "live")
    log_file.parent.mkdir(parents=True, exist_ok=True)
    log_file.write_text(TRACEBACK_LOG)
    at = AppTest.from_file(str(ROOT / "pages" / "monitor.py"), default_timeout=60)
    at.secrets = {"admin": {"password": "correct horse battery staple"}}
    at.run()
    assert not at.exception
    shown = at.code[0].value
    assert "unexpected error for AAPL" in shown and "MSFT done" in shown
    assert not any(word in shown for word in ("Traceback", "/srv/scanner", "AttributeError", "side_map"))
    assert "Tracebacks are shown to admins only: 4 lines left out." in [c.value for c in at.caption]
    at.text_input(key="admin-password-cancel-a-scan-or-release-the-lock").input("correct horse battery staple").run()
    assert at.code[0].value == TRACEBACK_LOG.rstrip("\n")
