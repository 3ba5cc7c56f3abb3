"""Real embedded Valkey server, real processes: the CLI end to end, lock contention, kill -9, the page's launch.

The tests of a scan's life run twice: on the embedded server and on a real 3-master Redis Cluster reached through
a node that does not own the deployment's slot (``deployment_env``), so every command is redirected at least once.

A scan a test interrupts or races runs on the MarketData source against a local ReplayServer whose gate holds
its answers until the test has done its part, so no outcome depends on how fast the machine starts processes.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from scanner.config import Settings
from scanner.scan.engine import ScanRequest, start_background
from scanner.scan.launcher import log_path
from scanner.store import connection
from scanner.store.lock import LockState, ScanLock
from scanner.store.scans import ScanStore, open_store
from tests.support.http_replay import ReplayServer, scan_args, scan_env, serve_chains
from tests.support.paths import ROOT
from tests.support.processes import LONG_SCAN, cli_status, run_cli, spawn_cli, wait_for, wait_for_exits, wait_parked


@pytest.fixture
def api() -> Iterator[ReplayServer]:
    with ReplayServer() as server:
        yield server


@pytest.fixture(params=["embedded", "cluster"])
def deployment_env(request: pytest.FixtureRequest, scanner_env: dict[str, str]) -> dict[str, str]:
    """``scanner_env`` on the embedded server, or on the session's cluster (``cluster_env``)."""
    return scanner_env if request.param == "embedded" else request.getfixturevalue("cluster_env")


@pytest.fixture
def deployment_store(deployment_env: dict[str, str]) -> ScanStore:
    return open_store(Settings.from_env(deployment_env))


def _status_when(env: dict[str, str], condition, timeout: float) -> dict:
    return wait_for(lambda: (lambda status: status if condition(status) else None)(cli_status(env)), timeout)


def test_scan_then_export_status_and_history(deployment_env: dict[str, str]) -> None:
    done = run_cli(["scan", "--tickers", "AAPL, msft;NVDA"], deployment_env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("scan ") and " completed: 3/3 tickers" in done.stdout
    status = cli_status(deployment_env)
    assert status["lock"]["held"] is False
    latest = status["latest"]
    assert latest["status"] == "completed" and latest["tickers"] == ["AAPL", "MSFT", "NVDA"]
    exported = run_cli(["export", "--all", "--output", "-"], deployment_env)
    assert exported.returncode == 0, exported.stderr
    frame = pd.read_csv(io.StringIO(exported.stdout))
    assert len(frame) == latest["contracts"] > 0
    assert set(frame["ticker"]) == {"AAPL", "MSFT", "NVDA"}
    matches = run_cli(["export", "--output", "-"], deployment_env)
    assert len(pd.read_csv(io.StringIO(matches.stdout))) == latest["matches"]
    history = run_cli(["history", "--json"], deployment_env)
    assert [h["scan_id"] for h in json.loads(history.stdout)] == [latest["scan_id"]]


def test_bad_input_exits_2_and_changes_nothing(scanner_env: dict[str, str]) -> None:
    done = run_cli(["scan", "--tickers", "AAPL,$$$,TOOLONGSYMBOL1"], scanner_env)
    assert done.returncode == 2
    assert "'$$$'" in done.stderr and "TOOLONGSYMBOL1" in done.stderr
    assert cli_status(scanner_env)["current"] is None
    assert run_cli(["export"], scanner_env).returncode == 2  # nothing completed yet
    for args, extra, named in (
        (["scan", "--tickers", "AAPL,,$$$"], {}, "'$$$'"),
        (["scan", "--provider", "foo"], {}, "'foo'"),
        (["scan"], {"SCANNER_PROVIDER": "bogus"}, "SCANNER_PROVIDER"),
        (["scan"], {"SCANNER_LOCK_TTL": "abc"}, "SCANNER_LOCK_TTL"),
        (["scan"], {"SCANNER_LOCK_TTL": "0"}, "SCANNER_LOCK_TTL"),
        (["scan", "--weeks", "0"], {}, "weeks"),
    ):
        done = run_cli(args, {**scanner_env, **extra})
        assert done.returncode == 2, (args, extra, done.stderr)
        assert named in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert "Traceback" not in done.stderr
    assert cli_status(scanner_env)["current"] is None  # nothing was written


def test_market_closed_exits_4(scanner_env: dict[str, str]) -> None:
    env = {**scanner_env, "SCANNER_ENFORCE_MARKET_HOURS": "true", "SCANNER_NOW": "2026-11-29T12:00:00-05:00"}
    done = run_cli(["scan", "--tickers", "AAPL"], env)
    assert done.returncode == 4
    assert "Market is closed" in done.stderr and "2026-11-30 09:30" in done.stderr
    assert run_cli(["scan", "--tickers", "AAPL", "--ignore-market-hours"], env).returncode == 0


def test_two_scans_at_once_exactly_one_runs(deployment_env: dict[str, str], api: ReplayServer) -> None:
    tickers = ["AAPL", "MSFT", "NVDA", "AMZN"]
    serve_chains(api, tickers)
    api.gate.clear()  # whichever takes the lock waits at the source until the other has been refused
    # a long TTL: the holder's heartbeat need not keep up with a loaded machine while it waits
    env = {**scan_env(deployment_env, api), "SCANNER_LOCK_TTL": "60"}
    procs = [spawn_cli(scan_args(tickers), env) for _ in range(2)]
    chains = lambda: [seen for seen in api.seen if "/options/chain/" in seen.path]  # noqa: E731 (not the events')
    # stop early if both reach the source (two scans ran): more chain requests than one scan makes
    refused = wait_for_exits(procs, 1, timeout=120, give_up=lambda: len(chains()) > len(tickers))
    assert [p.returncode for p in refused] == [3], [(p.returncode, p.stderr.read()) for p in procs if p in refused]
    assert len(chains()) <= len(tickers)
    (runner,) = [p for p in procs if p not in refused]
    api.gate.set()
    assert runner.wait(timeout=120) == 0, runner.stderr.read()
    assert len(chains()) == len(tickers)  # one scan's requests: the refused one asked the source nothing
    assert len(json.loads(run_cli(["history", "--json"], env).stdout)) == 1


@pytest.mark.parametrize("kill_at_pct", [10, 50, 90])
def test_kill_9_of_the_holder_frees_the_lock_and_reads_abandoned(deployment_env: dict[str, str],
                                                                deployment_store: ScanStore, api: ReplayServer,
                                                                kill_at_pct: int) -> None:
    assert run_cli(["scan", "--tickers", "AAPL,MSFT"], deployment_env).returncode == 0
    before = cli_status(deployment_env)["latest"]
    before_rows = run_cli(["export", "--all", "--output", "-"], deployment_env).stdout
    tickers = [f"K{i:02d}" for i in range(20)]
    done = len(tickers) * kill_at_pct // 100  # the holder is killed while it waits for the next ticker's answer
    serve_chains(api, tickers, gates={tickers[done]: threading.Event()})  # never opened while the holder lives
    env = {**scan_env(deployment_env, api), "SCANNER_CONCURRENCY": "1"}
    holder = spawn_cli(scan_args(tickers), env)
    wait_parked(deployment_store, api, tickers[done], done)
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait(timeout=30)
    ttl = int(env["SCANNER_LOCK_TTL"])
    readings: list[LockState] = []

    def freed() -> bool:
        readings.append(deployment_store.lock())
        return not readings[-1].held

    wait_for(freed, timeout=10 * ttl, interval=0.05)
    # Freed within the TTL, on Redis's clock rather than the test's: from the kill on, every reading of the lock
    # had at most one TTL left and only counted down (nothing extended it) until the key expired, however late
    # the test got to look. A lock with no expiry, or one something kept extending, fails.
    left = [state.ttl_seconds for state in readings if state.held]
    assert all(seconds is not None and seconds <= ttl for seconds in left), left
    assert left == sorted(left, reverse=True), left
    status = _status_when(env, lambda s: s["current"]["status"] == "abandoned", timeout=60)
    assert status["current"]["pct"] == kill_at_pct  # its progress is kept
    assert status["latest"]["scan_id"] == before["scan_id"]
    assert run_cli(["export", "--all", "--output", "-"], deployment_env).stdout == before_rows
    assert run_cli(["scan", "--tickers", "AAPL"], deployment_env).returncode == 0  # and a new scan can start


def _parked_long_scan(scanner_env: dict[str, str], store: ScanStore, api: ReplayServer
                      ) -> tuple[dict[str, str], threading.Event, subprocess.Popen]:
    """LONG_SCAN running one fetch at a time, held at its second ticker until the returned gate is set."""
    gate = threading.Event()
    serve_chains(api, LONG_SCAN, gates={LONG_SCAN[1]: gate})
    env = {**scan_env(scanner_env, api), "SCANNER_CONCURRENCY": "1"}
    holder = spawn_cli(scan_args(LONG_SCAN), env)
    wait_parked(store, api, LONG_SCAN[1], done=1)
    return env, gate, holder


def test_sigterm_records_cancelled_and_releases_the_lock(deployment_env: dict[str, str], deployment_store: ScanStore,
                                                         api: ReplayServer) -> None:
    env, gate, holder = _parked_long_scan(deployment_env, deployment_store, api)
    holder.send_signal(signal.SIGTERM)
    gate.set()  # the fetch it waits for ends; it stops before the rest
    assert holder.wait(timeout=60) == 5
    assert deployment_store.lock().held is False  # released by the holder itself, not left to expire (TTL 6 s)
    status = cli_status(env)
    assert status["current"]["status"] == "cancelled" and status["lock"]["held"] is False
    done = status["current"]["tickers_done"]
    kept = deployment_store.results(status["current"]["scan_id"]).frame
    assert 1 <= done < len(LONG_SCAN) and sorted(kept["ticker"].unique()) == LONG_SCAN[:done]  # partial results kept


def test_cancel_command_stops_the_running_scan(deployment_env: dict[str, str], deployment_store: ScanStore,
                                               api: ReplayServer) -> None:
    env, gate, holder = _parked_long_scan(deployment_env, deployment_store, api)
    assert run_cli(["cancel"], env).returncode == 0
    gate.set()
    assert holder.wait(timeout=60) == 5
    assert deployment_store.lock().held is False  # released by the holder itself, not left to expire (TTL 6 s)
    current = cli_status(env)["current"]
    assert current["status"] == "cancelled" and 1 <= current["tickers_done"] < len(LONG_SCAN)
    assert deployment_store.results(current["scan_id"]).frame["ticker"].nunique() == current["tickers_done"]


def test_the_watchlist_drives_a_scan_and_release_lock_frees_a_killed_holder(tmp_path: Path,
                                                                          deployment_env: dict[str, str],
                                                                          deployment_store: ScanStore,
                                                                          api: ReplayServer) -> None:
    listing = tmp_path / "list.csv"
    listing.write_text("symbol,active\nAAPL,true\nMSFT,false\nNVDA,true\n")
    assert run_cli(["watchlist", "import", str(listing), "--replace"], deployment_env).returncode == 0
    listed = json.loads(run_cli(["watchlist", "list", "--json"], deployment_env).stdout)
    assert [entry["symbol"] for entry in listed] == ["AAPL", "MSFT", "NVDA"]
    assert run_cli(["scan"], deployment_env).returncode == 0
    assert cli_status(deployment_env)["latest"]["tickers"] == ["AAPL", "NVDA"]
    serve_chains(api, LONG_SCAN, gates={LONG_SCAN[1]: threading.Event()})  # never opened while the holder lives
    env = {**scan_env(deployment_env, api), "SCANNER_CONCURRENCY": "1", "SCANNER_LOCK_TTL": "300"}
    holder = spawn_cli(scan_args(LONG_SCAN), env)
    wait_parked(deployment_store, api, LONG_SCAN[1], done=1)
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait(timeout=30)
    assert cli_status(env)["lock"]["held"]  # a 300 s TTL: stuck for minutes without a release
    released = run_cli(["release-lock"], env)
    assert released.returncode == 0 and "marked abandoned" in released.stdout, released.stderr
    status = cli_status(env)
    assert status["lock"]["held"] is False and status["current"]["status"] == "abandoned"
    assert [h["status"] for h in json.loads(run_cli(["history", "--json"], env).stdout)] == ["abandoned", "completed"]


def test_page_launch_runs_a_detached_logged_subprocess(deployment_env: dict[str, str],
                                                       deployment_store: ScanStore) -> None:
    settings = Settings.from_env(deployment_env)
    scan_id = start_background(settings, deployment_store, ScanRequest(tickers=["AAPL", "MSFT"]))
    wait_for(lambda: deployment_store.get(scan_id).status == "completed", timeout=60)
    meta = deployment_store.get(scan_id)
    assert meta.pid and meta.pid != os.getpid()
    log = log_path(settings, scan_id).read_text()
    assert f"scan {scan_id} completed" in log
    wait_for(lambda: not Path(f"/proc/{meta.pid}").exists(), timeout=60)  # reaped: no zombie left (one stays)


def test_a_cli_command_stops_the_embedded_server_it_started(tmp_path: Path, scanner_env: dict[str, str]) -> None:
    """Issue 12 item 14 reverses what this test pinned before (the server outliving any CLI call): a command that
    started the server stops it (saving) as it exits; one that found it running, or ``server start``, leaves it."""
    env = {**scanner_env, "SCANNER_DATA_DIR": str(tmp_path / "fresh")}
    try:
        assert run_cli(["scan", "--tickers", "AAPL"], env).returncode == 0
        assert "stopped" in run_cli(["server", "status"], env).stdout
        assert (tmp_path / "fresh" / "redis" / "dump.rdb").exists()
        history = run_cli(["history"], env)  # starts it again, reads the saved scan, stops it
        assert "completed" in history.stdout and history.stderr == ""
        assert "stopped" in run_cli(["server", "status"], env).stdout
        assert run_cli(["server", "start"], env).returncode == 0
        assert run_cli(["export", "--all", "--output", "-"], env).stdout.count("AAPL") > 0
        assert "running" in run_cli(["server", "status"], env).stdout  # started by `server start`: it stays
    finally:
        stopped = run_cli(["server", "stop"], env)
    assert "stopped" in stopped.stdout
    assert "stopped" in run_cli(["server", "status"], env).stdout


def test_a_cli_command_leaves_the_server_it_started_to_a_connected_dashboard(tmp_path: Path,
                                                                            scanner_env: dict[str, str],
                                                                            api: ReplayServer) -> None:
    data_dir = tmp_path / "fresh"
    env = {**scan_env({**scanner_env, "SCANNER_DATA_DIR": str(data_dir)}, api), "SCANNER_CONCURRENCY": "1"}
    gate = threading.Event()
    serve_chains(api, LONG_SCAN[:3], gates={LONG_SCAN[1]: gate})
    holder = spawn_cli(scan_args(LONG_SCAN[:3]), env)  # it starts the embedded server
    try:
        wait_for(lambda: connection.is_running(data_dir), timeout=60)
        dashboard = open_store(Settings.from_env(env))  # connected as a dashboard that has drawn a page is
        wait_parked(dashboard, api, LONG_SCAN[1], done=1)
        gate.set()
        assert holder.wait(timeout=60) == 0
        assert "stays up (1 other client connected)" in holder.stderr.read()
        assert connection.is_running(data_dir) and dashboard.get(dashboard.current_id()).status == "completed"
    finally:
        gate.set()
        holder.wait(timeout=60)
        run_cli(["server", "stop"], env)
    assert not connection.is_running(data_dir)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_make_run_on_ctrl_c_during_a_scan_names_the_command_that_stops_the_server(tmp_path: Path,
                                                                                  scanner_env: dict[str, str]) -> None:
    data_dir = tmp_path / "fresh"
    env = {**scanner_env, "SCANNER_DATA_DIR": str(data_dir)}
    connection.start_embedded(data_dir)
    store = open_store(Settings.from_env(env))
    assert ScanLock(store.client, store.keys, ttl=600).acquire()  # a scan holds the lock
    port = _free_port()
    dashboard = subprocess.Popen([str(ROOT / "scripts" / "run.sh"), "--server.port", str(port), "--server.address",
                                  "127.0.0.1", "--server.headless", "true"], cwd=tmp_path, env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        wait_for(lambda: _serves(port), timeout=60)
        os.killpg(dashboard.pid, signal.SIGINT)  # Ctrl-C in the terminal reaches the whole foreground group
        output = dashboard.communicate(timeout=60)[0]
    finally:
        if dashboard.poll() is None:
            os.killpg(dashboard.pid, signal.SIGKILL)
        store.client.delete(store.keys.lock)
        connection.stop_embedded(data_dir)
    assert "a scan holds the lock; the embedded Redis server stays up" in output
    assert f"stop the embedded Redis server with: cd {ROOT} && SCANNER_DATA_DIR={data_dir} make stop" in output


def _serves(port: int) -> bool:
    try:
        return urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2).status == 200
    except OSError:
        return False


_OUTER_MAKE = ("MAKELEVEL", "MAKEFLAGS", "MFLAGS")  # set when the suite itself runs under `make test`


def _make(workdir: Path, *args: str, **env: str) -> str:
    """`make` as a user types it: not a sub-make of `make test` (which would print "Entering directory")."""
    clean = {name: value for name, value in os.environ.items() if name not in _OUTER_MAKE}
    done = subprocess.run(["make", *args], cwd=workdir, capture_output=True, text=True, timeout=60,
                          env={**clean, **env})
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_run_installs_only_when_the_requirements_changed_and_takes_a_port(tmp_path: Path) -> None:
    for name in ("Makefile", "requirements.txt", "requirements-dev.txt", "pyproject.toml"):
        shutil.copy2(ROOT / name, tmp_path / name)
    fake = tmp_path / ".venv" / "bin" / "python"  # records what pip would have been asked to do
    fake.parent.mkdir(parents=True)
    fake.write_text(f'#!/bin/sh\necho "$*" >> {tmp_path / "pip.log"}\n')
    fake.chmod(0o755)
    old = time.time() - 3600
    for name in ("requirements.txt", "requirements-dev.txt", "pyproject.toml"):
        os.utime(tmp_path / name, (old, old))

    assert "pip install" in _make(tmp_path, "-n", "run")  # a fresh clone installs first
    _make(tmp_path, "install-dev")
    assert len((tmp_path / "pip.log").read_text().splitlines()) == 3  # runtime, the project, dev
    planned = _make(tmp_path, "-n", "run", "PORT=8502")
    assert "pip" not in planned and planned.splitlines() == ["scripts/run.sh --server.port 8502"]
    assert _make(tmp_path, "-n", "run", PORT="8503").splitlines() == ["scripts/run.sh --server.port 8503"]
    assert _make(tmp_path, "-n", "run").splitlines() == ["scripts/run.sh --server.port 8501"]
    assert "pip" not in _make(tmp_path, "-n", "test") and "pip" not in _make(tmp_path, "-n", "lint")

    os.utime(tmp_path / "requirements.txt")  # edited (or pulled) just now
    assert "pip install --quiet -r requirements.txt" in _make(tmp_path, "-n", "run")
    assert "requirements-dev.txt" in _make(tmp_path, "-n", "test-fast")


def test_unreachable_external_redis_is_named_without_its_password(scanner_env: dict[str, str]) -> None:
    env = {**scanner_env, "REDIS_URL": "redis://user:s3cr3t-pw@127.0.0.1:1/0"}
    done = run_cli(["status"], env)
    assert done.returncode == 1
    assert "127.0.0.1:1" in done.stderr and "s3cr3t-pw" not in done.stderr + done.stdout
    assert "Traceback" not in done.stderr
