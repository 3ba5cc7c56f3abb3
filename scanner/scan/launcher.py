"""Starts the scan subprocess for the page: ``sys.executable -m scanner run``, detached, logged, reaped."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

from scanner.config import Settings
from scanner.private import open_private, private_folder
from scanner.providers import registry

TOKEN_ENV = "SCANNER_LOCK_TOKEN"
# The child gets what it needs and nothing else (no cloud credentials, no Streamlit internals): the basics, Redis,
# what the data sources read (the registry names it) and the SCANNER_* settings.
_PASSED_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "VIRTUAL_ENV", "REDIS_URL", *registry.SCAN_ENV)


def child_env(settings: Settings, token: str) -> dict[str, str]:
    env = {name: os.environ[name] for name in _PASSED_ENV if name in os.environ}
    env.update({name: value for name, value in os.environ.items() if name.startswith("SCANNER_")})
    env["SCANNER_DATA_DIR"] = str(settings.data_dir)
    env["PYTHONUNBUFFERED"] = "1"
    env[TOKEN_ENV] = token
    return env


def log_path(settings: Settings, scan_id: str) -> Path:
    return settings.log_dir / f"scan-{scan_id}.log"


def spawn_scan(settings: Settings, scan_id: str, token: str) -> int:
    """Start the scan process in its own session; returns its pid. A daemon thread reaps it (no zombie)."""
    private_folder(settings.data_dir)
    private_folder(settings.log_dir)
    with open_private(log_path(settings, scan_id)) as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "scanner", "run", "--scan-id", scan_id],
            env=child_env(settings, token),
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
        )
    reaper = threading.Thread(target=process.wait, name=f"reap-{scan_id}", daemon=True)
    reaper.start()
    return process.pid

