"""Starts the scan subprocess for the page: ``sys.executable -m scanner run``, detached, logged, reaped."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from scanner.config import Settings

PROJECT_ROOT = Path(__file__).resolve().parents[1]
TOKEN_ENV = "SCANNER_LOCK_TOKEN"
# The child gets what it needs and nothing else (no cloud credentials, no Streamlit internals).
_PASSED_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "PYTHONPATH", "VIRTUAL_ENV", "REDIS_URL",
               "MD_API_KEY", "MD_URL_BASE")


_reapers: list[threading.Thread] = []


def child_env(settings: Settings, token: str) -> dict[str, str]:
    env = {name: os.environ[name] for name in _PASSED_ENV if name in os.environ}
    env.update({name: value for name, value in os.environ.items() if name.startswith("SCANNER_")})
    env["SCANNER_DATA_DIR"] = str(settings.data_dir)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = "1"
    env[TOKEN_ENV] = token
    return env


def log_path(settings: Settings, scan_id: str) -> Path:
    return settings.log_dir / f"scan-{scan_id}.log"


def spawn_scan(settings: Settings, scan_id: str, token: str) -> int:
    """Start the scan process in its own session; returns its pid. A daemon thread reaps it (no zombie)."""
    settings.log_dir.mkdir(parents=True, exist_ok=True)
    with open(log_path(settings, scan_id), "ab") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "scanner", "run", "--scan-id", scan_id],
            cwd=PROJECT_ROOT,
            env=child_env(settings, token),
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
        )
    reaper = threading.Thread(target=process.wait, name=f"reap-{scan_id}", daemon=True)
    reaper.start()
    _reapers.append(reaper)
    return process.pid


def wait_for_scans(timeout: float) -> None:
    """Wait (up to ``timeout`` in all) for the scan processes this process started to end."""
    deadline = time.monotonic() + timeout
    for reaper in _reapers:
        reaper.join(max(0.0, deadline - time.monotonic()))
