"""The engine's own rules, in-process: how it rides out Redis going away, how it stops once its lock is lost, and how it
words a scan's outcome."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import redis

from scanner.config import Settings
from scanner.errors import LockLost
from scanner.scan.engine import (
    REDIS_BACKOFF,
    ScanRequest,
    _outcome,
    _Tally,
    begin_scan,
    in_words,
    retrying,
    run_scan,
)
from scanner.store.scans import ScanMeta, ScanStatus, ScanStore


def _failing(times: int, error: Exception) -> tuple[list[int], Callable[[], str]]:
    calls: list[int] = []

    def action() -> str:
        calls.append(1)
        if len(calls) <= times:
            raise error
        return "written"

    return calls, action


def test_redis_writes_back_off_0_5_1_2_4_8_seconds_then_succeed() -> None:
    sleeps: list[float] = []
    calls, action = _failing(5, redis.ConnectionError("restarting"))
    assert retrying(action, sleep=sleeps.append) == "written"
    assert sleeps == [0.5, 1.0, 2.0, 4.0, 8.0] == list(REDIS_BACKOFF) and len(calls) == 6


def test_redis_staying_down_raises_after_the_whole_backoff() -> None:
    sleeps: list[float] = []
    calls, action = _failing(99, redis.TimeoutError("down"))
    with pytest.raises(redis.TimeoutError):
        retrying(action, sleep=sleeps.append)
    assert sleeps == [0.5, 1.0, 2.0, 4.0, 8.0] and len(calls) == 6


def test_other_errors_are_not_retried() -> None:
    sleeps: list[float] = []
    calls, action = _failing(1, redis.ResponseError("WRONGTYPE"))
    with pytest.raises(redis.ResponseError):
        retrying(action, sleep=sleeps.append)
    assert sleeps == [] and len(calls) == 1


@pytest.mark.parametrize(("count", "noun", "words"), [
    (1, "match", "1 match"), (2, "match", "2 matches"), (0, "match", "0 matches"), (1, "contract", "1 contract"),
    (3, "contract", "3 contracts"), (1, "error", "1 error"), (0, "error", "0 errors"), (1, "ticker", "1 ticker"),
    (2, "unusable row", "2 unusable rows"),
])
def test_counts_in_words(count: int, noun: str, words: str) -> None:
    assert in_words(count, noun) == words


def test_a_scan_of_one_of_each_says_so_in_the_singular() -> None:
    status, message = _outcome(_Tally(total=1, done=1, contracts=1, matches=1, errors=1, invalid=1))
    assert status is ScanStatus.COMPLETED
    assert message == "1/1 ticker, 1 contract, 1 match, 1 error, 1 unusable row dropped."
    _, message = _outcome(_Tally(total=3, done=3, contracts=40, matches=0, errors=2))
    assert message == "3/3 tickers, 40 contracts, 0 matches, 2 errors."


def test_a_scan_that_loses_its_lock_writes_nothing_more_and_says_how_far_it_got(fake_store: ScanStore,
                                                                               tmp_path: Path) -> None:
    settings = Settings.from_env({"SCANNER_PROVIDER": "demo", "SCANNER_DEMO_DELAY_MS": "0", "SCANNER_CONCURRENCY": "1",
                                  "SCANNER_DATA_DIR": str(tmp_path)})
    started = begin_scan(settings, fake_store, ScanRequest(tickers=["AAPL", "MSFT", "NVDA"]))

    def expire_after_the_first(meta: ScanMeta) -> None:
        if meta.tickers_done == 1:
            fake_store.client.delete(fake_store.keys.lock)  # expired, force-released, or gone with a restart

    with pytest.raises(LockLost, match=f"^scan {started.scan_id} lost its lock after 1/3 tickers; another scan may "
                                       "be running$"):
        run_scan(settings, fake_store, started.scan_id, started.token, on_progress=expire_after_the_first)
    meta = fake_store.get(started.scan_id)
    assert (meta.status, meta.tickers_done, meta.version) == ("running", 1, 1)  # nothing written after the loss
    assert fake_store.results(started.scan_id).frame["ticker"].unique().tolist() == ["AAPL"]


def test_a_scan_screens_at_the_configured_risk_free_rate_and_dividend_yield(fake_store: ScanStore,
                                                                            tmp_path: Path) -> None:
    """POP (Black-Scholes at r and q) follows SCANNER_RISK_FREE_RATE and SCANNER_DIVIDEND_YIELD."""
    pops = []
    for rate, dividend_yield in (("0", "0"), ("0.2", "0.1")):
        settings = Settings.from_env({"SCANNER_PROVIDER": "demo", "SCANNER_DEMO_DELAY_MS": "0",
                                      "SCANNER_DATA_DIR": str(tmp_path), "SCANNER_RISK_FREE_RATE": rate,
                                      "SCANNER_DIVIDEND_YIELD": dividend_yield})
        started = begin_scan(settings, fake_store, ScanRequest(tickers=["AAPL"]))
        run_scan(settings, fake_store, started.scan_id, started.token)
        rows = fake_store.results(started.scan_id).frame.sort_values("option_symbol").reset_index(drop=True)
        pops.append(rows["pop_pct"].to_numpy(dtype=float, na_value=float("nan")))
    usable = ~(np.isnan(pops[0]) | np.isnan(pops[1]))
    assert usable.sum() > 0
    # r − q = 0.1 > 0 moves the drift up: every put's and covered call's odds of ending above break-even rise
    # (those already at 100% to two decimals stay there)
    assert (pops[1][usable] >= pops[0][usable]).all() and (pops[1][usable] > pops[0][usable] + 1).any()
