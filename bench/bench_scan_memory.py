"""Peak memory and wall time of one scan process over 500 demo tickers, events and volatility included (issue 21
target 4: <= 250 MB). Prints figures, asserts nothing.

Events and volatility are part of every scan (there is no switch to turn them on or off): the demo source simulates
each ticker's earnings and dividends and its daily closes, so this scan, the first of its day on a fresh server,
asks for and caches every ticker's events (``events:<ticker>``) and closes (``candles:<ticker>``), records each
IV30 in ``iv:demo:<ticker>`` and stores the rows with their event and volatility columns. The figure printed after
the scan says how many tickers' rows carry an earnings date and an IV30, so a run without them shows.

Run: .venv/bin/python bench/bench_scan_memory.py
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from pathlib import Path

from _common import embedded_server, load, symbols

from scanner.config import Settings
from scanner.store.scans import open_store

TICKERS = 500
ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    with embedded_server() as (data_dir, _):
        env = {**os.environ, "SCANNER_DATA_DIR": str(data_dir), "SCANNER_PROVIDER": "demo",
               "SCANNER_DEMO_DELAY_MS": "0", "SCANNER_PREFIX": "bench"}
        env.pop("REDIS_URL", None)
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "scanner", "scan", "--tickers", ",".join(symbols(TICKERS))],
                              cwd=ROOT, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - start
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # the scan process, before reading
        store = open_store(Settings.from_env(env))
        rows = store.results(store.latest_id() or "").frame
    with_events = rows.loc[rows["earnings_date"].notna(), "ticker"].nunique() if len(rows) else 0
    with_iv30 = rows.loc[rows["iv30"].notna(), "ticker"].nunique() if len(rows) else 0
    print(done.stdout.strip() or done.stderr.strip())
    print(f"scan of {TICKERS} demo tickers: {wall:.1f} s wall, peak RSS {peak_mb:.0f} MB   target <= 250 MB; "
          f"rows with an earnings date for {with_events} tickers, an IV30 for {with_iv30}; {load()}")


if __name__ == "__main__":
    main()
