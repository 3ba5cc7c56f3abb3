"""A full AppTest rerun of the main page on a completed 500-ticker scan, nothing changed. Prints figures.

Run: .venv/bin/python bench/bench_page_rerun.py
"""

from __future__ import annotations

import os
import statistics
import time
from datetime import date

from _common import embedded_server, symbols

from scanner.config import Settings
from scanner.providers.base import ChainRequest
from scanner.providers.demo import DemoProvider
from scanner.scan.criteria import Criteria
from scanner.scan.engine import counters
from scanner.scan.screening import screen
from scanner.store.scans import open_store

TICKERS, RUNS = 500, 15
AS_OF = date(2026, 11, 30)


def main() -> None:
    from streamlit.testing.v1 import AppTest

    with embedded_server() as (data_dir, _):
        os.environ.update(SCANNER_DATA_DIR=str(data_dir), SCANNER_PREFIX="bench", SCANNER_PROVIDER="demo")
        os.environ.pop("REDIS_URL", None)
        store = open_store(Settings.from_env())
        criteria, provider = Criteria(), DemoProvider()
        request = ChainRequest(as_of=AS_OF)
        names = symbols(TICKERS)
        store.create("big", provider="demo", provider_label=provider.label, criteria=criteria.to_dict(), tickers=names)
        for done, ticker in enumerate(names, 1):
            rows = screen(provider.fetch(ticker, request), criteria, AS_OF)
            store.record_ticker("big", ticker, rows, None, counters(done, TICKERS, 0, 0, 0, ticker))
        store.finish("big", "completed")

        root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "dashboard.py")
        at = AppTest.from_file(root, default_timeout=120)
        start = time.perf_counter()
        at.run()
        first = (time.perf_counter() - start) * 1000
        assert not at.exception, at.exception
        times = []
        for _ in range(RUNS):
            start = time.perf_counter()
            at.run()
            times.append((time.perf_counter() - start) * 1000)
        print(f"main page on a {TICKERS}-ticker scan: first run {first:.0f} ms; rerun with nothing changed "
              f"median {statistics.median(times):.0f} ms (min {min(times):.0f})   target <= 400 ms")
        print(f"expanders drawn: {len(at.expander)} (of {len(at.dataframe[0].value)} tickers in the summary)")


if __name__ == "__main__":
    main()
