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
# The child gets what it needs and nothing else (no cloud credentials, no Streamlit internals, no other source's
# key): the basics, Redis, the proxies and CA bundles the README promises scans honour, what its own data source
# reads (the registry names it) and the SCANNER_* settings.
_BASICS = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "VIRTUAL_ENV", "REDIS_URL")
NETWORK_ENV = ("http_proxy", "https_proxy", "all_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY",
               "NO_PROXY", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR", "CURL_CA_BUNDLE")


def child_env(settings: Settings, token: str, provider: str) -> dict[str, str]:
    """The environment of the process that scans with ``provider``."""
    passed = (*_BASICS, *NETWORK_ENV, *registry.source(provider).env)
    env = {name: os.environ[name] for name in passed if name in os.environ}
    env.update({name: value for name, value in os.environ.items() if name.startswith("SCANNER_")})
    env["SCANNER_DATA_DIR"] = str(settings.data_dir)
    env["PYTHONUNBUFFERED"] = "1"
    env[TOKEN_ENV] = token
    return env


def log_path(settings: Settings, scan_id: str) -> Path:
    return settings.log_dir / f"scan-{scan_id}.log"


def spawn_scan(settings: Settings, scan_id: str, token: str, provider: str) -> int:
    """Start the scan process in its own session; returns its pid. A daemon thread reaps it (no zombie)."""
    private_folder(settings.data_dir)
    private_folder(settings.log_dir)
    with open_private(log_path(settings, scan_id)) as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "scanner", "run", "--scan-id", scan_id],
            env=child_env(settings, token, provider),
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
        )
    reaper = threading.Thread(target=process.wait, name=f"reap-{scan_id}", daemon=True)
    reaper.start()
    return process.pid

