"""The data source misbehaving under real scans (issue 6, "Faults"): hangs, garbage and rate limits.

Every test runs `python -m scanner scan --provider marketdata` as a real process against the real embedded
server (`scanner_env`), with MD_URL_BASE pointing at a real HTTP server on 127.0.0.1 (tests/http_replay.py)
that answers in MarketData's format. The scans use `--as-of`, so expirations and DTEs are the same every day.

Wall-time bounds are derived from the scan process's own retry policy (`RetryPolicy()`, which the marketdata
source uses) and SCANNER_HTTP_TIMEOUT, plus a generous allowance for a loaded machine: they are correctness
bounds (a scan must not wait on a misbehaving server for longer than its timeouts allow), not benchmarks.
The misbehaving answers last far longer than those bounds, so a missing timeout fails the test.
"""

from __future__ import annotations

import json
import math
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd
import pytest

from scanner.market.calendar import weekly_expirations
from scanner.providers.httpclient import RetryPolicy
from scanner.store.scans import ScanMeta, ScanStore
from tests.support.http_replay import Answer, ReplayServer, chain_payload
from tests.support.processes import cli_status, run_cli

KEY = "md-dummy-key-for-fault-tests"
AS_OF = date(2026, 11, 30)  # a Monday
WEEKS = 4  # the default criteria: one chain request per ticker and weekly expiration
EXPIRATIONS = weekly_expirations(AS_OF, WEEKS)
TIMEOUT = 0.5  # SCANNER_HTTP_TIMEOUT of these scans
POLICY = RetryPolicy()  # what the scan process retries with
SILENCE = 60.0  # how long a hanging answer hangs: far beyond any bound below
ALLOWANCE = 15.0  # for the scan process to start (imports, calendar, Redis) and screen on a loaded 2-core machine


def worst_request(per_attempt: float) -> float:
    """The longest one chain request may take: every attempt used up, with the longest backoff between them."""
    backoffs = sum(min(POLICY.backoff_cap, POLICY.backoff_base * 2 ** (n - 1)) for n in range(1, POLICY.attempts))
    return POLICY.attempts * per_attempt + backoffs


def chain_path(symbol: str) -> str:
    return f"/v1/options/chain/{symbol}/"


@dataclass(frozen=True)
class Scan:
    """A finished scan process and what it left in the store."""

    done: subprocess.CompletedProcess
    seconds: float  # the process's wall time, start-up included
    meta: ScanMeta
    errors: dict[str, str]
    rows: pd.DataFrame
    status: dict[str, Any]  # `status --json` after the scan

    @property
    def scan_seconds(self) -> float:
        """The scan's own wall time, as recorded on the scan (lock taken to end recorded)."""
        assert self.meta.elapsed is not None
        return self.meta.elapsed

    def tickers_with_rows(self) -> set[str]:
        return set(self.rows["ticker"]) if len(self.rows) else set()


@pytest.fixture
def api() -> Iterator[ReplayServer]:
    with ReplayServer() as server:
        yield server


@pytest.fixture
def md_env(scanner_env: dict[str, str], api: ReplayServer) -> dict[str, str]:
    return {**scanner_env, "SCANNER_PROVIDER": "marketdata", "MD_API_KEY": KEY, "MD_URL_BASE": api.url,
            "SCANNER_ENFORCE_MARKET_HOURS": "false", "SCANNER_HTTP_TIMEOUT": str(TIMEOUT), "SCANNER_LOCK_TTL": "10"}


def serve_chains(api: ReplayServer, symbols: list[str],
                 spoil: Callable[[dict[str, Any]], dict[str, Any]] = lambda payload: payload) -> None:
    """Each symbol's chain for each weekly expiration, passed through `spoil` (garbage in some columns)."""
    for symbol in symbols:
        for expiration in EXPIRATIONS:
            api.script(chain_path(symbol), Answer(200, spoil(chain_payload(symbol, expiration))),
                       when={"expiration": expiration.isoformat()})


def serve_always(api: ReplayServer, symbol: str, answer: Answer) -> None:
    api.script(chain_path(symbol), answer)


def scan(env: dict[str, str], store: ScanStore, tickers: list[str], timeout: float) -> Scan:
    """Run a whole scan in its own process; `timeout` bounds the process (a hang fails the test)."""
    begun = time.monotonic()
    done = run_cli(["scan", "--provider", "marketdata", "--tickers", ",".join(tickers), "--as-of", AS_OF.isoformat()],
                   env, timeout=timeout)
    seconds = time.monotonic() - begun
    scan_id = store.current_id()
    assert scan_id is not None, done.stderr
    meta = store.get(scan_id)
    assert meta is not None and not meta.active, done.stderr
    for output in (done.stdout, done.stderr):
        assert "Traceback" not in output and KEY not in output, output
    status = cli_status(env)
    assert not status["lock"]["held"] and status["current"]["scan_id"] == scan_id  # released, whatever happened
    return Scan(done, seconds, meta, store.errors(scan_id), store.results(scan_id).frame, status)


def assert_completed(result: Scan, tickers: list[str], failing: set[str]) -> None:
    """Exit 0, every ticker done, errors recorded for exactly `failing`, rows for all the others."""
    assert result.done.returncode == 0, result.done.stdout + result.done.stderr
    assert result.meta.status == "completed" and f"scan {result.meta.scan_id} completed" in result.done.stdout
    assert result.meta.tickers_done == len(tickers) and result.meta.errors == len(failing)
    assert set(result.errors) == failing
    assert result.tickers_with_rows() == set(tickers) - failing
    assert result.status["latest"]["scan_id"] == result.meta.scan_id
    assert result.status["latest"]["errors"] == len(failing)


def test_hanging_answers_are_ticker_errors_within_the_timeouts(md_env: dict[str, str], api: ReplayServer,
                                                               real_store: ScanStore) -> None:
    good = ["GOOD", "FINE", "OKAY"]
    hanging = {
        "HANG": Answer(200, {"s": "no_data"}, delay=SILENCE),  # no answer at all
        "STALL": Answer(200, chain_payload("STALL", EXPIRATIONS[0]), trickle=SILENCE),  # headers, 1 byte, silence
        "DRIP": Answer(200, chain_payload("DRIP", EXPIRATIONS[0]), trickle=TIMEOUT / 3),  # never silent for long
    }
    serve_chains(api, good)
    for symbol, answer in hanging.items():
        serve_always(api, symbol, answer)
    tickers = [*good, *hanging]
    hanging_requests = len(hanging) * WEEKS
    env = {**md_env, "SCANNER_CONCURRENCY": str(hanging_requests)}  # every hanging request in flight at once
    # An attempt ends a timeout after it began; a body still arriving then is dropped at its next read, at most
    # one more timeout later. All hanging requests run at once, so the scan waits about one worst request.
    bound = worst_request(2 * TIMEOUT) * math.ceil(hanging_requests / int(env["SCANNER_CONCURRENCY"]))
    result = scan(env, real_store, tickers, timeout=bound + 2 * ALLOWANCE)
    assert_completed(result, tickers, failing=set(hanging))
    for symbol in hanging:
        assert f"no answer within {TIMEOUT:g} s ({POLICY.attempts} attempts)" in result.errors[symbol]
        assert len(api.requests_to(chain_path(symbol))) == WEEKS * POLICY.attempts  # retried, then given up
    assert result.scan_seconds <= bound + ALLOWANCE / 3, (result.scan_seconds, bound)
    assert result.seconds <= bound + ALLOWANCE, (result.seconds, bound)
    assert result.scan_seconds >= POLICY.attempts * TIMEOUT  # it did wait out each attempt's timeout
    assert result.meta.matches > 0


def _junk_columns(payload: dict[str, Any]) -> dict[str, Any]:
    """Nulls, NaN, strings, negative numbers, zero strikes and epochs no calendar holds, one per row."""
    first = payload["expiration"][0]
    return {**payload,
            "strike": [0, -5.0, "ninety", None, payload["strike"][4]],
            "bid": [float("nan"), None, "1.20", -1.0, 0.9],
            "ask": ["n/a", None, float("nan"), -0.5, 1.0],
            "delta": [None, float("nan"), "-0.1", -0.1, -0.15],
            "iv": [-0.3, 0, "x", None, 0.3],
            "volume": ["lots", -3, None, float("nan"), 7],
            "underlyingPrice": [100.0, None, "100", -1, 100.0],
            "expiration": [1e20, -1e20, "soon", None, first],
            "updated": [1e300, None, "yesterday", float("nan"), first]}


def _misaligned_columns(payload: dict[str, Any]) -> dict[str, Any]:
    """Lists that do not hold one entry per contract (the API's own example has such a `side` list)."""
    return {**payload, "volume": payload["volume"][:2], "side": payload["side"] + ["put", "call"], "delta": []}


def _epochs_out_of_range(payload: dict[str, Any]) -> dict[str, Any]:
    """Every expiration and update time beyond any calendar: the option symbols still date the contracts."""
    n = len(payload["optionSymbol"])
    return {**payload, "expiration": [1e20] * n, "updated": [-1e300] * n}


UNREADABLE = {  # answers no chain can be read from: the ticker's error says why
    "HTML": (Answer(200, "<html><body>502 Bad Gateway</body></html>"), "no JSON body"),
    "TRUNC": (Answer(200, '{"s": "ok", "optionSymbol": ["TRUNC261204P0'), "no JSON body"),
    "BYTES": (Answer(200, b"\xff\xfe\x00\x9c garbage"), "no JSON body"),
    "LIST": (Answer(200, [1, 2, 3]), "status None"),
    "STATE": (Answer(200, {"s": "maybe", "optionSymbol": []}), "status 'maybe'"),
    "NOSYM": (Answer(200, {"s": "ok", "strike": [95, 96]}), "no optionSymbol list"),
    "SYMSTR": (Answer(203, {"s": "ok", "optionSymbol": "SYMSTR261204P00095000"}), "no optionSymbol list"),
    "ERR": (Answer(400, {"s": "error", "errmsg": ["not", "a", "string"]}), "MarketData error (HTTP 400)"),
}


def test_garbage_answers_leave_errors_for_unreadable_tickers_and_rows_for_the_rest(
        md_env: dict[str, str], api: ReplayServer, real_store: ScanStore) -> None:
    good, junk, misaligned, epochs = ["GOOD", "FINE"], "JUNK", "SKEW", "EPOCH"
    serve_chains(api, good)
    serve_chains(api, [junk], _junk_columns)
    serve_chains(api, [misaligned], _misaligned_columns)
    serve_chains(api, [epochs], _epochs_out_of_range)
    for symbol, (answer, _) in UNREADABLE.items():
        serve_always(api, symbol, answer)
    tickers = [*good, junk, misaligned, epochs, *UNREADABLE]
    result = scan(md_env, real_store, tickers, timeout=4 * ALLOWANCE)
    assert_completed(result, tickers, failing=set(UNREADABLE))
    for symbol, (_, reason) in UNREADABLE.items():
        assert reason in result.errors[symbol], (symbol, result.errors[symbol])
    rows = result.rows.set_index("ticker")
    assert rows.loc[good, "match"].sum() > 0  # the good tickers are screened as usual
    junk_rows = rows.loc[[junk]]
    # Rows with a zero or negative strike, or no usable bid, are dropped and counted; the rest are kept, dated
    # by their option symbols where the epochs were garbage.
    assert (junk_rows["strike"] > 0).all() and (junk_rows["bid"] >= 0).all()
    assert junk_rows["expiration"].notna().all() and junk_rows["delta"].notna().any()
    assert result.meta.invalid_rows >= WEEKS * 2 and result.status["latest"]["invalid_rows"] == result.meta.invalid_rows
    skewed = rows.loc[[misaligned]]  # the misaligned lists are dropped, the rest of the chain is used
    assert len(skewed) == WEEKS * 5 and skewed["volume"].isna().all() and skewed["delta"].notna().all()
    assert (skewed["side"] == "put").all()
    assert len(rows.loc[[epochs]]) == WEEKS * 5 and rows.loc[[epochs], "expiration"].notna().all()
    assert "holds 2 entries for 5 contracts; ignored" in result.done.stderr  # the log is on stderr, and it is clean


def test_a_rate_limit_for_a_while_is_waited_out_and_the_scan_completes(
        md_env: dict[str, str], api: ReplayServer, real_store: ScanStore) -> None:
    # "A minute" scaled down to a few seconds: the client waits any Retry-After up to POLICY.max_rate_limit_wait
    # (two minutes) through the same code, and a longer one stops the scan (the next test).
    stretch, retry_after = 3.0, 1.0
    assert retry_after * POLICY.rate_limit_attempts > stretch + retry_after  # no request runs out of 429s
    tickers = ["AAPL", "MSFT", "NVDA", "AMZN", "META", "GOOGL"]
    in_flight = 8  # SCANNER_CONCURRENCY: the most requests out at once
    env = {**md_env, "SCANNER_CONCURRENCY": str(in_flight)}
    serve_chains(api, tickers)
    api.stretch(Answer(429, {"s": "error", "errmsg": "Too many requests"}, {"Retry-After": f"{retry_after:g}"}),
                stretch)
    result = scan(env, real_store, tickers, timeout=stretch + 4 * ALLOWANCE)
    assert_completed(result, tickers, failing=set())
    seen = [s for path in map(chain_path, tickers) for s in api.requests_to(path)]
    throttled = [s for s in seen if s.status == 429]
    # then every (ticker, expiration) answered; on a loaded machine a slow answer may be asked again (a timeout)
    answered = {(s.path, s.query["expiration"]) for s in seen if s.status == 200}
    assert throttled and answered == {(chain_path(t), e.isoformat()) for t in tickers for e in EXPIRATIONS}
    # Every request paused, not just the throttled one: each of the requests in flight asked at most once per
    # Retry-After during the stretch (a client that ignored it would loop hundreds of times).
    assert len(throttled) <= (stretch / retry_after + 1) * in_flight
    assert stretch <= result.scan_seconds <= stretch + retry_after + ALLOWANCE / 3, result.scan_seconds


def test_a_rate_limit_beyond_the_longest_wait_stops_the_scan_and_keeps_partial_results(
        md_env: dict[str, str], api: ReplayServer, real_store: ScanStore) -> None:
    before, limited, after = ["AAPL", "MSFT"], "NVDA", ["AMZN", "META"]
    serve_chains(api, [*before, *after])
    an_hour = POLICY.max_rate_limit_wait * 30
    serve_always(api, limited, Answer(429, {"s": "error", "errmsg": "Too many requests"},
                                      {"Retry-After": f"{an_hour:g}", "X-Api-Ratelimit-Remaining": "250"}))
    env = {**md_env, "SCANNER_CONCURRENCY": "1"}  # tickers in order: the limit hits after two are done
    result = scan(env, real_store, [*before, limited, *after], timeout=4 * ALLOWANCE)
    assert result.done.returncode == 1, result.done.stdout + result.done.stderr
    assert result.meta.status == "failed"
    message = result.meta.message
    assert "MarketData rate limit is reached: requests resume at" in message and "partial results kept" in message
    assert message in result.done.stdout  # the CLI says why it stopped
    assert result.tickers_with_rows() == set(before)
    assert result.meta.tickers_done == 3 and set(result.errors) == {limited}
    assert not any(api.requests_to(chain_path(symbol)) for symbol in after)  # nothing asked after the stop
    assert result.scan_seconds <= ALLOWANCE / 3  # stopped at once: no hour-long wait, no retry loop
    status = cli_status(env)
    assert status["current"]["status"] == "failed" and status["latest"] is None  # nothing passes for completed
    assert json.dumps(status).count(KEY) == 0
