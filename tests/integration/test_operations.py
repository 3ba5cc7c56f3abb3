"""Real embedded server, real processes: cancel from the monitor page mid-scan, release of a dead holder's lock,
a forced release of a live one, and the CLI's watch-list and criteria recorded on the scan they ran with.

The scans a test interrupts run on the MarketData source against a local ReplayServer that holds their second
ticker's answer at a gate, so each interruption lands mid-scan however slow the machine is.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest
from streamlit.testing.v1 import AppTest

from scanner.config import Settings
from scanner.scan.engine import ScanRequest, start_background
from scanner.store.scans import ScanStore
from tests.support.http_replay import SCAN_AS_OF, ReplayServer, scan_args, scan_env, serve_chains
from tests.support.paths import ROOT
from tests.support.processes import LONG_SCAN, StderrLines, cli_status, run_cli, spawn_cli, wait_for, wait_parked


@pytest.fixture
def api() -> Iterator[ReplayServer]:
    with ReplayServer() as server:
        yield server


def _gated_long_scan(api: ReplayServer) -> threading.Event:
    """LONG_SCAN's chains, the second ticker's held until the returned gate is set."""
    gate = threading.Event()
    serve_chains(api, LONG_SCAN, gates={LONG_SCAN[1]: gate})
    return gate


def test_cancel_from_the_monitor_page_mid_scan(scanner_env, real_store: ScanStore, api: ReplayServer,
                                               monkeypatch) -> None:
    gate = _gated_long_scan(api)
    for name, value in {**scan_env(scanner_env, api), "SCANNER_CONCURRENCY": "1"}.items():
        if os.environ.get(name) != value:
            monkeypatch.setenv(name, value)
    scan_id = start_background(Settings.from_env(), real_store,
                               ScanRequest(tickers=LONG_SCAN, weeks=1, as_of=SCAN_AS_OF))
    wait_parked(real_store, api, LONG_SCAN[1], done=1)
    at = AppTest.from_file(str(ROOT / "pages" / "monitor.py"), default_timeout=60).run()
    at.button(key="cancel").click().run()
    assert any(f"Cancel requested for scan {scan_id}" in s.value for s in at.success)
    gate.set()  # the fetch it waits for ends; it stops before the rest
    meta = wait_for(lambda: (lambda m: m if m.status == "cancelled" else None)(real_store.get(scan_id)), timeout=60)
    assert 1 <= meta.tickers_done < len(LONG_SCAN)
    assert len(real_store.results(scan_id).frame["ticker"].unique()) == meta.tickers_done  # partial results kept
    assert not real_store.lock().held
    at.run()
    assert any(m.startswith("Status **cancelled**") for m in (e.value for e in at.markdown))
    assert "**Free**: no scan holds the lock." in [e.value for e in at.markdown]


def test_release_of_a_dead_holders_lock(scanner_env: dict[str, str], real_store: ScanStore,
                                        api: ReplayServer) -> None:
    _gated_long_scan(api)  # never opened: the holder is killed while it waits
    env = {**scan_env(scanner_env, api), "SCANNER_LOCK_TTL": "300", "SCANNER_CONCURRENCY": "1"}
    holder = spawn_cli(scan_args(LONG_SCAN), env)
    wait_parked(real_store, api, LONG_SCAN[1], done=1)
    refused = run_cli(["release-lock"], env)
    assert refused.returncode == 3 and "is alive" in refused.stderr and "--force" in refused.stderr
    assert cli_status(env)["lock"]["held"]
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait(timeout=30)
    assert cli_status(env)["lock"]["held"]  # a 300 s TTL: it would stay stuck for minutes
    released = run_cli(["release-lock"], env)
    assert released.returncode == 0, released.stderr
    assert "marked abandoned" in released.stdout
    status = cli_status(env)
    assert status["lock"]["held"] is False and status["current"]["status"] == "abandoned"
    assert status["current"]["lock_released_by"].startswith("cli release-lock on ")
    assert run_cli(["scan", "--tickers", "AAPL"], scanner_env).returncode == 0  # and a new scan can start


def test_forced_release_of_a_live_holder_stops_it_and_is_recorded(scanner_env: dict[str, str],
                                                                 real_store: ScanStore, api: ReplayServer) -> None:
    gate = _gated_long_scan(api)
    # a heartbeat every 5 s: often enough, and a loaded machine cannot delay one past the TTL
    env = {**scan_env(scanner_env, api), "SCANNER_LOCK_TTL": "15", "SCANNER_CONCURRENCY": "1"}
    holder = spawn_cli(scan_args(LONG_SCAN), env)
    stderr = StderrLines(holder)
    wait_parked(real_store, api, LONG_SCAN[1], done=1)
    forced = run_cli(["release-lock", "--force"], env)
    assert forced.returncode == 0 and "still beating (recorded)" in forced.stdout
    stderr.wait_for("the scan lock was lost")  # it noticed at its next heartbeat...
    gate.set()  # ...and stops once the fetch it waits for ends
    assert holder.wait(timeout=60) == 1, stderr.text()
    current = cli_status(env)["current"]
    assert current["status"] == "failed" and "lost its lock" in current["message"]
    assert current["lock_release_forced"] is True
    assert current["lock_released_by"].startswith("cli release-lock --force on ")


def test_cli_watchlist_and_criteria_are_what_the_next_scan_runs_with(scanner_env: dict[str, str], tmp_path) -> None:
    csv_file = tmp_path / "list.csv"
    csv_file.write_text("symbol,active\naapl,true\nmsft,false\nnvda,yes\n")
    assert run_cli(["watchlist", "import", str(csv_file), "--replace"], scanner_env).returncode == 0
    bad = run_cli(["watchlist", "add", "IBM", "no_way!"], scanner_env)
    assert bad.returncode == 2 and "'no_way!'" in bad.stderr and "Traceback" not in bad.stderr
    assert run_cli(["watchlist", "add", "ibm,orcl"], scanner_env).returncode == 0
    assert run_cli(["watchlist", "remove", "ORCL"], scanner_env).returncode == 0
    listed = json.loads(run_cli(["watchlist", "list", "--json"], scanner_env).stdout)
    assert listed == [{"symbol": "AAPL", "active": True}, {"symbol": "MSFT", "active": False},
                      {"symbol": "NVDA", "active": True}, {"symbol": "IBM", "active": True}]
    exported = run_cli(["watchlist", "export"], scanner_env).stdout
    assert exported == "symbol,active\nAAPL,true\nMSFT,false\nNVDA,true\nIBM,true\n"
    assert run_cli(["criteria", "set", "weeks=99"], scanner_env).returncode == 2
    done = run_cli(["criteria", "set", "side=both", "weeks=2", "min_call_annualized=15"], scanner_env)
    assert done.returncode == 0 and "both" in done.stdout
    assert run_cli(["scan"], scanner_env).returncode == 0
    latest = cli_status(scanner_env)["latest"]
    assert latest["tickers"] == ["AAPL", "NVDA", "IBM"]
    assert latest["criteria"]["side"] == "both" and latest["criteria"]["weeks"] == 2
    assert latest["criteria"]["min_call_annualized"] == 15
    history = json.loads(run_cli(["history", "--json"], scanner_env).stdout)
    assert history[0]["criteria"] == latest["criteria"] and history[0]["tickers"] == latest["tickers"]
    assert run_cli(["criteria", "reset"], scanner_env).returncode == 0
    reset = json.loads(run_cli(["criteria", "show", "--json"], scanner_env).stdout)
    assert reset["weeks"] == 4 and reset["side"] == "put"


def test_cli_output_into_a_closed_pipe_ends_quietly(scanner_env: dict[str, str]) -> None:
    """`python -m scanner watchlist list --json | head -0`: the reader is gone before the first write."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = subprocess.run([sys.executable, "-m", "scanner", "watchlist", "list", "--json"], cwd=ROOT,
                              env=scanner_env, stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=120)
    finally:
        os.close(write_end)
    assert done.returncode == 141 and done.stderr == ""
