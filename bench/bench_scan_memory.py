"""Peak memory and wall time of one scan process over 500 demo tickers. Prints figures, asserts nothing.

Run: .venv/bin/python bench/bench_scan_memory.py
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from pathlib import Path

from _common import embedded_server, symbols

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
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(done.stdout.strip() or done.stderr.strip())
    print(f"scan of {TICKERS} demo tickers: {wall:.1f} s wall, peak RSS {peak_mb:.0f} MB   target <= 250 MB")


if __name__ == "__main__":
    main()
