"""50 readers polling every second through the page's read path while a scan runs. Prints figures.

The read path is what a dashboard rerun does: ``snapshot()`` (two round trips) and, when the scan's version
moved, one decode of its rows shared by every session of the process (the page's resource cache). Reported:
Redis commands per second, p50/p95 read latency, and the scan's wall time against a run with no readers.

Run: .venv/bin/python bench/bench_load.py
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from _common import embedded_server, symbols

from scanner.config import Settings
from scanner.store.scans import ScanStore, open_store

READERS, POLL_SECONDS, ROUNDS = 50, 1.0, 2
ROOT = Path(__file__).resolve().parents[1]


class SharedResults:
    """One decode per scan version for all readers, like ``st.cache_resource`` in one Streamlit server."""

    def __init__(self, store: ScanStore) -> None:
        self.store, self.key, self.lock = store, None, threading.Lock()

    def read(self, scan_id: str, version: int) -> None:
        with self.lock:
            if self.key != (scan_id, version):
                self.store.results(scan_id)
                self.key = (scan_id, version)


def scan(env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "scanner", "scan", "--tickers", ",".join(symbols(40))],
                          cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    return time.perf_counter() - start


def with_readers(env: dict[str, str], store: ScanStore) -> tuple[float, list[float], float]:
    stop = threading.Event()
    latencies: list[float] = []
    shared = SharedResults(store)

    def reader() -> None:
        while not stop.is_set():
            started = time.perf_counter()
            snap = store.overview()
            if snap.current is not None:
                shared.read(snap.current.scan_id, snap.current.version)
            latencies.append((time.perf_counter() - started) * 1000)
            stop.wait(POLL_SECONDS)

    before = int(store.client.info("stats")["total_commands_processed"])
    threads = [threading.Thread(target=reader, daemon=True) for _ in range(READERS)]
    for thread in threads:
        thread.start()
    wall = scan(env)
    stop.set()
    for thread in threads:
        thread.join()
    commands = int(store.client.info("stats")["total_commands_processed"]) - before
    return wall, latencies, commands / wall


def main() -> None:
    with embedded_server() as (data_dir, _):
        env = {**os.environ, "SCANNER_DATA_DIR": str(data_dir), "SCANNER_PROVIDER": "demo", "SCANNER_PREFIX": "load",
               "SCANNER_DEMO_DELAY_MS": "100", "SCANNER_CONCURRENCY": "8"}
        env.pop("REDIS_URL", None)
        store = open_store(Settings.from_env(env))
        alone, loaded, latencies, rates = [], [], [], []
        for _ in range(ROUNDS):  # interleaved, so drift on a shared machine hits both alike
            alone.append(scan(env))
            wall, lat, rate = with_readers(env, store)
            loaded.append(wall)
            latencies += lat
            rates.append(rate)
    base, busy = statistics.median(alone), statistics.median(loaded)
    ordered = sorted(latencies)
    p95 = ordered[int(0.95 * (len(ordered) - 1))]
    print(f"scan of 40 demo tickers: {base:.2f} s alone, {busy:.2f} s with {READERS} readers polling every "
          f"{POLL_SECONDS:.0f} s -> slowdown {100 * (busy / base - 1):+.1f}%   target < 10%")
    print(f"Redis commands/s during the loaded scans: {statistics.median(rates):.0f}")
    print(f"read latency over {len(ordered)} reads: p50 {statistics.median(ordered):.2f} ms, p95 {p95:.2f} ms")


if __name__ == "__main__":
    main()
