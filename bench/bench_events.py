"""What events cost a scan: a 500-ticker demo scan with events against one without, and the second scan of the day.

Each round runs, on a fresh key prefix (so an empty events cache) of one embedded Valkey server: the scan without
events (the demo's events switched off: every ticker unknown, nothing cached), the first scan with events (each
ticker's events simulated and cached in Redis), then a second scan the same day (every ticker's events from the
cache: the source is asked for none). Rounds are interleaved, so drift on a shared machine hits all three alike.
Target (issue 16): with events ≤ 10 % more wall time than without; the second scan asks the source for no events.
Prints figures, asserts nothing.

Run: .venv/bin/python bench/bench_events.py
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from datetime import date

from _common import embedded_server, symbols

from scanner.config import Settings  # noqa: E402
from scanner.market.events import TickerEvents  # noqa: E402
from scanner.providers.base import Registered  # noqa: E402
from scanner.providers.demo import DemoProvider  # noqa: E402
from scanner.scan.engine import ScanRequest, begin_scan, run_scan  # noqa: E402
from scanner.store.scans import open_store  # noqa: E402

TICKERS = symbols(500)
ROUNDS = 3
AS_OF = date(2026, 11, 30)


def counted(events: Callable[..., TickerEvents], calls: list[str]) -> Callable[..., TickerEvents]:
    """The demo's events, each ask recorded: what a metered source would be charged for."""
    def ask(self: DemoProvider, ticker: str, as_of: date) -> TickerEvents:
        calls.append(ticker)
        return events(self, ticker, as_of)
    return ask


def scan(env: dict[str, str], prefix: str) -> float:
    settings = Settings.from_env({**env, "SCANNER_PREFIX": prefix})
    store = open_store(settings)
    started = begin_scan(settings, store, ScanRequest(tickers=TICKERS, provider="demo", as_of=AS_OF, side="both"))
    began = time.perf_counter()
    run_scan(settings, store, started.scan_id, started.token)
    return time.perf_counter() - began


def main() -> None:
    simulated = DemoProvider.events
    without, first, second, asked_first, asked_second = [], [], [], [], []
    with embedded_server() as (data_dir, _):
        env = {**os.environ, "SCANNER_DATA_DIR": str(data_dir), "SCANNER_PROVIDER": "demo",
               "SCANNER_DEMO_DELAY_MS": "0", "SCANNER_ENFORCE_MARKET_HOURS": "false"}
        env.pop("REDIS_URL", None)
        for round_ in range(ROUNDS):
            DemoProvider.events = Registered.events  # no events: every ticker unknown
            without.append(scan(env, f"bench-off-{round_}"))
            calls: list[str] = []
            DemoProvider.events = counted(simulated, calls)
            first.append(scan(env, f"bench-on-{round_}"))
            asked_first.append(len(calls))
            calls.clear()
            second.append(scan(env, f"bench-on-{round_}"))  # the same prefix: the same day's cache
            asked_second.append(len(calls))
        DemoProvider.events = simulated
    base, on, cached = statistics.median(without), statistics.median(first), statistics.median(second)
    print(f"500-ticker demo scan (puts and calls, 4 weeklies), median of {ROUNDS}: without events {base:.2f} s, "
          f"with events {on:.2f} s -> {100 * (on / base - 1):+.1f}%   target ≤ +10%")
    print(f"second scan the same day: {cached:.2f} s ({100 * (cached / base - 1):+.1f}% vs without), events asked of "
          f"the source: first scan {max(asked_first)}, second scan {max(asked_second)}   target 0 (cached)")


if __name__ == "__main__":
    main()
