"""The data source misbehaving under real scans (issue 6, "Faults"): hangs, garbage and rate limits.

Every test runs `python -m scanner scan --provider marketdata` as a real process against the real embedded
server (`scanner_env`), with MD_URL_BASE pointing at a real HTTP server on 127.0.0.1 (tests/support/http_replay.py)
that answers in MarketData's format. The scans use `--as-of`, so expirations and DTEs are the same every day.

No bound here counts on the machine's speed. A hang is caught by LIMIT, the most a scan process may take: far
more than a loaded machine needs to start one and wait out every timeout, far less than the misbehaving answers
last (SILENCE), so a scan that waits on one is killed and fails its test. How long the scan waited is bounded
from the scan's own record (its lock taken to its end: no process start-up in it) and from the arrival times
the server saw, at generous multiples of what the retry policy (`RetryPolicy()`, which the marketdata source
uses) and SCANNER_HTTP_TIMEOUT allow; what the client did is bounded by the requests the server counted.
"""

from __future__ import annotations

import json
import math
import subprocess
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from itertools import pairwise
from typing import Any

import pandas as pd
import pytest

from scanner.market.calendar import weekly_expirations
from scanner.providers.httpclient import RetryPolicy
from scanner.store.scans import ScanMeta, ScanStore
from tests.support.http_replay import Answer, ReplayServer, Seen, chain_path, chain_payload, scan_env, serve_chains
from tests.support.processes import cli_status, run_cli

KEY = "md-dummy-key-for-fault-tests"
AS_OF = date(2026, 11, 30)  # a Monday
WEEKS = 4  # the default criteria: one chain request per ticker and weekly expiration
EXPIRATIONS = weekly_expirations(AS_OF, WEEKS)
TIMEOUT = 0.5  # SCANNER_HTTP_TIMEOUT of these scans
POLICY = RetryPolicy()  # what the scan process retries with
LIMIT = 120.0  # seconds a scan process may take in all (start-up included) before the test fails it as hung
SILENCE = 600.0  # how long a hanging answer hangs: far beyond LIMIT
SLACK = 2  # the multiple of what the policy allows that a bound grants: room for a loaded machine, not for a hang


def backoff_cap(retry: int) -> float:
    """The longest pause before retry number `retry` (1-based): the policy's jitter never exceeds it."""
    return min(POLICY.backoff_cap, POLICY.backoff_base * 2 ** (retry - 1))


def worst_request(per_attempt: float) -> float:
    """The longest one chain request may take: every attempt used up, with the longest backoff between them."""
    return POLICY.attempts * per_attempt + sum(backoff_cap(n) for n in range(1, POLICY.attempts))


def by_request(seen: list[Seen]) -> dict[tuple[str, str], list[float]]:
    """Arrival times (server clock) of each (path, expiration), in order: a request's attempts."""
    times: dict[tuple[str, str], list[float]] = defaultdict(list)
    for request in seen:
        times[request.path, request.query["expiration"]].append(request.at)
    return times


@dataclass(frozen=True)
class Scan:
    """A finished scan process and what it left in the store."""

    done: subprocess.CompletedProcess
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
    return {**scan_env(scanner_env, api, KEY), "SCANNER_HTTP_TIMEOUT": str(TIMEOUT), "SCANNER_LOCK_TTL": "10"}


def serve_always(api: ReplayServer, symbol: str, answer: Answer) -> None:
    api.script(chain_path(symbol), answer)


def scan(env: dict[str, str], store: ScanStore, tickers: list[str]) -> Scan:
    """Run a whole scan in its own process; one that outlasts LIMIT fails the test (it hung)."""
    done = run_cli(["scan", "--provider", "marketdata", "--tickers", ",".join(tickers), "--as-of", AS_OF.isoformat()],
                   env, timeout=LIMIT)
    scan_id = store.current_id()
    assert scan_id is not None, done.stderr
    meta = store.get(scan_id)
    assert meta is not None and not meta.active, done.stderr
    for output in (done.stdout, done.stderr):
        assert "Traceback" not in output and KEY not in output, output
    status = cli_status(env)
    assert not status["lock"]["held"] and status["current"]["scan_id"] == scan_id  # released, whatever happened
    return Scan(done, meta, store.errors(scan_id), store.results(scan_id).frame, status)


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
    serve_chains(api, good, EXPIRATIONS)
    for symbol, answer in hanging.items():
        serve_always(api, symbol, answer)
    tickers = [*good, *hanging]
    hanging_requests = len(hanging) * WEEKS
    env = {**md_env, "SCANNER_CONCURRENCY": str(hanging_requests)}  # every hanging request in flight at once
    # An attempt ends a timeout after it began; a body still arriving then is dropped at its next read, at most
    # one more timeout later. All hanging requests run at once, so the scan waits about one worst request.
    per_attempt = 2 * TIMEOUT
    bound = worst_request(per_attempt) * math.ceil(hanging_requests / int(env["SCANNER_CONCURRENCY"]))
    result = scan(env, real_store, tickers)
    assert_completed(result, tickers, failing=set(hanging))
    for symbol in hanging:
        assert f"no answer within {TIMEOUT:g} s ({POLICY.attempts} attempts)" in result.errors[symbol]
        assert len(api.requests_to(chain_path(symbol))) == WEEKS * POLICY.attempts  # retried, then given up
    # Each attempt was cut by the client's timeout, not ended by the server (which answers after SILENCE): the
    # server saw each retry of a hanging request within SLACK times the attempt and backoff the policy allows.
    hanging_seen = [seen for symbol in hanging for seen in api.requests_to(chain_path(symbol))]
    for request, times in by_request(hanging_seen).items():
        gaps = [later - earlier for earlier, later in pairwise(times)]
        allowed = [SLACK * (per_attempt + backoff_cap(retry)) for retry in range(1, len(times))]
        assert all(gap <= most for gap, most in zip(gaps, allowed, strict=True)), (request, gaps, allowed)
    # The scan's own record (lock taken to end, no start-up in it): it waited out each attempt's timeout, and
    # the hanging requests all at once (in turns they would take about hanging_requests / 2 times the bound).
    assert POLICY.attempts * TIMEOUT <= result.scan_seconds <= SLACK * bound, (result.scan_seconds, bound)
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
    serve_chains(api, good, EXPIRATIONS)
    serve_chains(api, [junk], EXPIRATIONS, _junk_columns)
    serve_chains(api, [misaligned], EXPIRATIONS, _misaligned_columns)
    serve_chains(api, [epochs], EXPIRATIONS, _epochs_out_of_range)
    for symbol, (answer, _) in UNREADABLE.items():
        serve_always(api, symbol, answer)
    tickers = [*good, junk, misaligned, epochs, *UNREADABLE]
    result = scan(md_env, real_store, tickers)
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
    serve_chains(api, tickers, EXPIRATIONS)
    api.stretch(Answer(429, {"s": "error", "errmsg": "Too many requests"}, {"Retry-After": f"{retry_after:g}"}),
                stretch)
    result = scan(env, real_store, tickers)
    assert_completed(result, tickers, failing=set())
    seen = [s for path in map(chain_path, tickers) for s in api.requests_to(path)]
    throttled = [s for s in seen if s.status == 429]
    # then every (ticker, expiration) answered; on a loaded machine a slow answer may be asked again (a timeout)
    answered = {(s.path, s.query["expiration"]) for s in seen if s.status == 200}
    assert throttled and answered == {(chain_path(t), e.isoformat()) for t in tickers for e in EXPIRATIONS}
    # Every request paused, not just the throttled one: each of the requests in flight asked at most once per
    # Retry-After during the stretch (a client that ignored it would loop hundreds of times).
    assert len(throttled) <= (stretch / retry_after + 1) * in_flight
    # Waited out, and no longer, on the server's clock (no start-up or screening in it): the stretch began with
    # the first request, and the first chain answered after it came within SLACK Retry-Afters of its end (a
    # paused request resumes a Retry-After after its last 429). A client that waited longer than it was told, or
    # backed off on its own, fails; the scan's own record agrees it waited the stretch out.
    lifted = min(s.at for s in throttled) + stretch
    resumed = min(s.at for s in seen if s.status == 200)
    assert lifted <= resumed <= lifted + SLACK * retry_after, (resumed - lifted, retry_after)
    assert stretch <= result.scan_seconds, result.scan_seconds


def test_a_rate_limit_beyond_the_longest_wait_stops_the_scan_and_keeps_partial_results(
        md_env: dict[str, str], api: ReplayServer, real_store: ScanStore) -> None:
    before, limited, after = ["AAPL", "MSFT"], "NVDA", ["AMZN", "META"]
    serve_chains(api, [*before, *after], EXPIRATIONS)
    an_hour = POLICY.max_rate_limit_wait * 30
    serve_always(api, limited, Answer(429, {"s": "error", "errmsg": "Too many requests"},
                                      {"Retry-After": f"{an_hour:g}", "X-Api-Ratelimit-Remaining": "250"}))
    env = {**md_env, "SCANNER_CONCURRENCY": "1"}  # tickers in order: the limit hits after two are done
    result = scan(env, real_store, [*before, limited, *after])
    assert result.done.returncode == 1, result.done.stdout + result.done.stderr
    assert result.meta.status == "failed"
    message = result.meta.message
    assert "MarketData rate limit is reached: requests resume at" in message and "partial results kept" in message
    assert message in result.done.stdout  # the CLI says why it stopped
    assert result.tickers_with_rows() == set(before)
    assert result.meta.tickers_done == 3 and set(result.errors) == {limited}
    assert not any(api.requests_to(chain_path(symbol)) for symbol in after)  # nothing asked after the stop
    # Stopped at once. No retry loop: the server saw each of the limited ticker's expirations asked once at most.
    # No wait: the scan's own record is far below the shortest wait it could have made instead (the policy's
    # longest, to which a client might cap the hour), however slow the machine.
    asked = by_request(api.requests_to(chain_path(limited)))
    assert asked and all(len(times) == 1 for times in asked.values()), asked
    assert result.scan_seconds < POLICY.max_rate_limit_wait / 4, result.scan_seconds
    status = cli_status(env)
    assert status["current"]["status"] == "failed" and status["latest"] is None  # nothing passes for completed
    assert json.dumps(status).count(KEY) == 0
