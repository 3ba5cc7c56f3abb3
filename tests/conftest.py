"""Shared fixtures: fakeredis for unit tests, one real embedded Valkey server for whatever crosses processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import fakeredis
import pytest

from scanner.config import Settings
from scanner.keys import Keys
from scanner.launcher import wait_for_scans
from scanner.redis_conn import start_embedded, stop_embedded
from scanner.store import ScanMeta, ScanStore

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


def shared_file(relative: str) -> Path:
    """A third-party data file from ../shared/data, or a skip when the folder is absent (a user's clone)."""
    path = SHARED_DATA / relative
    if not path.exists():
        pytest.skip(f"{path} is absent: ../shared/data holds the third-party test data")
    return path


@pytest.fixture
def fake_store() -> ScanStore:
    client = fakeredis.FakeRedis(decode_responses=True)
    return ScanStore(client, Keys("t"), lock_ttl=6, retention=3)


@pytest.fixture(scope="session")
def embedded_dir(tmp_path_factory: pytest.TempPathFactory):
    """A real embedded server for the whole session, stopped at the end (no orphan left behind)."""
    data_dir = tmp_path_factory.mktemp("data")
    start_embedded(data_dir)
    yield data_dir
    wait_for_scans(timeout=120)  # a scan the page started would otherwise start the server again
    stop_embedded(data_dir)


@pytest.fixture
def scanner_env(embedded_dir: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Environment of a test against the real server: its own key prefix, demo data, fast scans.

    Set in os.environ too, so AppTest pages and child processes see the same configuration.
    """
    values = {
        "SCANNER_DATA_DIR": str(embedded_dir),
        "SCANNER_PREFIX": "t" + uuid.uuid4().hex[:10],
        "SCANNER_PROVIDER": "demo",
        "SCANNER_DEMO_DELAY_MS": "0",
        "SCANNER_LOCK_TTL": "6",
        "SCANNER_POLL_SECONDS": "2",
    }
    for name in ("REDIS_URL", "MD_API_KEY", "SCANNER_ENFORCE_MARKET_HOURS", "SCANNER_NOW"):
        monkeypatch.delenv(name, raising=False)
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return dict(os.environ)


@pytest.fixture
def real_store(scanner_env: dict[str, str]) -> ScanStore:
    from scanner.store import open_store

    return open_store(Settings.from_env(scanner_env))


def wait_for(predicate, timeout: float, interval: float = 0.1):  # noqa: ANN001, ANN201
    """Poll until ``predicate()`` is truthy and return that value; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s")


LONG_SCAN = [f"L{i:02d}" for i in range(30)]
"""Tickers of a scan a test interrupts: at SCANNER_DEMO_DELAY_MS=300, one fetch at a time, it would run ~36 s,
far longer than a CLI command takes to start on a loaded machine, so the interruption lands mid-scan."""


def wait_for_current(store: ScanStore, condition, timeout: float = 60) -> ScanMeta:  # noqa: ANN001
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
