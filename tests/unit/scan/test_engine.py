"""The engine's own rules, in-process: how it rides out Redis going away, how it stops once its lock is lost, and how it
words a scan's outcome."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import redis

from scanner.config import Settings
from scanner.errors import LockLost
from scanner.market.events import TickerEvents
from scanner.providers.base import ChainRequest
from scanner.providers.demo import DemoProvider
from scanner.scan.book import BookPlan
from scanner.scan.criteria import Criteria
from scanner.scan.engine import (
    REDIS_BACKOFF,
    ScanRequest,
    _BookShare,
    _ending,
    _outcome,
    _Screening,
    _Tally,
    begin_scan,
    in_words,
    retrying,
    run_scan,
)
from scanner.scan.fetch_pool import Fetched
from scanner.scan.screening import screen
from scanner.scan.volatility import VolatilityStep
from scanner.store.codec import read_batches, to_frame
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
    tally = _Tally(total=1, done=1, contracts=1, matches=1, errors=1, invalid=1)
    assert _outcome(tally) is ScanStatus.COMPLETED
    assert _ending(tally) == "1/1 ticker, 1 contract, 1 match, 1 error, 1 unusable row dropped."
    tally = _Tally(total=3, done=3, contracts=40, matches=0, errors=2)
    assert _ending(tally) == "3/3 tickers, 40 contracts, 0 matches, 2 errors."


def test_a_scans_counts_without_its_book_leave_out_what_only_the_book_brought() -> None:
    """Worked by hand: 4 tickers, 1 only the book's (done, with an error); 7 of 50 contracts and 2 of 9 matches are
    rows other viewers do not see."""
    tally = _Tally(total=4, done=4, contracts=50, matches=9, errors=2, book=_BookShare(1, 1, 7, 2, 1))
    assert _ending(tally.without_book()) == "3/3 tickers, 43 contracts, 7 matches, 1 error."
    assert tally.progress("MSFT") == {"tickers_done": 4, "tickers_total": 4, "pct": 100.0, "contracts": 50,
                                           "matches": 9, "errors": 2, "current_ticker": "MSFT", "invalid_rows": 0,
                                           "book_tickers_done": 1, "book_contracts": 7, "book_matches": 2,
                                           "book_errors": 1}


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


QUOTE = date(2026, 12, 1)


def _screening(store: ScanStore, screen_chain: Callable[..., pd.DataFrame] = screen) -> _Screening:
    demo = DemoProvider()
    return _Screening(Criteria(side="both"), functools.partial(screen_chain, as_of=QUOTE), BookPlan(),
                      VolatilityStep(demo, store.client, store.keys, QUOTE))


def _fetched(ticker: str) -> Fetched:
    chain = DemoProvider().fetch(ticker, ChainRequest(sides=("call", "put"), as_of=QUOTE))
    return Fetched(ticker, chain, TickerEvents(earnings_date=date(2026, 12, 10)),
                    DemoProvider().candles(ticker, QUOTE))


def _rows(payload: bytes | None) -> pd.DataFrame:
    batches, corrupt = read_batches({"rows": payload})
    assert not corrupt
    return to_frame(batches)


def test_tickers_screened_together_store_what_each_screened_alone_stores(fake_store: ScanStore) -> None:
    fetched = [_fetched(ticker) for ticker in ("NVDA", "AAPL", "MSFT")]
    together = _screening(fake_store).results(fetched)
    alone = [_screening(fake_store).results([one])[0] for one in fetched]
    for batched, single in zip(together, alone, strict=True):
        assert (batched.contracts, batched.matches, batched.invalid) == (single.contracts, single.matches,
                                                                       single.invalid)
        pd.testing.assert_frame_equal(_rows(batched.payload), _rows(single.payload))
    assert [_rows(result.payload)["ticker"].unique().tolist() for result in together] == [["NVDA"], ["AAPL"], ["MSFT"]]
    assert _rows(together[0].payload)["earnings_date"].notna().all()  # each ticker's own events and figures
    assert _rows(together[1].payload)["hv20"].notna().all()


def test_a_ticker_whose_screening_fails_records_the_error_and_its_batch_is_stored(fake_store: ScanStore) -> None:
    def failing_for_msft(chain: pd.DataFrame, **arguments: object) -> pd.DataFrame:
        if (chain["ticker"] == "MSFT").any():
            raise ZeroDivisionError("a bug")
        return screen(chain, **arguments)

    fetched = [_fetched("AAPL"), _fetched("MSFT"), _fetched("NVDA"), Fetched("TSLA", error="HTTP 404")]
    results = _screening(fake_store, failing_for_msft).results(fetched)
    assert [result.error for result in results] == [None, "unexpected error (ZeroDivisionError)", None, "HTTP 404"]
    assert [len(_rows(results[i].payload)) for i in (0, 2)] == [results[0].contracts, results[2].contracts]
    assert results[0].contracts > 0 and results[1].payload is None
