"""When the main page and the monitor rerun by themselves: the interval (``scanner/ui/refresh.py``, a pure function),
the ``streamlit-autorefresh`` timer each page renders with it (idle, running, near the end, starting), and what an
idle check costs Redis."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pandas as pd
import pytest
import redis.connection
from streamlit.testing.v1 import AppTest

from scanner import clock
from scanner.scan.engine import counters
from scanner.store.lock import ScanLock
from scanner.store.scans import ScanStore
from scanner.ui.refresh import MIN_SECONDS, refresh_seconds
from tests.support.paths import ROOT

NOW = 1_800_000_000.0  # the pages' clock in the running-scan tests, so an ETA is exact whatever the machine's pace


@pytest.mark.parametrize(("running", "eta", "elapsed", "seconds"), [
    (False, None, None, 60.0),  # idle: the slow check for a scan started elsewhere
    (False, 3.0, 1.0, 60.0),  # a stale meta of a finished scan changes nothing
    (True, None, None, 15.0),  # running, nothing known yet: the poll interval
    (True, 40.0, 12.0, 15.0),  # the end is further off than a poll
    (True, 15.0, 12.0, 15.0),
    (True, 6.5, 12.0, 6.5),  # the end comes before the next poll: refresh at the ETA
    (True, 0.4, 12.0, MIN_SECONDS),  # never more often than every 2 s
    (True, 0.0, 12.0, MIN_SECONDS),  # every ticker in, the end being recorded
    (True, None, 0.3, MIN_SECONDS),  # no ticker in yet: as long as it has run so far, from 2 s
    (True, None, 5.0, 5.0),
    (True, None, 90.0, 15.0),
])
def test_refresh_interval(running: bool, eta: float | None, elapsed: float | None, seconds: float) -> None:
    assert refresh_seconds(running=running, poll=15, idle_poll=60, eta=eta, elapsed=elapsed) == seconds


def test_a_poll_interval_below_the_floor_is_kept() -> None:
    assert refresh_seconds(running=True, poll=1, idle_poll=60, eta=0.5) == 1.0


@pytest.mark.parametrize(("running", "eta", "spread", "seconds"), [
    (False, None, 1.0, 75.0),  # idle: within ±25 % of the idle check
    (False, None, -1.0, 45.0),
    (True, 40.0, -0.5, 13.125),  # running: of the poll (the end further off)
    (True, 6.0, 1.0, 7.5),  # of the ETA, later
    (True, 2.4, -1.0, MIN_SECONDS),  # never sooner than the floor
])
def test_the_interval_is_spread_around_its_value(running: bool, eta: float | None, spread: float,
                                                 seconds: float) -> None:
    assert refresh_seconds(running=running, poll=15, idle_poll=60, eta=eta, elapsed=12.0, spread=spread) == seconds


def test_the_page_draws_its_spread_on_each_rerun(scanner_env, real_store: ScanStore, refresh_spread: list[float],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCANNER_IDLE_POLL_SECONDS", "8")
    at = _open(MAIN[0])
    assert _timer(at, MAIN[1]) == 8000
    refresh_spread[0] = 1.0
    at.run()
    assert _timer(at, MAIN[1]) == 10_000


def _timer(at: AppTest, key: str) -> int:
    """The interval (ms) of the page's autorefresh timer."""
    found = [json.loads(e.proto.json_args) for e in at.get("component_instance")
             if e.proto.component_name.endswith("st_autorefresh")]
    assert [args["key"] for args in found] == [key], found
    return found[0]["interval"]


def _open(page: str) -> AppTest:
    return AppTest.from_file(str(ROOT / page), default_timeout=60).run()


MAIN, MONITOR = ("dashboard.py", "scan-refresh"), ("pages/monitor.py", "monitor-refresh")


def _finished(store: ScanStore, scan_id: str = "s1") -> None:
    rows = pd.DataFrame({"ticker": ["AAPL"], "side": ["put"], "strike": [100.0], "bid": [0.5], "match": [True]})
    store.create(scan_id, provider="demo", provider_label="Demo", criteria={"side": "put"}, tickers=["AAPL"])
    store.record_ticker(scan_id, "AAPL", rows, "one error", counters(1, 1, 1, 1, 1, "AAPL"))
    store.finish(scan_id, "completed")


def _running(store: ScanStore, *, done: int, started_ago: float) -> None:
    """A scan holding the lock, ``done`` of 2 tickers in, started ``started_ago`` seconds ago."""
    assert ScanLock(store.client, store.keys, ttl=30).acquire()
    store.create("live", provider="demo", provider_label="Demo", criteria={"side": "put"}, tickers=["AAPL", "MSFT"])
    store.mark_running("live", pid=1, host="elsewhere")
    if done:
        rows = pd.DataFrame({"ticker": ["AAPL"], "side": ["put"], "strike": [100.0], "bid": [0.5], "match": [True]})
        store.record_ticker("live", "AAPL", rows, None, counters(1, 2, 1, 1, 0, "AAPL"))
    store.set_fields("live", started_at=clock.now() - started_ago)


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clock, "now", lambda: NOW)


@pytest.mark.parametrize(("page", "key"), [MAIN, MONITOR])
def test_an_idle_page_checks_at_the_idle_interval_and_shows_a_scan_started_elsewhere(
        scanner_env, real_store: ScanStore, monkeypatch: pytest.MonkeyPatch, page: str, key: str) -> None:
    monkeypatch.setenv("SCANNER_IDLE_POLL_SECONDS", "7")
    monkeypatch.setenv("SCANNER_POLL_SECONDS", "15")
    at = _open(page)
    assert not at.exception
    assert _timer(at, key) == 7000
    _running(real_store, done=1, started_ago=60)  # another tab, replica or the CLI starts one
    at.run()  # what the timer does
    assert _timer(at, key) == 15000
    shown = [i.value for i in at.info] + [m.value for m in at.markdown]
    assert "Scan in progress... (50% complete)" in shown or any(m.startswith("**Held** by scan `live`") for m in shown)


class _RoundTrips:
    """Counts the commands (single or pipelined) this process sends to Redis, redis-py's health pings aside."""

    def __init__(self) -> None:
        self.count = 0
        self.on = False


@pytest.fixture
def round_trips(monkeypatch: pytest.MonkeyPatch) -> Iterator[_RoundTrips]:
    counter = _RoundTrips()
    send = redis.connection.AbstractConnection.send_packed_command

    def counted(self, command, check_health=True):
        if counter.on and check_health:
            counter.count += 1
        return send(self, command, check_health)

    monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", counted)
    yield counter


@pytest.mark.parametrize(("page", "key"), [MAIN, MONITOR])
def test_an_idle_check_costs_at_most_two_round_trips(scanner_env, real_store: ScanStore, round_trips: _RoundTrips,
                                                     page: str, key: str) -> None:
    _finished(real_store)
    at = _open(page)
    assert not at.exception and _timer(at, key) == 60_000
    round_trips.on = True
    at.run()
    round_trips.on = False
    assert not at.exception
    assert 1 <= round_trips.count <= 2


@pytest.mark.parametrize(("page", "key"), [MAIN, MONITOR])
def test_a_scan_ending_before_the_next_poll_is_refreshed_at_its_eta(
        scanner_env, real_store: ScanStore, monkeypatch: pytest.MonkeyPatch, frozen, page: str, key: str) -> None:
    monkeypatch.setenv("SCANNER_POLL_SECONDS", "15")
    _running(real_store, done=1, started_ago=6)  # one of two tickers in 6 s: the other one in 6 s
    assert real_store.get("live").eta_seconds == 6
    at = _open(page)
    assert not at.exception
    assert _timer(at, key) == 6000
    real_store.set_fields("live", started_at=NOW - 60)  # slower: the end is beyond the poll
    at.run()
    assert _timer(at, key) == 15000
    real_store.set_fields("live", started_at=NOW - 0.5)  # nearly done: still no more often than every 2 s
    at.run()
    assert _timer(at, key) == 2000


def test_a_starting_scan_is_checked_again_soon(scanner_env, real_store: ScanStore, monkeypatch: pytest.MonkeyPatch,
                                               frozen) -> None:
    monkeypatch.setenv("SCANNER_POLL_SECONDS", "15")
    _running(real_store, done=0, started_ago=0.5)
    at = _open(MAIN[0])
    assert _timer(at, MAIN[1]) == 2000
