"""Where a scan's fetch workers run: threads of the scan process, or forked processes each with its share of the
threads and of the API's concurrency.

One interpreter parses about 25 requests in flight before its CPU, not the API, sets the pace (bench_universe); a
scan asking two shares or more (SCANNER_CONCURRENCY 50, on two cores or more) fetches in processes forked from
the scan process. Each builds its own source client from the scan's settings with its share of the concurrency and of
any request rate, so the API sees the same bound in all; the scan process screens and writes what they send back.
Forked, not spawned: a spawned worker would first import the engine (1.6 s here), longer than it saves."""

from __future__ import annotations

import itertools
import logging
import multiprocessing
import os
import queue
import signal
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import date

import pandas as pd
import redis

from scanner.config import Settings
from scanner.errors import ProviderError, ProviderFatal
from scanner.market.candles import NO_CLOSES, DailyCloses
from scanner.market.events import UNKNOWN, TickerEvents
from scanner.providers.base import ChainRequest, Provider
from scanner.providers.registry import get_provider
from scanner.scan.book import BookPlan, with_open_quotes
from scanner.scan.events_cache import EventsCache, ticker_events
from scanner.scan.volatility import VolatilityStep
from scanner.store.keys import Keys

log = logging.getLogger(__name__)
REQUESTS_PER_PROCESS = 25
_POLL_SECONDS = 0.5  # how often a waiting worker or reader checks that the other side is still there


@dataclass(frozen=True)
class Fetched:
    """One ticker's network and cache work, done in a fetch worker: its chain (with the book's open contracts),
    events and closes, or why there is none."""

    ticker: str
    chain: pd.DataFrame | None = None
    events: TickerEvents = UNKNOWN
    closes: DailyCloses = NO_CLOSES
    error: str | None = None
    fatal: bool = False


@dataclass(frozen=True)
class Fetcher:
    """A scan's fetch of one ticker as a worker runs it: the source, the book, the day caches."""

    provider: Provider
    book: BookPlan
    events_of: Callable[[str], TickerEvents]
    closes_of: Callable[[str], DailyCloses]

    @classmethod
    def build(cls, client: redis.Redis, keys: Keys, book: BookPlan, as_of: date, provider: Provider) -> Fetcher:
        """The fetcher a worker runs with `provider`; `client` is the scan's (in a forked process its first command
        opens a connection of its own)."""
        events = EventsCache(client, keys)
        return cls(provider, book, lambda ticker: ticker_events(provider, events, ticker, as_of),
                   VolatilityStep(provider, client, keys, as_of).closes)

    def __call__(self, ticker: str, request: ChainRequest) -> Fetched:
        """One ticker fetched, the book's open contracts added, its events and closes looked up (day caches, else
        the source); never raises."""
        try:
            chain = with_open_quotes(self.provider.fetch(ticker, request), self.book.book, ticker, self.provider,
                                     request)
            return Fetched(ticker, chain, self.events_of(ticker), self.closes_of(ticker))
        except ProviderFatal as exc:
            return Fetched(ticker, error=str(exc), fatal=True)
        except ProviderError as exc:
            return Fetched(ticker, error=str(exc))
        except Exception as exc:  # a provider bug must not end the scan: record it for this ticker
            log.exception("unexpected error for %s", ticker)
            return Fetched(ticker, error=f"unexpected error ({type(exc).__name__})")


def fetch_processes(settings: Settings, provider: Provider) -> int:
    """How many processes fetch for a scan at `settings.concurrency`: one per REQUESTS_PER_PROCESS in flight, up to
    the cores; 0 (threads of the scan process) below two, where processes cannot be forked, or for a source that
    keeps a figure of its fetches for the screening (Cboe's published IV30, read by the scan process)."""
    if hasattr(provider, "published_iv30"):
        return 0
    wanted = min(os.cpu_count() or 1, settings.concurrency // REQUESTS_PER_PROCESS)
    return wanted if wanted > 1 and "fork" in multiprocessing.get_all_start_methods() else 0


def shares(total: int, parts: int) -> list[int]:
    """`total` split into `parts` whole shares differing by at most one: 50 in 3 is [17, 17, 16]."""
    return [total // parts + (part < total % parts) for part in range(parts)]


class ThreadFetch:
    """The fetch workers as threads of the scan process."""

    def __init__(self, fetcher: Fetcher, concurrency: int) -> None:
        self._fetcher = fetcher
        self._threads = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="fetch")

    def submit(self, ticker: str, request: ChainRequest) -> Future[Fetched]:
        return self._threads.submit(self._fetcher, ticker, request)

    def usage(self) -> dict[str, int]:
        return provider_usage(self._fetcher.provider)

    def close(self) -> None:
        self._threads.shutdown(wait=True)


class ProcessFetch:
    """The fetch workers as forked processes; the tickers go out on one queue (whichever process has a free thread
    takes the next), the results come back on another, read into each ticker's future by a thread here."""

    def __init__(self, build: Callable[[Provider], Fetcher], settings: Settings, provider_name: str,
                 processes: int) -> None:
        context = multiprocessing.get_context("fork")
        self._tasks, self._results = context.Queue(), context.Queue()
        self._futures: dict[int, tuple[str, Future[Fetched]]] = {}
        self._numbers = itertools.count()
        self._usage: dict[int, dict[str, int]] = {}
        self._closing = threading.Event()
        threads = shares(settings.concurrency, processes)
        rates = [settings.requests_per_second * share / settings.concurrency for share in threads]
        self._processes = [
            context.Process(target=_serve, name=f"fetch-{part}", daemon=True,
                            args=(build, provider_name,
                                  replace(settings, concurrency=share, requests_per_second=rate), part,
                                  self._tasks, self._results, os.getpid()))
            for part, (share, rate) in enumerate(zip(threads, rates, strict=True))]
        self._thread_count = sum(threads)
        for process in self._processes:
            process.start()
        self._reader = threading.Thread(target=self._read, name="fetch-results", daemon=True)
        self._reader.start()

    def submit(self, ticker: str, request: ChainRequest) -> Future[Fetched]:
        number, future = next(self._numbers), Future()
        self._futures[number] = (ticker, future)
        self._tasks.put((number, ticker, request))
        return future

    def usage(self) -> dict[str, int]:
        """The credits all processes' requests consumed, and the fewest left any of them was told of."""
        reports = list(self._usage.values())
        fields = {"credits_used": sum(report["credits_used"] for report in reports)} if reports else {}
        remaining = [report["credits_remaining"] for report in reports if "credits_remaining" in report]
        return {**fields, "credits_remaining": min(remaining)} if remaining else fields

    def close(self) -> None:
        self._closing.set()
        for _ in range(self._thread_count):
            self._tasks.put(None)
        for process in self._processes:
            process.join(timeout=10)
            if process.is_alive():
                process.terminate()
        self._reader.join(timeout=5)

    def _read(self) -> None:
        while not self._closing.is_set() or self._futures:
            try:
                number, part, fetched, usage = self._results.get(timeout=_POLL_SECONDS)
            except queue.Empty:
                self._check_alive()
                continue
            self._usage[part] = usage
            _, future = self._futures.pop(number)
            future.set_result(fetched)

    def _check_alive(self) -> None:
        """A fetch process that died (killed, out of memory) took its tickers with it: the scan stops on them."""
        dead = [process for process in self._processes if process.exitcode is not None]
        if not dead:
            return
        message = f"a fetch process ended unexpectedly (exit code {dead[0].exitcode})"
        for number in list(self._futures):
            ticker, future = self._futures.pop(number)
            future.set_result(Fetched(ticker, error=message, fatal=True))


def _serve(build: Callable[[Provider], Fetcher], provider_name: str, settings: Settings, part: int,
           tasks: multiprocessing.Queue, results: multiprocessing.Queue, parent: int) -> None:
    """A fetch process: its share of threads, each taking the next ticker until told to stop or the scan process is
    gone. Signals are the scan process's to act on (it stops asking, then closes the pool)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    fetcher = build(get_provider(provider_name, settings))

    def work() -> None:
        while True:
            try:
                task = tasks.get(timeout=_POLL_SECONDS)
            except queue.Empty:
                if os.getppid() != parent:
                    return
                continue
            if task is None:
                return
            number, ticker, request = task
            fetched = fetcher(ticker, request)
            results.put((number, part, fetched, provider_usage(fetcher.provider)))

    workers = [threading.Thread(target=work, name=f"fetch-{part}-{n}") for n in range(settings.concurrency)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()


def provider_usage(provider: Provider) -> dict[str, int]:
    """Scan-hash fields a metered source reports (``credits_used``, ``credits_remaining``); {} for others."""
    usage = getattr(provider, "usage", None)
    return usage() if callable(usage) else {}


def open_fetch(settings: Settings, provider: Provider,
               build: Callable[[Provider], Fetcher]) -> ThreadFetch | ProcessFetch:
    """The scan's fetch workers at `settings.concurrency`: processes when ``fetch_processes`` says so (each with a
    client of `provider`'s source of its own), else threads fetching with `provider`."""
    processes = fetch_processes(settings, provider)
    if processes:
        return ProcessFetch(build, settings, provider.name, processes)
    return ThreadFetch(build(provider), settings.concurrency)
