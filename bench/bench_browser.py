"""A big scan in the browser (issue 21 target 3): headless Chromium (Debian's, through Playwright) opening the
main page and the History page of a real ``streamlit run`` on a finished 500-ticker demo scan, and on the
26-ticker default beside it. Each visit is timed from navigation start (the browser's own clock) until the
summary table shows its column headers and until the first ticker's expander is visible, as a ratio to a
minimal Streamlit page holding one small ``st.dataframe`` (until its headers show), measured in the same run:
the page kinds alternate, each visit in a fresh browser context (nothing cached, as a first visit), and the
figures are medians. Prints figures; asserts nothing.

Run: .venv/bin/python bench/bench_browser.py   (about 2-3 minutes; needs Debian's chromium)
"""

from __future__ import annotations

import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from _common import embedded_server, symbols

from scanner.config import Settings
from scanner.scan.engine import ScanRequest, begin_scan, run_scan
from scanner.store.scans import open_store

ROOT = Path(__file__).resolve().parent.parent
TICKERS, RUNS = 500, 5
TARGET = 1.25
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
MINIMAL_PAGE = """import pandas as pd
import streamlit as st

st.title("Minimal")
st.dataframe(pd.DataFrame({"ticker": list("ABCDEFGHIJ"), "strike": range(10), "bid": [1.5] * 10}), hide_index=True)
"""
SUMMARY_HEADER = "Ann. %"  # a column header only the results' summary table has (SUMMARY_LABELS)
TABLE_SHOWN = """header => [...document.querySelectorAll('[data-testid=stMain] [data-testid=stDataFrame]')].some(
    grid => [...grid.querySelectorAll('[role=columnheader]')].some(h => !header || h.textContent.trim() === header))
    && performance.now()"""
EXPANDER_SHOWN = """() => [...document.querySelectorAll('[data-testid=stExpander] summary')].some(
    s => s.getBoundingClientRect().height > 0) && performance.now()"""
SETTLED = """() => !document.querySelector('[data-stale=true]')
    && !document.querySelector('[data-testid=stStatusWidget] [data-testid=stStatusWidgetRunningIcon]')
    && performance.now()"""


@dataclass(frozen=True)
class Target:
    """One page to time: its URL, the header its summary table shows ("" for any), whether it has expanders."""

    name: str
    url: str
    header: str
    expanders: bool


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def _streamlit(script: Path, env: dict[str, str]) -> Iterator[str]:
    """A real ``streamlit run`` of ``script`` from the project root (its .streamlit config), ready to serve."""
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(script), "--server.port", str(port),
                             "--server.address", "127.0.0.1", "--server.headless", "true"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).status == 200:
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"streamlit run {script.name} did not start") from None
                time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def _finished_scan(env: dict[str, str], tickers: list[str] | None) -> int:
    """A completed demo scan of ``tickers`` (None: the default watch-list) through the engine; its ticker count."""
    settings = replace(Settings.from_env(env), demo_delay_ms=0)
    store = open_store(settings)
    started = begin_scan(settings, store, ScanRequest(tickers=tickers, ignore_market_hours=True))
    meta = run_scan(settings, store, started.scan_id, started.token)
    assert meta.status == "completed", meta.message
    return meta.tickers_total


def _visit(browser, target: Target) -> dict[str, float]:  # noqa: ANN001
    """Seconds from navigation start until the summary table, the first expander and a settled page show."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.goto(target.url, wait_until="commit")
        marks = {"table": page.wait_for_function(TABLE_SHOWN, arg=target.header, polling="raf", timeout=120_000)}
        if target.expanders:
            marks["expander"] = page.wait_for_function(EXPANDER_SHOWN, polling="raf", timeout=120_000)
        marks["settled"] = page.wait_for_function(SETTLED, polling=100, timeout=120_000)
        return {mark: handle.json_value() / 1000 for mark, handle in marks.items()}
    finally:
        context.close()


def _line(name: str, times: list[dict[str, float]], baseline: float) -> str:
    parts = []
    for mark in ("table", "expander", "settled"):
        if mark in times[0]:
            values = [t[mark] for t in times]
            median = statistics.median(values)
            parts.append(f"{mark} {median:.2f} s ({median / baseline:.2f}x; {min(values):.2f}-{max(values):.2f})")
    return f"  {name:<28} " + " | ".join(parts)


def main() -> None:
    if CHROMIUM is None:
        print("Debian's chromium is not installed: nothing measured.")
        return
    from playwright.sync_api import sync_playwright

    with embedded_server() as (data_dir, url), tempfile.TemporaryDirectory(prefix="bench-browser-") as tmp, \
            ExitStack() as servers:
        base = {**os.environ, "SCANNER_DATA_DIR": str(data_dir), "REDIS_URL": url, "SCANNER_PROVIDER": "demo"}
        envs = {size: {**base, "SCANNER_PREFIX": f"bench-{size}"} for size in ("big", "default")}
        start = time.perf_counter()
        counts = {size: _finished_scan(env, symbols(TICKERS) if size == "big" else None) for size, env in envs.items()}
        print(f"stored the finished scans ({counts['big']} and {counts['default']} tickers) in "
              f"{time.perf_counter() - start:.0f} s")
        minimal = Path(tmp) / "minimal.py"
        minimal.write_text(MINIMAL_PAGE)
        urls = {size: servers.enter_context(_streamlit(ROOT / "dashboard.py", env)) for size, env in envs.items()}
        baseline_url = servers.enter_context(_streamlit(minimal, base))
        targets = [Target("minimal st.dataframe page", baseline_url, "", False)]
        for size in ("big", "default"):
            targets += [Target(f"main page, {counts[size]} tickers", urls[size], SUMMARY_HEADER, True),
                        Target(f"History page, {counts[size]} tickers", f"{urls[size]}/History", SUMMARY_HEADER,
                               True)]
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True,
                args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                      "--disable-background-networking", "--disable-component-update", "--disable-sync"])
            first = {target.name: _visit(browser, target) for target in targets}  # the servers' caches filled
            times: dict[str, list[dict[str, float]]] = {target.name: [] for target in targets}
            loads = [os.getloadavg()]
            for _ in range(RUNS):
                for target in targets:  # alternated: the machine's load falls on every kind alike
                    times[target.name].append(_visit(browser, target))
                loads.append(os.getloadavg())
            browser.close()
    baseline = statistics.median(t["table"] for t in times[targets[0].name])
    print(f"Headless Chromium, a fresh context per visit, {RUNS} alternated visits each after one warm-up; seconds "
          "from navigation start until the summary table's headers show, the first ticker's expander is visible, "
          f"and nothing is left running or stale; median (ratio to the minimal page's table; min-max). "
          f"Target: table and expander <= {TARGET}x the minimal page.")
    for target in targets:
        print(_line(target.name, times[target.name], baseline))
    print("  first visits (servers' caches cold): " + "; ".join(
        f"{name} {marks['table']:.2f} s" for name, marks in first.items()))
    print("load average (1, 5, 15 min) before and after each round: "
          + " ".join(f"{one:.2f}/{five:.2f}/{fifteen:.2f}" for one, five, fifteen in loads))


if __name__ == "__main__":
    main()
