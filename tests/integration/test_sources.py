"""Whole scans through the Tradier and Cboe sources as users run them: `python -m scanner scan` in the foreground and
the page's scan subprocess (which gets only its source's environment), against the real embedded server, with each
source's base URL pointing at a ReplayServer on 127.0.0.1, so nothing leaves the machine."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest

from scanner.config import Settings
from scanner.scan.engine import ScanRequest, start_background
from scanner.scan.launcher import log_path
from scanner.store.scans import open_store
from tests.support.cboe_replay import cboe_scan_env, serve_cboe
from tests.support.http_replay import SCAN_AS_OF, SCAN_EXPIRATIONS, Answer, ReplayServer, scan_args
from tests.support.processes import run_cli, wait_for
from tests.support.tradier_replay import EXPIRATIONS, TOKEN, serve_tradier, tradier_scan_env

TICKERS = ["AAPL", "MSFT", "KO"]
SOURCES: dict[str, tuple[Callable[[ReplayServer], None], Callable[..., dict[str, str]], str, int]] = {
    # (serve the tickers, the scan's environment, the source's label, contracts of one weekly per ticker)
    "tradier": (lambda api: serve_tradier(api, TICKERS), tradier_scan_env, "Tradier", 5),
    "cboe": (lambda api: serve_cboe(api, TICKERS, SCAN_EXPIRATIONS), cboe_scan_env,
             "Cboe delayed quotes (delayed 15 min)", 15),
}


@pytest.fixture
def api() -> Iterator[ReplayServer]:
    with ReplayServer() as server:
        yield server


@pytest.mark.parametrize("source", list(SOURCES))
def test_a_cli_scan_through_the_source(source: str, scanner_env: dict[str, str], api: ReplayServer) -> None:
    serve, scan_env, label, contracts = SOURCES[source]
    serve(api)
    env = scan_env(scanner_env, api)
    done = run_cli(scan_args(TICKERS), env)
    assert done.returncode == 0, done.stderr
    assert re.search(rf"completed: 3/3 tickers, {3 * contracts} contracts, [1-9]\d* matches", done.stdout), done.stdout
    store = open_store(Settings.from_env(env))
    assert store.get(store.latest_id()).provider_label == label
    assert {seen.path.split("/")[2] for seen in api.seen} <= {"markets", "options"}  # only the local stand-in


@pytest.mark.parametrize("source", list(SOURCES))
def test_the_pages_scan_process_gets_what_its_source_reads(source: str, scanner_env: dict[str, str],
                                                           api: ReplayServer, monkeypatch: pytest.MonkeyPatch) -> None:
    serve, scan_env, _, contracts = SOURCES[source]
    serve(api)
    for name, value in scan_env(scanner_env, api).items():
        monkeypatch.setenv(name, value)
    settings = Settings.from_env()
    store = open_store(settings)
    scan_id = start_background(settings, store, ScanRequest(tickers=TICKERS, weeks=1, as_of=SCAN_AS_OF))
    meta = wait_for(lambda: (meta := store.get(scan_id)) is not None and not meta.active and meta, timeout=120)
    log = log_path(settings, scan_id).read_text()
    assert meta.status == "completed" and meta.tickers_done == len(TICKERS), log
    frame = store.results(scan_id).frame
    assert len(frame) == 3 * contracts and TOKEN not in log
    assert frame.earnings_date.isna().all() and frame.earnings_in_window.isna().all()  # no source of events here
    if source == "tradier":
        assert all(seen.headers["Authorization"] == f"Bearer {TOKEN}" for seen in api.seen)
        assert "events of AAPL unknown: AAPL: Yahoo Finance failed" in log  # the stand-in, asked through OFFLINE


def test_no_output_holds_the_tradier_token(scanner_env: dict[str, str], api: ReplayServer) -> None:
    api.script(EXPIRATIONS, Answer(400, {"fault": {"faultstring": f"token {TOKEN} is not valid"}}),
               when={"symbol": "LEAK"})  # a server echoing the token back
    serve_tradier(api, ["AAPL"])
    env = tradier_scan_env(scanner_env, api)
    scan = run_cli(scan_args(["AAPL", "LEAK"]), env)
    assert scan.returncode == 0 and "1 error" in scan.stdout, scan.stdout + scan.stderr
    store = open_store(Settings.from_env(env))
    assert store.errors(store.latest_id())["LEAK"] == "LEAK: Tradier error (HTTP 400): token [redacted] is not valid"
    outputs = [scan.stdout, scan.stderr]
    for args in (["status", "--json"], ["history", "--json"], ["export", "--all", "--output", "-"]):
        done = run_cli(args, env)
        outputs += [done.stdout, done.stderr]
    assert all(TOKEN not in text for text in outputs)
