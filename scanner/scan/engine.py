"""Starting and running a scan: the same code for the page (subprocess) and the CLI (foreground)."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from datetime import date
from enum import Enum
from typing import TypeVar

from scanner.config import Settings
from scanner.errors import (
    REDIS_DOWN,
    AlreadyRunning,
    ConfigError,
    MarketClosed,
    ProviderError,
    ProviderFatal,
    ScanRefused,
)
from scanner.market import calendar
from scanner.providers.base import ChainRequest, Provider
from scanner.providers.registry import get_provider
from scanner.scan.criteria import Criteria
from scanner.scan.launcher import spawn_scan
from scanner.scan.screening import screen, unusable
from scanner.scan.watchlist import parse_symbols
from scanner.store.codec import encode_rows
from scanner.store.lock import Heartbeat, ScanLock
from scanner.store.scans import ScanMeta, ScanStatus, ScanStore, new_scan_id

log = logging.getLogger(__name__)
T = TypeVar("T")

@dataclass(frozen=True)
class ScanRequest:
    """What to scan; None fields come from the stored watch-list and criteria."""

    tickers: list[str] | None = None
    provider: str | None = None
    side: str | None = None
    weeks: int | None = None
    ignore_market_hours: bool = False
    as_of: date | None = None


@dataclass(frozen=True)
class Started:
    scan_id: str
    token: str


class StopReason(Enum):
    """Why the scan stopped fetching before the last ticker."""

    CANCELLED = "cancelled"  # the cancel flag, SIGTERM or SIGINT
    LOCK_LOST = "lock lost"  # the lock expired or was force-released


@dataclass
class _Tally:
    total: int
    done: int = 0
    contracts: int = 0
    matches: int = 0
    errors: int = 0
    invalid: int = 0
    fatal: str | None = None
    stopped: StopReason | None = None
    cancel_requested: bool = False  # as of the latest write


def begin_scan(settings: Settings, store: ScanStore, request: ScanRequest) -> Started:
    """Validate, check market hours, take the lock and record the scan as starting."""
    provider_name = request.provider or settings.provider
    provider = get_provider(provider_name, settings)
    try:
        tickers = parse_symbols(request.tickers) if request.tickers is not None else store.watchlist.tickers()
    except ValueError as exc:
        raise ScanRefused(str(exc)) from None
    if not tickers:
        raise ScanRefused("The watch-list is empty: add tickers first.")
    base = store.criteria.load()
    try:
        criteria = Criteria.from_dict({**base.to_dict(), **{k: v for k, v in
                                       (("side", request.side), ("weeks", request.weeks)) if v is not None}})
    except ValueError as exc:
        raise ScanRefused(str(exc)) from None
    enforce = provider.live if settings.enforce_market_hours is None else settings.enforce_market_hours
    if enforce and not request.ignore_market_hours and not calendar.is_market_open(settings.now_override):
        raise MarketClosed(calendar.next_open(settings.now_override))
    lock = ScanLock(store.client, store.keys, settings.lock_ttl)
    token = lock.acquire()
    if token is None:
        raise AlreadyRunning(store.current_id())
    scan_id = new_scan_id()
    try:
        store.create(scan_id, provider=provider_name, provider_label=provider.label, criteria=criteria.to_dict(),
                     tickers=tickers, as_of=request.as_of)
    except BaseException:
        lock.release()
        raise
    return Started(scan_id=scan_id, token=token)


def start_background(settings: Settings, store: ScanStore, request: ScanRequest) -> str:
    """The page's path: take the lock here, hand it to a scan subprocess, return at once."""
    started = begin_scan(settings, store, request)
    try:
        pid = spawn_scan(settings, started.scan_id, started.token)
    except OSError as exc:
        store.finish(started.scan_id, ScanStatus.FAILED, f"Could not start the scan process: {exc.strerror}")
        ScanLock.attach(store.client, store.keys, settings.lock_ttl, started.token).release()
        raise ScanRefused(f"Could not start the scan process: {exc.strerror}") from None
    store.set_fields(started.scan_id, pid=pid)
    return started.scan_id


REDIS_BACKOFF = (0.5, 1.0, 2.0, 4.0, 8.0)  # seconds between attempts: 15.5 s in all rides out a restart


def retrying(action: Callable[[], T], sleep: Callable[[float], None] = time.sleep) -> T:
    """Redis writes survive a restart of the server: retried after each REDIS_BACKOFF delay, then the error."""
    for delay in REDIS_BACKOFF:
        try:
            return action()
        except REDIS_DOWN:
            log.warning("Redis unavailable; retrying in %.1f s", delay)
            sleep(delay)
    return action()


@dataclass(frozen=True)
class _TickerResult:
    payload: bytes | None = None  # the screened rows, encoded for the store
    contracts: int = 0
    matches: int = 0
    invalid: int = 0  # unusable rows the source sent, dropped
    error: str | None = None
    fatal: bool = False


def _fetch_and_screen(provider: Provider, ticker: str, request: ChainRequest, criteria: Criteria,
                      as_of: date) -> _TickerResult:
    """One ticker fetched, screened and encoded in a worker thread (so it overlaps other fetches); never raises."""
    try:
        rows = screen(provider.fetch(ticker, request), criteria, as_of)
        usable = ~unusable(rows)
        return _TickerResult(payload=encode_rows(rows, keep=usable), contracts=int(usable.sum()),
                             matches=int(rows["match"].to_numpy()[usable].sum()), invalid=int(len(rows) - usable.sum()))
    except ProviderFatal as exc:
        return _TickerResult(error=str(exc), fatal=True)
    except ProviderError as exc:
        return _TickerResult(error=str(exc))
    except Exception as exc:  # a provider bug must not end the scan: record it for this ticker
        log.exception("unexpected error for %s", ticker)
        return _TickerResult(error=f"unexpected error ({type(exc).__name__})")


def run_scan(settings: Settings, store: ScanStore, scan_id: str, token: str,
             on_progress: Callable[[ScanMeta], None] | None = None,
             stop: threading.Event | None = None) -> ScanMeta:
    """Run a started scan as the lock holder; records the end and releases the lock whatever happens."""
    lock = ScanLock.attach(store.client, store.keys, settings.lock_ttl, token)
    meta = store.get(scan_id)
    if meta is None or not lock.owned():
        if meta is not None:
            store.finish(scan_id, ScanStatus.FAILED, "The scan lost its lock before it began.")
        raise AlreadyRunning(store.current_id())
    store.mark_running(scan_id, os.getpid(), socket.gethostname())
    status, message = ScanStatus.FAILED, "The scan stopped unexpectedly."
    try:
        with Heartbeat(lock, lambda: store.heartbeat(scan_id)) as heartbeat:
            tally = _scan_tickers(settings, store, meta, heartbeat, stop or threading.Event(), on_progress)
        status, message = _outcome(tally)
    except ConfigError as exc:
        message = f"The scan could not start: {exc}"
    except REDIS_DOWN:
        message = "Redis became unavailable during the scan."
    except Exception as exc:
        log.exception("scan %s failed", scan_id)
        message = f"The scan failed ({type(exc).__name__})."
    finally:
        try:
            retrying(lambda: store.finish(scan_id, status, message))
        finally:
            retrying(lock.release)
    log.info("scan %s %s: %s", scan_id, status, message)
    return store.get(scan_id) or meta


def in_words(count: int, noun: str) -> str:
    """A count in words, the noun singular for exactly one: "1 match", "2 matches", "0 errors"."""
    if count == 1:
        return f"{count} {noun}"
    return f"{count:,} {noun}{'es' if noun.endswith(('s', 'x', 'ch', 'sh')) else 's'}"


def _outcome(tally: _Tally) -> tuple[ScanStatus, str]:
    summary = (f"{tally.done}/{in_words(tally.total, 'ticker')}, {in_words(tally.contracts, 'contract')}, "
               f"{in_words(tally.matches, 'match')}, {in_words(tally.errors, 'error')}")
    if tally.invalid:
        summary += f", {in_words(tally.invalid, 'unusable row')} dropped"
    if tally.fatal:
        return ScanStatus.FAILED, f"{tally.fatal} (partial results kept: {summary})"
    # a cancel read after the last fetch skipped nothing: the scan completed
    if tally.stopped is StopReason.CANCELLED and tally.done < tally.total:
        return ScanStatus.CANCELLED, f"Cancelled after {summary}."
    if tally.stopped is StopReason.LOCK_LOST:
        return ScanStatus.FAILED, f"The scan lost its lock and stopped after {summary}."
    return ScanStatus.COMPLETED, f"{summary}."


def _scan_tickers(settings: Settings, store: ScanStore, meta: ScanMeta, heartbeat: Heartbeat,
                  stop: threading.Event, on_progress: Callable[[ScanMeta], None] | None) -> _Tally:
    provider = get_provider(meta.provider, settings)
    criteria = Criteria.of_scan(meta.criteria)
    request = criteria.chain_request(meta.as_of)
    as_of = provider.quote_date(request)
    tally = _Tally(total=len(meta.tickers), cancel_requested=retrying(lambda: store.cancel_requested(meta.scan_id)))
    tickers = iter(meta.tickers)

    def stop_reason() -> StopReason | None:
        if heartbeat.lost.is_set():
            return StopReason.LOCK_LOST
        if stop.is_set() or tally.cancel_requested:
            return StopReason.CANCELLED
        return None

    with ThreadPoolExecutor(max_workers=settings.concurrency, thread_name_prefix="fetch") as pool:
        pending: dict[Future, str] = {}

        def refill() -> None:
            while len(pending) < settings.concurrency and tally.stopped is None and tally.fatal is None:
                tally.stopped = stop_reason()
                ticker = None if tally.stopped else next(tickers, None)
                if ticker is None:
                    return
                pending[pool.submit(_fetch_and_screen, provider, ticker, request, criteria, as_of)] = ticker

        refill()
        while pending:
            finished = [(pending.pop(future), future.result())
                        for future in wait(pending, return_when=FIRST_COMPLETED).done]
            tally.fatal = tally.fatal or next((result.error for _, result in finished if result.fatal), None)
            refill()  # before writing: the next fetches need not wait for Redis
            for ticker, result in finished:
                counted = _record(store, meta.scan_id, ticker, result, tally, _usage(provider))
                if on_progress:
                    on_progress(replace(meta, **counted))
        return tally


def _usage(provider: Provider) -> dict[str, int]:
    """Scan-hash fields a metered source reports (``credits_used``, ``credits_remaining``); {} for others."""
    usage = getattr(provider, "usage", None)
    return usage() if callable(usage) else {}


def _record(store: ScanStore, scan_id: str, ticker: str, result: _TickerResult, tally: _Tally,
            usage: dict[str, int]) -> dict[str, int | float | str]:
    """Write one ticker's rows and the scan's counters in one round trip; returns the counters."""
    tally.done += 1
    tally.contracts += result.contracts
    tally.matches += result.matches
    tally.errors += result.error is not None
    tally.invalid += result.invalid
    counted = counters(tally.done, tally.total, tally.contracts, tally.matches, tally.errors, ticker)
    progress = {**counted, "invalid_rows": tally.invalid, **usage}
    tally.cancel_requested = retrying(lambda: store.record_ticker(scan_id, ticker, result.payload, result.error,
                                                                   progress))
    return counted


def counters(done: int, total: int, contracts: int, matches: int, errors: int,
             ticker: str) -> dict[str, int | float | str]:
    """The progress fields (ScanMeta names) written with each ticker."""
    pct = round(100.0 * done / total, 1) if total else 100.0
    return {"tickers_done": done, "tickers_total": total, "pct": pct, "contracts": contracts,
            "matches": matches, "errors": errors, "current_ticker": ticker}
