"""Waiting on conditions and running the command line as a separate process, as users do."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from scanner.store.scans import ScanMeta, ScanStore
from tests.support.paths import ROOT

T = TypeVar("T")

LONG_SCAN = [f"L{i:02d}" for i in range(30)]
"""Tickers of a scan a test interrupts: at SCANNER_DEMO_DELAY_MS=300, one fetch at a time, it would run ~36 s,
far longer than a CLI command takes to start on a loaded machine, so the interruption lands mid-scan."""


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
