"""Starting and running a scan: the same code for the page (subprocess) and the CLI (foreground)."""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field, replace
from datetime import date
from typing import TypeVar

import numpy as np
import pandas as pd
import redis

from scanner.config import Settings
from scanner.errors import (
    REDIS_DOWN,
    REDIS_ERRORS,
    AlreadyRunning,
    ConfigError,
    LockLost,
    MarketClosed,
    ScanRefused,
)
from scanner.market import calendar
from scanner.providers.registry import get_provider
from scanner.scan.alerts import Alerter
from scanner.scan.book import BookPlan, apply_book
from scanner.scan.criteria import Criteria, scan_overrides
from scanner.scan.fetch_pool import Fetched, Fetcher, open_fetch
from scanner.scan.launcher import spawn_scan
from scanner.scan.screening import screen, unusable
from scanner.scan.volatility import VolatilityStep
from scanner.scan.watchlist import parse_symbols
from scanner.store.codec import encode_groups, use_system_allocator
from scanner.store.connection import redis_failure
from scanner.store.lock import Heartbeat, ScanLock
from scanner.store.positions import PositionsRecord, book_field
from scanner.store.scans import ScanMeta, ScanStatus, ScanStore, ScanTrigger, new_scan_id, progress_pct

log = logging.getLogger(__name__)
T = TypeVar("T")

@dataclass(frozen=True)
class ScanRequest:
    """What to scan; None fields come from the stored watch-list and criteria."""

    tickers: list[str] | None = None
    provider: str | None = None
    side: str | None = None
    weeks: int | None = None
    min_dte: int | None = None  # a DTE window instead of `weeks` (criteria.scan_overrides)
    max_dte: int | None = None
    ignore_market_hours: bool = False
    as_of: date | None = None
    trigger: ScanTrigger = ScanTrigger.PAGE
    book_user: str | None = None  # whose book the scan runs with: the starter's e-mail, None for the shared one


@dataclass(frozen=True)
class Started:
    scan_id: str
    token: str
    provider: str  # the data source's registry name: what the scan process needs from the environment


@dataclass
class _Tally:
    total: int
    done: int = 0
    contracts: int = 0
    matches: int = 0
    errors: int = 0
    invalid: int = 0
    fatal: str | None = None
    events_notes: list[str] = field(default_factory=list)  # what the source said of its events, each once
    cancelled: bool = False  # stopped fetching on the cancel flag, SIGTERM or SIGINT
    cancel_requested: bool = False  # as of the latest write
    book: _BookShare | None = None  # of the counts, what only the starter's book brought; None: no book

    def count(self, result: _TickerResult) -> None:
        self.done += 1
        self.contracts += result.contracts
        self.matches += result.matches
        self.errors += result.error is not None
        self.invalid += result.invalid
        if result.events_note and result.events_note not in self.events_notes:
            self.events_notes.append(result.events_note)
        if self.book is not None:
            self.book.count(result)

    def after(self, results: list[_TickerResult]) -> _Tally:
        """The tally once `results` are counted too (this one unchanged until their write went through)."""
        ahead = replace(self, events_notes=list(self.events_notes),
                        book=replace(self.book) if self.book is not None else None)
        for result in results:
            ahead.count(result)
        return ahead

    def progress(self, ticker: str) -> dict[str, int | float | str]:
        """The scan's fields as of this tally, written with the tickers up to `ticker`."""
        share = self.book or _BookShare()
        return {**counters(self.done, self.total, self.contracts, self.matches, self.errors, ticker),
                "invalid_rows": self.invalid, "book_tickers_done": share.done, "book_contracts": share.contracts,
                "book_matches": share.matches, "book_errors": share.errors}

    def without_book(self) -> _Tally:
        """The tally as a viewer other than the scan's starter reads it (its message's counts)."""
        share = self.book or _BookShare()
        return replace(self, total=self.total - share.tickers, done=self.done - share.done,
                       contracts=self.contracts - share.contracts, matches=self.matches - share.matches,
                       errors=self.errors - share.errors, book=None)


@dataclass
class _BookShare:
    """What of a scan's counts only its starter's book brought: the tickers only it asked for, and the rows other
    viewers do not see (``BookPlan.hidden_from_others``)."""

    tickers: int = 0
    done: int = 0
    contracts: int = 0
    matches: int = 0
    errors: int = 0

    def count(self, result: _TickerResult) -> None:
        self.done += result.book_ticker
        self.errors += int(result.book_ticker and result.error is not None)
        self.contracts += result.book_contracts
        self.matches += result.book_matches


def begin_scan(settings: Settings, store: ScanStore, request: ScanRequest) -> Started:
    """Validate, check market hours, take the lock and record the scan as starting."""
    provider_name = request.provider or settings.provider
    provider = get_provider(provider_name, settings)
    try:
        tickers = parse_symbols(request.tickers) if request.tickers is not None else store.watchlist.tickers()
    except ValueError as exc:
        raise ScanRefused(str(exc)) from None
    book = PositionsRecord(store.client, store.keys, request.book_user)
    plan, tickers = BookPlan.for_scan(book.load(), book_field(request.book_user), tickers)
    if not tickers:
        raise ScanRefused("The watch-list is empty: add tickers first.")
    base = store.criteria.load()
    try:
        criteria = Criteria.from_dict({**base.to_dict(), **scan_overrides(
            request.side, request.weeks, request.min_dte, request.max_dte)})
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
                     tickers=tickers, as_of=request.as_of, trigger=request.trigger, positions=plan.record())
    except BaseException:
        lock.release()
        raise
    return Started(scan_id=scan_id, token=token, provider=provider_name)


def start_background(settings: Settings, store: ScanStore, request: ScanRequest) -> str:
    """The page's path: take the lock here, hand it to a scan subprocess, return at once."""
    started = begin_scan(settings, store, request)
    try:
        pid = spawn_scan(settings, started.scan_id, started.token, started.provider)
    except OSError as exc:
        store.finish(started.scan_id, ScanStatus.FAILED, f"Could not start the scan process: {exc.strerror}",
                     token=started.token)
        ScanLock.attach(store.client, store.keys, settings.lock_ttl, started.token).release()
        raise ScanRefused(f"Could not start the scan process: {exc.strerror}") from None
    with contextlib.suppress(LockLost):  # the scan process already finished (or lost the lock): nothing to add
        store.set_fields(started.scan_id, pid=pid, token=started.token)
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
    events_note: str = ""  # e.g. a refused earnings endpoint: said once on the scan
    book_ticker: bool = False  # a ticker only the starter's book asked for
    book_contracts: int = 0  # of `contracts` and `matches`, those other viewers do not see
    book_matches: int = 0


def _own_rows(fetched: Fetched) -> bool:
    """Whether every row of the chain names the ticker asked for (then its rows can be told apart in a batch)."""
    tickers = fetched.chain["ticker"].to_numpy(dtype=object, na_value="") if fetched.chain is not None else []
    return bool((tickers == fetched.ticker).all())


@dataclass(frozen=True)
class _Screening:
    """Screens fetched tickers in the scan's one writing thread: the scan's criteria, ``screen`` with its quote
    date and rates bound, the book, the volatility step."""

    criteria: Criteria
    screen_chain: Callable[..., pd.DataFrame]
    book: BookPlan
    volatility: VolatilityStep

    def results(self, fetched: list[Fetched]) -> list[_TickerResult]:
        """Each fetched ticker's result, in order. Tickers screened for the same sides whose rows all name them are
        screened, given their volatility figures and encoded as one frame, each stored as its own payload: pandas'
        and Arrow's per-call cost, most of a 60-row ticker's, is paid once per batch."""
        results = {f.ticker: _TickerResult(error=f.error) for f in fetched if f.chain is None}
        groups: dict[tuple[tuple[str, ...], str], list[Fetched]] = {}
        for f in fetched:
            if f.chain is not None:
                groups.setdefault((self.book.sides(f.ticker, self.criteria), "" if _own_rows(f) else f.ticker),
                                  []).append(f)
        for group in groups.values():
            results.update(zip([f.ticker for f in group], self._screened(group), strict=True))
        added = self.book.added_tickers
        return [replace(results[f.ticker], book_ticker=True) if f.ticker in added else results[f.ticker]
                for f in fetched]

    def _screened(self, group: list[Fetched]) -> list[_TickerResult]:
        """The group's results; when screening them together fails (a bug), each ticker alone, so that only the
        ticker at fault records the error."""
        try:
            return self._screen_together(group)
        except Exception as exc:
            if len(group) > 1:
                return [result for one in group for result in self._screened([one])]
            log.exception("unexpected error for %s", group[0].ticker)
            return [_TickerResult(error=f"unexpected error ({type(exc).__name__})")]

    def _screen_together(self, group: list[Fetched]) -> list[_TickerResult]:
        criteria = self.book.criteria_for(group[0].ticker, self.criteria)  # the book's sides too (calls, rolls)
        chain = group[0].chain if len(group) == 1 else pd.concat([f.chain for f in group], ignore_index=True)
        rows = apply_book(self.screen_chain(chain, criteria=criteria, events={f.ticker: f.events for f in group}),
                          self.book.book, self.criteria)
        tickers = rows["ticker"].to_numpy(dtype=object, na_value="")
        positions = {f.ticker: np.arange(len(rows)) if len(group) == 1 else np.flatnonzero(tickers == f.ticker)
                     for f in group}
        self.volatility.add(rows, positions, {f.ticker: f.closes for f in group})
        usable = ~unusable(rows)
        match = rows["match"].to_numpy(dtype=bool)
        hidden = self.book.hidden_from_others(rows, self.criteria.sides)
        kept = [at[usable[at]] for at in positions.values()]
        payloads = encode_groups(rows, kept)
        return [_TickerResult(payload=payload, contracts=len(rows_kept), matches=int(match[rows_kept].sum()),
                              invalid=len(at) - len(rows_kept), events_note=f.events.note,
                              book_contracts=int(hidden[rows_kept].sum()),
                              book_matches=int((hidden & match)[rows_kept].sum()))
                for f, at, rows_kept, payload in zip(group, positions.values(), kept, payloads, strict=True)]


def run_scan(settings: Settings, store: ScanStore, scan_id: str, token: str,
             on_progress: Callable[[ScanMeta], None] | None = None,
             stop: threading.Event | None = None) -> ScanMeta:
    """Run a started scan as the lock holder; records the end and releases the lock whatever happens.

    Every write is fenced by the token: once the lock is lost (expired, force-released, gone with a Redis restart)
    the scan writes nothing more, not even its end (its record may be gone, or belong to whoever took the lock),
    and raises LockLost saying how far it got."""
    use_system_allocator()
    lock = ScanLock.attach(store.client, store.keys, settings.lock_ttl, token)
    meta = store.get(scan_id)
    if meta is None or not lock.owned():
        if meta is not None:
            store.finish(scan_id, ScanStatus.FAILED, "The scan lost its lock before it began.")
        raise AlreadyRunning(store.current_id())
    plan = BookPlan.of_scan(meta.positions)
    tally = _Tally(total=len(meta.tickers), book=None if plan.empty else _BookShare(tickers=len(plan.added_tickers)))
    try:
        try:
            status, describe, keep_rows = _run_held(settings, store, meta, lock, tally, on_progress,
                                                    stop or threading.Event())
            message = describe(tally)
            _record_end(settings, store, scan_id, token, status, message, keep_rows,
                        describe(tally.without_book()) if tally.book is not None else "")
        finally:
            retrying(lock.release)
    except LockLost:
        lost = f"scan {scan_id} lost its lock after {tally.done}/{tally.total} tickers; another scan may be running"
        log.error(lost)
        raise LockLost(lost) from None
    log.info("scan %s %s: %s", scan_id, status, message)
    ended = store.get(scan_id) or meta
    Alerter(settings, store).after_scan(ended)  # the end is recorded and the lock free: never delays nor fails it
    return ended


def _run_held(settings: Settings, store: ScanStore, meta: ScanMeta, lock: ScanLock, tally: _Tally,
              on_progress: Callable[[ScanMeta], None] | None, stop: threading.Event,
              ) -> tuple[ScanStatus, Callable[[_Tally], str], bool]:
    """The scan itself: its outcome (status, its message from a tally, whether its rows can be kept); LockLost goes
    through. The message is a function so that other viewers read it with the counts they see."""
    token = lock.token
    try:
        retrying(lambda: store.mark_running(meta.scan_id, os.getpid(), socket.gethostname(), token=token))
        with Heartbeat(lock, lambda: store.heartbeat(meta.scan_id, token=token)) as heartbeat:
            _scan_tickers(settings, store, meta, token, tally, heartbeat, stop, on_progress)
        return _outcome(tally), _ending, True
    except LockLost:
        raise
    except ConfigError as exc:
        return ScanStatus.FAILED, _said(f"The scan could not start: {exc}"), True
    except REDIS_DOWN:
        return ScanStatus.FAILED, _said("Redis became unavailable during the scan."), True
    except redis.OutOfMemoryError as exc:
        failure = redis_failure(exc, settings)
        return (ScanStatus.FAILED, lambda t: f"{failure}; the scan stopped after {_summary(t)} and dropped its "
                "partial results to free memory.", False)
    except REDIS_ERRORS as exc:  # no permission, a replica, a cluster down: what no retry fixes
        failure = redis_failure(exc, settings)
        return ScanStatus.FAILED, lambda t: f"{failure} (stopped after {_summary(t)}).", True
    except Exception as exc:
        log.exception("scan %s failed", meta.scan_id)
        return ScanStatus.FAILED, _said(f"The scan failed ({type(exc).__name__})."), True


def _record_end(settings: Settings, store: ScanStore, scan_id: str, token: str, status: ScanStatus, message: str,
                keep_rows: bool, message_without_book: str) -> None:
    """The fenced end record; when its table does not fit (out of memory), the end without the rows."""
    try:
        retrying(lambda: store.finish(scan_id, status, message, token=token, keep_rows=keep_rows,
                                      message_without_book=message_without_book))
    except redis.OutOfMemoryError as exc:
        if not keep_rows:
            raise
        message = f"{redis_failure(exc, settings)}; the results did not fit and were dropped ({message})"
        retrying(lambda: store.finish(scan_id, ScanStatus.FAILED, message, token=token, keep_rows=False))


def in_words(count: int, noun: str) -> str:
    """A count in words, the noun singular for exactly one: "1 match", "2 matches", "0 errors"."""
    if count == 1:
        return f"{count} {noun}"
    return f"{count:,} {noun}{'es' if noun.endswith(('s', 'x', 'ch', 'sh')) else 's'}"


def _summary(tally: _Tally) -> str:
    summary = (f"{tally.done}/{in_words(tally.total, 'ticker')}, {in_words(tally.contracts, 'contract')}, "
               f"{in_words(tally.matches, 'match')}, {in_words(tally.errors, 'error')}")
    if tally.invalid:
        summary += f", {in_words(tally.invalid, 'unusable row')} dropped"
    return summary


def _said(message: str) -> Callable[[_Tally], str]:
    """A message that names no count: the same for every viewer."""
    return lambda _: message


def _outcome(tally: _Tally) -> ScanStatus:
    if tally.fatal:
        return ScanStatus.FAILED
    # a cancel read after the last fetch skipped nothing: the scan completed
    if tally.cancelled and tally.done < tally.total:
        return ScanStatus.CANCELLED
    return ScanStatus.COMPLETED


def _ending(tally: _Tally) -> str:
    """The message of a scan that ran to its end (completed, cancelled, or failed on its source)."""
    summary = _summary(tally) + "".join(f"; {note}" for note in tally.events_notes)
    status = _outcome(tally)
    if status == ScanStatus.FAILED:
        return f"{tally.fatal} (partial results kept: {summary})"
    return f"Cancelled after {summary}." if status == ScanStatus.CANCELLED else f"{summary}."


def _scan_tickers(settings: Settings, store: ScanStore, meta: ScanMeta, token: str, tally: _Tally,
                  heartbeat: Heartbeat, stop: threading.Event, on_progress: Callable[[ScanMeta], None] | None) -> None:
    """Fetch and record every ticker into ``tally``; raises what the heartbeat met (lock lost, a refusal) at the
    next step."""
    provider = get_provider(meta.provider, settings)
    criteria = Criteria.of_scan(meta.criteria)
    request = criteria.chain_request(meta.as_of)
    as_of = provider.quote_date(request)
    book = BookPlan.of_scan(meta.positions)
    volatility = VolatilityStep(provider, store.client, store.keys, as_of)
    screening = _Screening(criteria, functools.partial(screen, criteria=criteria, as_of=as_of,
                                                       rate=settings.risk_free_rate,
                                                       dividend_yield=settings.dividend_yield), book, volatility)
    tally.cancel_requested = retrying(lambda: store.cancel_requested(meta.scan_id))
    tickers = iter(meta.tickers)

    fetch = open_fetch(settings, provider, functools.partial(Fetcher.build, store.client, store.keys, book, as_of))
    try:
        pending: dict[Future, str] = {}

        def refill() -> None:
            while len(pending) < settings.concurrency and not tally.cancelled and tally.fatal is None:
                heartbeat.check()
                tally.cancelled = stop.is_set() or tally.cancel_requested
                ticker = None if tally.cancelled else next(tickers, None)
                if ticker is None:
                    return
                asked = book.request(ticker, request, criteria)  # the book's sides too (calls on shares held, rolls)
                pending[fetch.submit(ticker, asked)] = ticker

        refill()
        while pending:
            done = wait(pending, return_when=FIRST_COMPLETED).done
            fetched = [future.result() for future in done]
            for future in done:
                del pending[future]
            tally.fatal = tally.fatal or next((f.error for f in fetched if f.fatal), None)
            heartbeat.check()
            refill()  # before screening and writing: the next fetches need not wait for them
            results = screening.results(fetched)
            counted = _record(store, meta.scan_id, token, [f.ticker for f in fetched], results, tally,
                              fetch.usage())
            if on_progress:
                on_progress(replace(meta, **counted))
    finally:
        fetch.close()


def _record(store: ScanStore, scan_id: str, token: str, tickers: list[str], results: list[_TickerResult],
            tally: _Tally, usage: dict[str, int]) -> dict[str, int | float | str]:
    """Write the tickers finished since the last write (their rows and the scan's counters) in one fenced round
    trip; returns the counters."""
    counted = tally.after(results).progress(tickers[-1])
    entries = [(ticker, result.payload, result.error) for ticker, result in zip(tickers, results, strict=True)]
    tally.cancel_requested = retrying(lambda: store.record_tickers(scan_id, entries, {**counted, **usage},
                                                                   token=token))
    for result in results:  # once written: a refused write leaves the tally at what the store holds
        tally.count(result)
    return counted


def counters(done: int, total: int, contracts: int, matches: int, errors: int,
             ticker: str) -> dict[str, int | float | str]:
    """The progress fields (ScanMeta names) written with each ticker."""
    return {"tickers_done": done, "tickers_total": total, "pct": progress_pct(done, total), "contracts": contracts,
            "matches": matches, "errors": errors, "current_ticker": ticker}
