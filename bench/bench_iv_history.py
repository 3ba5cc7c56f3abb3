"""What the volatility step costs a scan in Redis round trips: a 500-ticker demo scan with and without it.

Each scan runs on a fresh key prefix of one embedded Valkey server, with every request/response exchange counted
(redis-py's Connection.send_packed_command: a pipeline or MULTI is one). Variants: the step switched off; IV history
alone (closes not looked up); the whole step, first scan of the day (closes asked of the demo and cached); the whole
step again the same day (closes from the cache). Target (issue 17): recording IV history adds ≤ 2 round trips per
ticker (a scan records a batch of tickers' points in one MULTI: one per write, not per ticker). Prints figures,
asserts nothing.

Run: .venv/bin/python bench/bench_iv_history.py
"""

from __future__ import annotations

import os
import threading
import time
from datetime import date

import redis
from _common import embedded_server, symbols

from scanner.config import Settings  # noqa: E402
from scanner.market.candles import NO_CLOSES  # noqa: E402
from scanner.scan import volatility  # noqa: E402
from scanner.scan.engine import ScanRequest, begin_scan, run_scan  # noqa: E402
from scanner.store.scans import open_store  # noqa: E402

TICKERS = symbols(500)
AS_OF = date(2026, 11, 30)
_sent = [0]
_lock = threading.Lock()
_send = redis.connection.AbstractConnection.send_packed_command


def _counting_send(self: redis.connection.AbstractConnection, *args: object, **kwargs: object) -> None:
    with _lock:
        _sent[0] += 1
    _send(self, *args, **kwargs)


def round_trips(env: dict[str, str], prefix: str) -> tuple[int, float]:
    """(round trips, wall seconds) of one scan."""
    settings = Settings.from_env({**env, "SCANNER_PREFIX": prefix})
    store = open_store(settings)
    started = begin_scan(settings, store, ScanRequest(tickers=TICKERS, provider="demo", as_of=AS_OF, side="both"))
    _sent[0] = 0
    began = time.perf_counter()
    run_scan(settings, store, started.scan_id, started.token)
    return _sent[0], time.perf_counter() - began


def main() -> None:
    redis.connection.AbstractConnection.send_packed_command = _counting_send
    step, closes = volatility.VolatilityStep.add, volatility.ticker_closes
    with embedded_server() as (data_dir, _):
        env = {**os.environ, "SCANNER_DATA_DIR": str(data_dir), "SCANNER_PROVIDER": "demo",
               "SCANNER_DEMO_DELAY_MS": "0", "SCANNER_ENFORCE_MARKET_HOURS": "false"}
        env.pop("REDIS_URL", None)
        volatility.ticker_closes = lambda *args: NO_CLOSES  # no closes looked up
        volatility.VolatilityStep.add = lambda self, rows, positions, closes: rows  # no figures, no history
        off = round_trips(env, "bench-off")
        volatility.VolatilityStep.add = step
        history_only = round_trips(env, "bench-history")
        volatility.ticker_closes = closes
        first = round_trips(env, "bench-full")
        second = round_trips(env, "bench-full")
    n = len(TICKERS)
    (off, off_s), (history_only, history_s), (first, first_s), (second, second_s) = off, history_only, first, second
    print(f"500-ticker demo scan (puts and calls, 4 weeklies): {off} round trips without the volatility step "
          f"({off / n:.2f} per ticker), {off_s:.2f} s")
    print(f"IV history recorded: +{(history_only - off) / n:.2f} round trips per ticker   target ≤ 2 "
          f"({history_s:.2f} s)")
    print(f"whole step (IV history + closes cache), first scan of the day: +{(first - off) / n:.2f} per ticker "
          f"({first_s:.2f} s); second scan the same day: +{(second - off) / n:.2f} per ticker ({second_s:.2f} s; "
          "its events come from their cache too, one round trip fewer than the first scan's)")

if __name__ == "__main__":
    main()
