"""A big scan screens in a process of its own (engine.SCREENING_PROCESS_FROM tickers and more), on the real embedded
server: what it stores is what the scan's own thread stores, the source's published IV30 reaches it, and a screening
process that dies ends the scan as failed, saying so, with the lock released (never a hang)."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
from dataclasses import replace
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from scanner.config import Settings
from scanner.scan import engine
from scanner.scan.engine import ScanRequest, begin_scan, run_scan
from scanner.store.iv_history import IvHistory
from scanner.store.scans import ScanMeta, ScanStore, open_store
from tests.support.cboe_replay import serve_cboe
from tests.support.http_replay import ReplayServer, scan_args, scan_env, serve_chains
from tests.support.paths import ROOT
from tests.support.processes import wait_for, wait_parked

AS_OF = date(2026, 11, 30)
TICKERS = ["AAPL", "MSFT", "NVDA", "F", "BRK.B", "KO", "TSLA", "SPY", "QQQ", "AMD", "INTC", "JPM"]


def _scan(settings: Settings, store: ScanStore, tickers: list[str], **run: object) -> tuple[ScanMeta, pd.DataFrame]:
    started = begin_scan(settings, store, ScanRequest(tickers=tickers, side="both", weeks=4, as_of=AS_OF))
    meta = run_scan(settings, store, started.scan_id, started.token, **run)
    return meta, store.results(started.scan_id).frame


@pytest.fixture
def in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every scan screens in its screening process, however small."""
    monkeypatch.setattr(engine, "SCREENING_PROCESS_FROM", 0)


def test_a_scan_screened_in_its_process_stores_what_a_thread_screening_stores(scanner_env: dict[str, str],
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    base = replace(Settings.from_env(scanner_env), concurrency=4)
    frames, metas = [], []
    for threshold, prefix in ((len(TICKERS) + 1, "thread"), (0, "process")):  # own prefixes: each its own IV history
        monkeypatch.setattr(engine, "SCREENING_PROCESS_FROM", threshold)
        settings = replace(base, prefix=f"{base.prefix}-{prefix}")
        meta, frame = _scan(settings, open_store(settings), TICKERS)
        frames.append(frame)
        metas.append(meta)
    assert [meta.status for meta in metas] == ["completed", "completed"] and len(frames[0]) > 0
    assert [(m.contracts, m.matches, m.errors, m.message) for m in metas[1:]] == \
        [(m.contracts, m.matches, m.errors, m.message) for m in metas[:1]]
    pd.testing.assert_frame_equal(frames[1], frames[0])
    assert frames[0]["iv30"].notna().any() and frames[0]["hv20"].notna().any()  # volatility figures were worked out


@pytest.mark.usefixtures("in_process")
def test_the_screening_process_records_the_iv30_the_source_published(scanner_env: dict[str, str],
                                                                     real_store: ScanStore) -> None:
    with ReplayServer() as server:
        serve_cboe(server, ["AAPL"], [date(2026, 12, 4), date(2026, 12, 11)], iv30=24.5)
        config = replace(Settings.from_env(scanner_env), provider="cboe", cboe_url_base=server.url,
                         enforce_market_hours=False)
        started = begin_scan(config, real_store, ScanRequest(tickers=["AAPL"], provider="cboe", as_of=AS_OF))
        meta = run_scan(config, real_store, started.scan_id, started.token)
    frame = real_store.results(started.scan_id).frame
    assert meta.status == "completed" and len(frame) > 0
    assert (frame["iv30"] == 0.245).all()
    points = IvHistory(real_store.client, real_store.keys).points("cboe", "AAPL")
    assert [(point.session, point.iv30) for point in points] == [(AS_OF, 0.245)]


@pytest.mark.usefixtures("in_process")
def test_a_screening_process_that_dies_fails_the_scan_saying_so_and_frees_the_lock(
        scanner_env: dict[str, str], real_store: ScanStore) -> None:
    settings = replace(Settings.from_env(scanner_env), concurrency=1)

    def kill_the_screener(meta: ScanMeta) -> None:  # after the first write: the rest cannot be screened
        if meta.tickers_done == 1:
            for child in multiprocessing.active_children():
                os.kill(child.pid, signal.SIGKILL)
                child.join()

    meta, _ = _scan(settings, real_store, TICKERS, on_progress=kill_the_screener)
    assert meta.status == "failed" and 0 < meta.tickers_done < len(TICKERS)
    assert meta.message.startswith("The scan's screening process ended unexpectedly (after ")
    assert not real_store.lock().held


BIG_SCAN = [f"U{i:03d}" for i in range(engine.SCREENING_PROCESS_FROM)]  # a CLI scan that screens in its process


def _children(pid: int) -> list[int]:
    """Pids whose parent is `pid`."""
    found = []
    for entry in Path("/proc").iterdir():
        with contextlib.suppress(OSError, ValueError, IndexError):
            if entry.name.isdigit() and int((entry / "stat").read_text().rpartition(")")[2].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _parked_big_scan(scanner_env: dict[str, str], store: ScanStore,
                     api: ReplayServer) -> tuple[str, threading.Event, subprocess.Popen, list[int]]:
    """BIG_SCAN in a CLI process of its own session, one fetch at a time, held at its second ticker; its scan id, the
    gate, the process and its screening process's pid."""
    gate = threading.Event()
    serve_chains(api, BIG_SCAN, gates={BIG_SCAN[1]: gate})
    env = {**scan_env(scanner_env, api), "SCANNER_CONCURRENCY": "1"}
    holder = subprocess.Popen([sys.executable, "-m", "scanner", *scan_args(BIG_SCAN)], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    scan_id = wait_parked(store, api, BIG_SCAN[1], done=1).scan_id
    return scan_id, gate, holder, wait_for(lambda: _children(holder.pid), timeout=30)


def test_a_ctrl_c_to_the_whole_process_group_cancels_the_scan_and_its_screening_process_ends(
        scanner_env: dict[str, str], real_store: ScanStore) -> None:
    with ReplayServer() as api:
        scan_id, gate, holder, screeners = _parked_big_scan(scanner_env, real_store, api)
        os.killpg(holder.pid, signal.SIGINT)  # as a terminal's Ctrl-C: the screening process gets it too
        gate.set()
        assert holder.wait(timeout=60) == 5
    meta = real_store.get(scan_id)
    assert meta.status == "cancelled" and 1 <= meta.tickers_done < len(BIG_SCAN)
    assert not real_store.lock().held
    wait_for(lambda: not any(Path(f"/proc/{pid}").exists() for pid in screeners), timeout=30)


def test_a_screening_process_ends_when_its_scan_process_is_killed(scanner_env: dict[str, str],
                                                                  real_store: ScanStore) -> None:
    with ReplayServer() as api:
        _, gate, holder, screeners = _parked_big_scan(scanner_env, real_store, api)
        holder.kill()
        holder.wait(timeout=30)
        gate.set()
    wait_for(lambda: not any(Path(f"/proc/{pid}").exists() for pid in screeners), timeout=30)
