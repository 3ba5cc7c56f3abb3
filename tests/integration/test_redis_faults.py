"""Faults on a real embedded server and real processes: Redis restarts, a crowd of scans, a page through it."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from scanner.config import Settings
from scanner.store.connection import start_embedded, stop_embedded
from scanner.store.scans import ScanStore, open_store
from tests.support.paths import ROOT
from tests.support.processes import LONG_SCAN, run_cli, spawn_cli, wait_for_current


@pytest.fixture
def own_server(tmp_path: Path, scanner_env: dict[str, str], monkeypatch: pytest.MonkeyPatch):
    """A server of this test's own (it gets stopped and restarted), reached through REDIS_URL so that
    nothing restarts it behind the test's back."""
    data_dir = tmp_path / "data"
    url = start_embedded(data_dir)
    monkeypatch.setenv("REDIS_URL", url)
    env = {**scanner_env, "REDIS_URL": url, "SCANNER_DATA_DIR": str(data_dir)}
    yield data_dir, env
    stop_embedded(data_dir)


def _store(env: dict[str, str]) -> ScanStore:
    return open_store(Settings.from_env(env))


def test_scan_rides_out_a_redis_restart(own_server) -> None:
    data_dir, env = own_server
    # The outage is shorter than the lock's TTL, so the holder keeps its lock and must finish.
    env = {**env, "SCANNER_DEMO_DELAY_MS": "100", "SCANNER_CONCURRENCY": "1", "SCANNER_LOCK_TTL": "30"}
    tickers = [f"R{i:02d}" for i in range(12)]
    holder = spawn_cli(["scan", "--tickers", ",".join(tickers)], env)
    store = _store(env)
    wait_for_current(store, lambda meta: meta.tickers_done >= 2)
    stop_embedded(data_dir)
    time.sleep(2)
    start_embedded(data_dir)
    assert holder.wait(timeout=120) == 0, holder.stderr.read()
    meta = _store(env).get(_store(env).latest_id())
    assert meta.status == "completed" and meta.tickers_done == len(tickers)
    assert sorted(_store(env).results(meta.scan_id).frame["ticker"].unique()) == tickers


def test_scan_fails_cleanly_when_redis_stays_down(own_server) -> None:
    data_dir, env = own_server
    env = {**env, "SCANNER_DEMO_DELAY_MS": "100", "SCANNER_CONCURRENCY": "1"}
    holder = spawn_cli(["scan", "--tickers", ",".join(LONG_SCAN)], env)
    store = _store(env)
    wait_for_current(store, lambda meta: meta.tickers_done >= 1)
    stop_embedded(data_dir)
    code = holder.wait(timeout=120)
    err = holder.stderr.read()
    assert code == 1 and "Traceback" not in err
    assert "Redis became unavailable" in err
    start_embedded(data_dir)  # what it managed to write is intact, the lock expires by itself
    meta = _store(env).get(_store(env).current_id())
    assert meta.tickers_done >= 1


def test_the_page_shows_redis_unavailable_and_recovers(own_server) -> None:
    data_dir, env = own_server
    assert run_cli(["scan", "--tickers", "AAPL,MSFT,NVDA"], env).returncode == 0
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60).run()
    shown = [e.label for e in at.expander]
    assert shown and not at.error
    stop_embedded(data_dir)
    at.run()
    assert not at.exception
    assert any("Redis unavailable" in e.value for e in at.error)
    assert [e.label for e in at.expander] == shown  # the last completed scan stays readable
    start_embedded(data_dir)
    at.run()
    assert not at.exception and not at.error
    assert [e.label for e in at.expander] == shown


def test_twenty_scans_at_once_exactly_one_runs(scanner_env: dict[str, str]) -> None:
    env = {**scanner_env, "SCANNER_DEMO_DELAY_MS": "1000", "SCANNER_CONCURRENCY": "1"}
    crowd = [spawn_cli(["scan", "--tickers", "AAPL,MSFT,NVDA,AMZN,META,GOOGL,NFLX,UBER,V,MA"], env)
             for _ in range(20)]
    deadline = time.monotonic() + 240
    refused = []
    while len(refused) < 19 and time.monotonic() < deadline:
        refused = [p for p in crowd if p.poll() == 3]
        time.sleep(0.2)
    assert len(refused) == 19, [p.poll() for p in crowd]
    assert run_cli(["cancel"], env).returncode == 0
    (runner,) = [p for p in crowd if p not in refused]
    assert runner.wait(timeout=60) == 5
    assert len([h for h in run_cli(["history"], env).stdout.splitlines() if h.strip()]) == 1
