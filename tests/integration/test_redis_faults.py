"""Faults on a real embedded server and real processes: Redis restarts, a crowd of scans, a page through it.

The scans run on the MarketData source against a local ReplayServer that holds an answer at a gate until the
test has done its part (stopped Redis, seen the crowd refused), so no outcome depends on the machine's speed.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from scanner.config import Settings
from scanner.store.connection import start_embedded, stop_embedded
from scanner.store.scans import ScanStore, open_store
from tests.support.http_replay import ReplayServer, scan_args, scan_env, serve_chains
from tests.support.paths import ROOT
from tests.support.processes import LONG_SCAN, StderrLines, run_cli, spawn_cli, wait_for_exits, wait_parked


@pytest.fixture
def api() -> Iterator[ReplayServer]:
    with ReplayServer() as server:
        yield server


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


def test_scan_rides_out_a_redis_restart(own_server, api: ReplayServer) -> None:
    data_dir, env = own_server
    # The outage is shorter than the lock's TTL, so the holder keeps its lock and must finish.
    tickers = [f"R{i:02d}" for i in range(12)]
    gate = threading.Event()
    serve_chains(api, tickers, gates={tickers[2]: gate})
    env = {**scan_env(env, api), "SCANNER_CONCURRENCY": "1", "SCANNER_LOCK_TTL": "30"}
    holder = spawn_cli(scan_args(tickers), env)
    stderr = StderrLines(holder)
    wait_parked(_store(env), api, tickers[2], done=2)
    stop_embedded(data_dir)
    gate.set()  # its next write (R02's rows) meets the stopped server
    stderr.wait_for("Redis unavailable; retrying")  # it did, and is backing off (0.5, 1, 2, 4, 8 s)
    start_embedded(data_dir)
    assert holder.wait(timeout=120) == 0, stderr.text()
    meta = _store(env).get(_store(env).latest_id())
    assert meta.status == "completed" and meta.tickers_done == len(tickers)
    assert sorted(_store(env).results(meta.scan_id).frame["ticker"].unique()) == tickers


def test_scan_fails_cleanly_when_redis_stays_down(own_server, api: ReplayServer) -> None:
    data_dir, env = own_server
    gate = threading.Event()
    serve_chains(api, LONG_SCAN, gates={LONG_SCAN[1]: gate})
    env = {**scan_env(env, api), "SCANNER_CONCURRENCY": "1"}
    holder = spawn_cli(scan_args(LONG_SCAN), env)
    stderr = StderrLines(holder)
    wait_parked(_store(env), api, LONG_SCAN[1], done=1)
    stop_embedded(data_dir)
    gate.set()  # its next write meets the stopped server, which never comes back during the scan
    code = holder.wait(timeout=180)  # the backoff (15.5 s) runs out on the write, the end record and the release
    err = stderr.text()
    assert code == 1 and "Traceback" not in err
    assert "Redis became unavailable" in err
    start_embedded(data_dir)  # what it managed to write is intact, the lock expires by itself
    meta = _store(env).get(_store(env).current_id())
    assert meta.tickers_done == 1
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


def test_twenty_scans_at_once_exactly_one_runs(scanner_env: dict[str, str], api: ReplayServer) -> None:
    tickers = ["AAPL", "MSFT", "NVDA", "AMZN", "META", "GOOGL", "NFLX", "UBER", "V", "MA"]
    serve_chains(api, tickers)
    api.gate.clear()  # whichever takes the lock waits at the source until the other 19 have been refused
    # a long TTL: the holder's heartbeat need not keep up with 19 interpreters starting beside it
    env = {**scan_env(scanner_env, api), "SCANNER_LOCK_TTL": "60"}
    crowd = [spawn_cli(scan_args(tickers), env) for _ in range(20)]
    # stop early if two reach the source (two scans ran): more chain requests than one scan makes (a scan also
    # asks for each ticker's earnings and candles)
    def chains() -> list:
        return [seen for seen in api.seen if seen.path.startswith("/v1/options/chain/")]

    refused = wait_for_exits(crowd, 19, timeout=240, give_up=lambda: len(chains()) > len(tickers))
    assert [p.returncode for p in refused] == [3] * 19, [p.returncode for p in refused]
    assert len(chains()) <= len(tickers)
    (runner,) = [p for p in crowd if p not in refused]
    api.gate.set()
    assert runner.wait(timeout=120) == 0, runner.stderr.read()
    assert sorted(seen.path for seen in chains()) == sorted(f"/v1/options/chain/{t}/" for t in tickers)  # one scan's
    assert len([h for h in run_cli(["history"], env).stdout.splitlines() if h.strip()]) == 1
