"""Fencing on real servers and real processes (DESIGN "The lock protocol" steps 4 and 5): a scan that lost its lock
writes nothing more; whoever takes a lock away records the end; Redis refusing writes (out of memory, a permission
revoked) stops the scan cleanly with the reason.

Each test runs its own server from the embedded Valkey binary (no persistence, so a restart comes back empty) and
scans on the MarketData source against a ReplayServer whose gate holds one ticker's answer until the test has done
its part, so no outcome depends on the machine's speed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from scanner import clock
from scanner.config import Settings
from scanner.store.scans import ScanStore, open_store
from tests.support.http_replay import ReplayServer, chain_path, scan_args, scan_env, serve_chains
from tests.support.processes import LONG_SCAN, StderrLines, cli_status, run_cli, spawn_cli, wait_for, wait_parked
from tests.support.redis_servers import Server, redis7_binary, start_server


@pytest.fixture
def api() -> Iterator[ReplayServer]:
    with ReplayServer() as server:
        yield server


@pytest.fixture
def servers(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[list[Server]]:
    """A server of this test's own (the embedded Valkey binary, or Debian's Redis 7 when parametrized "redis7");
    a test that restarts it appends the new one. The last is stopped at the end."""
    binary = redis7_binary() if getattr(request, "param", "valkey") == "redis7" else None
    started = [start_server(tmp_path / "redis", binary=binary)]
    yield started
    started[-1].stop()


def _env(scanner_env: dict[str, str], api: ReplayServer, server: Server, **extra: str) -> dict[str, str]:
    return {**scan_env(scanner_env, api), "REDIS_URL": server.url(), "SCANNER_CONCURRENCY": "1", **extra}


def _store(env: dict[str, str]) -> ScanStore:
    return open_store(Settings.from_env(env))


def _keys_naming(server: Server, scan_id: str) -> list[str]:
    """Every key that names the scan (KEYS: the test looks everywhere, the scanner never does)."""
    return sorted(key for key in server.admin().keys("*") if scan_id in key)


def _parked(env: dict[str, str], api: ReplayServer, tickers: list[str],
            done: int) -> tuple[threading.Event, subprocess.Popen, StderrLines]:
    """A scan of ``tickers``, one fetch at a time, held at ``tickers[done]`` until the returned gate is set."""
    gate = threading.Event()
    serve_chains(api, tickers, gates={tickers[done]: gate})
    holder = spawn_cli(scan_args(tickers), env)
    stderr = StderrLines(holder)
    wait_parked(_store(env), api, tickers[done], done=done)
    return gate, holder, stderr


def test_after_an_empty_restart_the_scan_that_lost_its_lock_writes_nothing(scanner_env, api, servers, tmp_path) -> None:
    env = _env(scanner_env, api, servers[0], SCANNER_LOCK_TTL="30")  # no heartbeat in the window: the write notices
    first_tickers = LONG_SCAN[:8]
    first_gate, first, first_err = _parked(env, api, first_tickers, done=3)
    first_id = _store(env).current_id()
    port = servers[0].port
    servers[0].stop()
    servers.append(start_server(tmp_path / "redis-after", port=port))  # the same address, nothing kept
    second_tickers = [f"S{i:02d}" for i in range(4)]
    second_gate, second, _ = _parked(env, api, second_tickers, done=1)  # holds the new lock meanwhile
    second_id = _store(env).current_id()
    second_before = _store(env).get(second_id)

    first_gate.set()  # the first scan's next write: refused, since the lock is the second scan's now
    assert first.wait(timeout=120) == 1
    err = first_err.text()
    assert f"scan {first_id} lost its lock after 3/8 tickers; another scan may be running" in err, err
    assert "Traceback" not in err
    assert _keys_naming(servers[-1], first_id) == []  # it recreated nothing, not even its record
    assert _store(env).get(second_id) == second_before  # and wrote nothing into the second's
    # and stopped at that write: the next fetch had started beside it (fetches run ahead of writes), no later one
    assert api.requests_to(chain_path(first_tickers[5])) == []

    second_gate.set()
    assert second.wait(timeout=120) == 0, second.stderr.read()
    store = _store(env)
    meta = store.get(second_id)
    assert meta.status == "completed" and meta.tickers_done == len(second_tickers)
    assert meta.version == len(second_tickers) + 1  # its tickers and its end: no write of the other's in between
    assert [m.scan_id for m in store.history()] == [second_id] and store.latest_id() == second_id
    assert _keys_naming(servers[-1], first_id) == []


def test_a_force_release_records_the_end_and_the_holder_stops_at_its_next_write(scanner_env, api, servers) -> None:
    env = _env(scanner_env, api, servers[0], SCANNER_LOCK_TTL="30")
    gate, holder, stderr = _parked(env, api, LONG_SCAN, done=2)
    scan_id = _store(env).current_id()
    forced = run_cli(["release-lock", "--force"], env)
    assert forced.returncode == 0 and "it is marked failed" in forced.stdout, forced.stderr
    recorded = _store(env).get(scan_id)  # by the release itself, while the holder still waits at the gate
    assert recorded.status == "failed" and "force-released by cli release-lock --force" in recorded.message
    assert "after 2/30 tickers" in recorded.message
    gate.set()
    assert holder.wait(timeout=120) == 1
    assert f"scan {scan_id} lost its lock after 2/30 tickers; another scan may be running" in stderr.text()
    assert _store(env).get(scan_id) == recorded  # the holder wrote nothing over it
    assert sorted(_store(env).results(scan_id).frame["ticker"].unique()) == LONG_SCAN[:2]  # partial rows kept


@pytest.mark.parametrize("servers", ["valkey", "redis7"], indirect=True)
def test_out_of_memory_mid_scan_records_failed_and_the_rest_keeps_working(scanner_env, api, servers) -> None:
    env = _env(scanner_env, api, servers[0])
    demo = {**env, "SCANNER_PROVIDER": "demo"}
    assert run_cli(["scan", "--tickers", "AAPL"], demo).returncode == 0  # a completed scan to read under OOM
    gate, holder, stderr = _parked(env, api, LONG_SCAN, done=2)
    scan_id = _store(env).current_id()
    servers[0].out_of_memory()
    gate.set()  # the next ticker's rows meet the refusal
    assert holder.wait(timeout=120) == 1
    err = stderr.text()
    assert "Traceback" not in err
    assert f"scan {scan_id} failed: Redis is out of memory (maxmemory)" in holder.stdout.read()
    status = cli_status(env)  # reads go on under OOM
    assert status["lock"]["held"] is False  # released by the holder, not left to expire
    assert status["current"]["status"] == "failed"
    assert status["current"]["message"].startswith("Redis is out of memory (maxmemory)")
    exported = run_cli(["export", "--all", "--output", "-"], demo)  # the completed scan's table reads
    assert exported.returncode == 0 and "AAPL" in exported.stdout, exported.stderr
    assert _store(env).results(scan_id).frame.empty  # the failed scan's rows were dropped to free memory
    released = run_cli(["release-lock"], env)
    assert released.returncode == 0 and "nothing to release" in released.stdout
    refused = run_cli(["scan", "--tickers", "AAPL"], demo)
    assert refused.returncode == 1 and "Redis is out of memory" in refused.stderr
    assert "Traceback" not in refused.stderr and len(refused.stderr.strip().splitlines()) == 1
    servers[0].admin().config_set("maxmemory", "0")  # the operator frees memory: the next scan runs
    assert run_cli(["scan", "--tickers", "AAPL"], demo).returncode == 0


def test_a_permission_revoked_from_the_heartbeat_stops_the_scan_cleanly(scanner_env, api, servers) -> None:
    prefix = scanner_env["SCANNER_PREFIX"]
    url = servers[0].add_user("scan", "pw", f"~{{{prefix}}}*", "+@read", "+@write", "+@scripting", "+@transaction",
                             "+@connection")
    env = {**_env(scanner_env, api, servers[0]), "REDIS_URL": url}  # TTL 6: a heartbeat every 2 s
    gate, holder, stderr = _parked(env, api, LONG_SCAN, done=2)
    scan_id = _store(env).current_id()
    servers[0].admin().execute_command("ACL", "SETUSER", "scan", "-pexpire")  # what extending the lock runs
    stderr.wait_for("the heartbeat stopped")  # it says so at once, not silently...
    gate.set()
    assert holder.wait(timeout=120) == 1  # ...and the scan stops at its next step
    assert "Traceback" not in stderr.text()
    meta = _store(env).get(scan_id)
    assert meta.status == "failed" and "no permission" in meta.message and "pexpire" in meta.message
    assert "the Redis user lacks a permission" in meta.message and "ACL SETUSER <user> +@read" in meta.message
    assert meta.tickers_done == 2
    assert servers[0].admin().exists(f"{{{prefix}}}:lock") == 0  # released by the holder (it may still DEL)


def test_out_of_memory_a_killed_holders_lock_is_released_and_readers_read_on(scanner_env, api, servers) -> None:
    env = _env(scanner_env, api, servers[0], SCANNER_LOCK_TTL="300")
    _, holder, _ = _parked(env, api, LONG_SCAN, done=2)
    scan_id = _store(env).current_id()
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait(timeout=30)
    servers[0].out_of_memory()
    released = run_cli(["release-lock"], env)  # its DEL goes through; recording the release cannot
    assert released.returncode == 0, released.stderr
    assert f"Lock released; recording it on scan {scan_id} failed: Redis is out of memory" in released.stdout
    # a reader whose TTL calls that heartbeat dead tries to mark the scan abandoned: refused, it reads on
    reader = {**env, "SCANNER_LOCK_TTL": "3"}
    wait_for(lambda: clock.now() - _store(env).get(scan_id).heartbeat_at > 1.5, timeout=30)
    status = cli_status(reader)
    assert status["lock"]["held"] is False and status["current"]["status"] == "running"
    assert status["current"]["tickers_done"] == 2
    servers[0].admin().config_set("maxmemory", "0")
    assert cli_status(reader)["current"]["status"] == "abandoned"  # once Redis takes writes again
