"""Waiting on conditions and running the command line as a separate process, as users do."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from scanner.store.scans import ScanMeta, ScanStore
from tests.support.http_replay import ReplayServer, chain_path
from tests.support.paths import ROOT

T = TypeVar("T")

LONG_SCAN = [f"L{i:02d}" for i in range(30)]
"""Tickers of a scan a test interrupts, one fetch at a time. On the MarketData source against a ReplayServer that
holds one ticker's answer at a gate (`wait_parked`), the interruption lands mid-scan however slow the machine is;
on the demo source at SCANNER_DEMO_DELAY_MS=300 the scan lasts ~36 s, for a test that only needs it alive."""


def wait_for(predicate: Callable[[], T], timeout: float, interval: float = 0.1) -> T:
    """Poll until ``predicate()`` is truthy and return that value; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s")


def wait_for_current(store: ScanStore, condition: Callable[[ScanMeta], bool], timeout: float = 60) -> ScanMeta:
    """Poll the store's current scan until ``condition(meta)`` holds; reading in-process takes milliseconds where
    ``status --json`` takes over a second to start, long enough for a short scan to end unseen."""
    return wait_for(lambda: (meta := store.get(store.current_id())) is not None and condition(meta) and meta,
                    timeout)


def wait_for_exits(procs: list[subprocess.Popen], count: int, timeout: float,
                   give_up: Callable[[], bool] = lambda: False) -> list[subprocess.Popen]:
    """Wait until `count` of `procs` have exited, or `give_up()` holds; return those that have exited."""
    wait_for(lambda: give_up() or sum(p.poll() is not None for p in procs) >= count, timeout)
    return [p for p in procs if p.poll() is not None]


def wait_parked(store: ScanStore, api: ReplayServer, ticker: str, done: int, timeout: float = 120) -> ScanMeta:
    """Wait until the running scan has recorded `done` tickers and asked for `ticker`, whose answer a gate holds:
    from then on (one fetch at a time) it can record nothing more until the test opens that gate."""
    return wait_for(lambda: api.requests_to(chain_path(ticker)) and (meta := store.get(store.current_id()))
                    is not None and meta.active and meta.tickers_done == done and meta, timeout)


class StderrLines:
    """A spawned process's stderr, read by a thread as it arrives, so a test can wait for what the process logs
    (the fault it met) instead of guessing how long that takes."""

    def __init__(self, proc: subprocess.Popen) -> None:
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(proc.stderr,), daemon=True)
        self._thread.start()

    def _read(self, stream) -> None:
        for line in stream:
            self.lines.append(line)

    def wait_for(self, text: str, timeout: float = 120) -> str:
        """The first line holding `text`, once the process has written it."""
        return wait_for(lambda: next((line for line in list(self.lines) if text in line), None), timeout)

    def text(self, timeout: float = 30) -> str:
        """Everything written, once the stream is closed (call after the process ended)."""
        self._thread.join(timeout)
        return "".join(self.lines)


def cli_status(env: dict[str, str]) -> dict:
    """``python -m scanner status --json``, parsed."""
    done = run_cli(["status", "--json"], env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def run_cli(args: list[str], env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "scanner", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)


def spawn_cli(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "scanner", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _scan_children() -> list[int]:
    """Pids of the scan processes this process started (the page's subprocesses in AppTest runs)."""
    me, found = os.getpid(), []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except (OSError, IndexError, ValueError):
            continue
        if ppid == me and b"scanner" in command and b"run" in command:
            found.append(int(entry.name))
    return found


def wait_for_scan_children(timeout: float) -> None:
    """Wait (up to ``timeout`` in all) for the scan processes this process started to end."""
    deadline = time.monotonic() + timeout
    while _scan_children() and time.monotonic() < deadline:
        time.sleep(0.2)
