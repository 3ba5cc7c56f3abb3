"""The page's read path on a real embedded server. Prints figures, asserts nothing.

- Redis round trips of a rerun that finds nothing new (snapshot + the results cache keyed on ``version``).
- Reading a finished scan of 500 tickers x 60 contracts into one DataFrame, against the original app's
  pattern (``KEYS put_*``, two ``HGET`` and a ``json.loads`` per ticker) on the same server.

Run: .venv/bin/python bench/bench_polling.py
"""

from __future__ import annotations

import json
import statistics
import time
from datetime import date

import pandas as pd
import redis
from _common import embedded_server, symbols

from scanner.providers.base import ChainRequest
from scanner.providers.demo import DemoProvider
from scanner.scan.criteria import Criteria
from scanner.scan.engine import counters
from scanner.scan.screening import screen
from scanner.store.keys import Keys
from scanner.store.scans import ScanStore

TICKERS, RUNS = 500, 15
AS_OF = date(2026, 11, 30)


class CountingConnection(redis.UnixDomainSocketConnection):
    """Counts what is sent to the server: one packed send is one round trip."""

    sent = 0

    def send_packed_command(self, command, check_health=True):  # noqa: ANN001
        CountingConnection.sent += 1
        return super().send_packed_command(command, check_health)


def median_ms(action, runs: int = RUNS) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    provider = DemoProvider()
    criteria = Criteria()
    request = ChainRequest(sides=("put",), weeks=4, strike_limit=15, as_of=AS_OF)
    frames = {t: screen(provider.fetch(t, request), criteria, AS_OF) for t in symbols(TICKERS)}
    rows = sum(len(f) for f in frames.values())
    with embedded_server() as (_, url):
        client, binary = (redis.Redis(connection_pool=redis.ConnectionPool(
            connection_class=CountingConnection, path=url.removeprefix("unix://"), decode_responses=decoded))
            for decoded in (True, False))
        store = ScanStore(client, binary, Keys("bench"))
        store.create("s1", provider="demo", provider_label="Demo", criteria=criteria.to_dict(), tickers=list(frames))
        for done, (ticker, frame) in enumerate(frames.items(), 1):
            store.record_ticker("s1", ticker, frame, None, counters(done, TICKERS, 0, 0, 0, ticker))
        store.finish("s1", "completed")

        # The original layout: one hash per ticker with the rows as a JSON list of objects.
        pipe = client.pipeline()
        for ticker, frame in frames.items():
            pipe.hset(f"put_{ticker}", mapping={
                "data": frame.assign(expiration=frame["expiration"].astype(str),
                                     quote_date=frame["quote_date"].astype(str)).to_json(orient="records",
                                                                                         date_format="iso"),
                "last_scan": "2026-11-30 14:32"})
        pipe.execute()

        def original() -> pd.DataFrame:
            records = []
            for key in client.keys("put_*"):
                payload, _ = client.hget(key, "data"), client.hget(key, "last_scan")
                records.extend(json.loads(payload))
            return pd.DataFrame.from_records(records)

        ours = median_ms(lambda: store.results("s1"))
        theirs = median_ms(original)
        assert len(store.results("s1").frame) == len(original()) == rows

        seen_version = store.get("s1").version
        before = CountingConnection.sent
        snap = store.overview()
        if snap.latest.version != seen_version:  # the page re-reads results only when version moved
            store.results("s1")
        trips = CountingConnection.sent - before

    print(f"scan of {TICKERS} tickers, {rows:,} contracts")
    print(f"read into one DataFrame (median of {RUNS}): {ours:.1f} ms   target <= 25 ms")
    print(f"original pattern (KEYS + 2 HGET + json.loads per ticker): {theirs:.1f} ms")
    print(f"speed-up: {theirs / ours:.1f}x   target >= 10x")
    print(f"Redis round trips of a rerun that finds nothing new: {trips}   target <= 2")


if __name__ == "__main__":
    main()
