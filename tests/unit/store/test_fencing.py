"""Fenced writes on fakeredis[lua]: a scan's writes land only while the lock holds its token, and never recreate
a record that is gone (DESIGN "The lock protocol" step 4)."""

from __future__ import annotations

import pandas as pd
import pytest
from redis.exceptions import NoPermissionError

from scanner.errors import LockLost
from scanner.scan.engine import counters
from scanner.store.lock import Heartbeat, ScanLock
from scanner.store.scans import ScanStatus, ScanStore
from tests.support.processes import wait_for


def _started(store: ScanStore, scan_id: str = "s1") -> str:
    token = ScanLock(store.client, store.keys, ttl=6).acquire()
    store.create(scan_id, provider="demo", provider_label="Demo", criteria={"side": "put"}, tickers=["AAPL", "MSFT"])
    return token


def _rows(ticker: str) -> pd.DataFrame:
    return pd.DataFrame({"ticker": [ticker] * 2, "strike": [100.0, 101.0], "match": [True, False]})


def _holder_writes(store: ScanStore, token: str) -> list:
    """Every write a holder makes, each as a call (in the order a scan makes them)."""
    return [
        lambda: store.mark_running("s1", pid=1, host="h", token=token),
        lambda: store.heartbeat("s1", token=token),
        lambda: store.record_ticker("s1", "AAPL", _rows("AAPL"), None, counters(1, 2, 2, 1, 0, "AAPL"), token=token),
        lambda: store.record_tickers("s1", [("MSFT", None, "unknown ticker")], counters(2, 2, 2, 1, 1, "MSFT"),
                                     token=token),
        lambda: store.set_fields("s1", pid=2, token=token),
        lambda: store.finish("s1", ScanStatus.COMPLETED, "done", token=token),
    ]


def _dump(store: ScanStore) -> dict[str, object]:
    client = store.binary
    return {key: client.dump(key) for key in sorted(client.keys("*"))}  # KEYS: only the test looks everywhere


def test_the_holders_writes_land_while_its_lock_holds_its_token(fake_store: ScanStore) -> None:
    token = _started(fake_store)
    for write in _holder_writes(fake_store, token):
        write()
    meta = fake_store.get("s1")
    assert (meta.status, meta.pid, meta.tickers_done, meta.version) == ("completed", 2, 2, 3)
    assert fake_store.latest_id() == "s1" and len(fake_store.results("s1").frame) == 2


@pytest.mark.parametrize("lose", ["expired", "force-released", "taken by another scan"])
def test_a_holder_that_lost_its_lock_writes_nothing(fake_store: ScanStore, lose: str) -> None:
    token = _started(fake_store)
    fake_store.client.delete(fake_store.keys.lock)
    if lose == "taken by another scan":
        assert ScanLock(fake_store.client, fake_store.keys, ttl=6).acquire()
    before = _dump(fake_store)
    for write in _holder_writes(fake_store, token):
        with pytest.raises(LockLost, match="the scan lock was lost"):
            write()
    assert _dump(fake_store) == before


def test_an_empty_restart_leaves_nothing_a_holder_can_recreate(fake_store: ScanStore) -> None:
    token = _started(fake_store)
    fake_store.client.flushall()  # a restart without persistence: lock and record gone
    for write in _holder_writes(fake_store, token):
        with pytest.raises(LockLost):
            write()
    assert fake_store.client.keys("*") == []


def test_a_write_that_is_not_the_holders_never_recreates_a_gone_scan(fake_store: ScanStore) -> None:
    assert fake_store.set_fields("gone", lock_released_by="cli") is False
    fake_store.finish("gone", ScanStatus.FAILED, "force-released")
    assert fake_store.request_cancel("gone") is False
    assert fake_store.client.keys("*") == []


def test_whoever_took_the_lock_away_records_the_end(fake_store: ScanStore) -> None:
    token = _started(fake_store)
    fake_store.record_ticker("s1", "AAPL", _rows("AAPL"), None, counters(1, 2, 2, 1, 0, "AAPL"), token=token)
    fake_store.client.delete(fake_store.keys.lock)  # force-released
    fake_store.finish("s1", ScanStatus.FAILED, "force-released")  # by the releaser, who holds no token
    meta = fake_store.get("s1")
    assert (meta.status, meta.message) == ("failed", "force-released")
    assert len(fake_store.results("s1").frame) == 2  # compacted, kept


def test_an_end_without_rows_drops_them(fake_store: ScanStore) -> None:
    token = _started(fake_store)
    fake_store.record_ticker("s1", "AAPL", _rows("AAPL"), None, counters(1, 2, 2, 1, 0, "AAPL"), token=token)
    fake_store.finish("s1", ScanStatus.FAILED, "out of memory", token=token, keep_rows=False)
    assert fake_store.get("s1").status == "failed"
    assert not fake_store.client.exists(fake_store.keys.results("s1"), fake_store.keys.table("s1"))
    assert fake_store.results("s1").frame.empty


def test_retention_sweeps_the_keys_of_an_index_entry_whose_record_is_gone(fake_store: ScanStore) -> None:
    token = _started(fake_store)
    fake_store.record_ticker("s1", "AAPL", _rows("AAPL"), "one error", counters(1, 2, 2, 1, 1, "AAPL"), token=token)
    fake_store.client.delete(fake_store.keys.scan("s1"))  # lost its hash (evicted, deleted by hand)
    assert fake_store.apply_retention() == ["s1"]
    assert not any(fake_store.client.exists(key) for key in fake_store.keys.scan_keys("s1"))
    assert fake_store.client.zcard(fake_store.keys.scans) == 0


def test_the_heartbeat_ends_on_a_lost_lock_and_the_scan_raises_it(fake_store: ScanStore) -> None:
    token = _started(fake_store)
    lock = ScanLock.attach(fake_store.client, fake_store.keys, ttl=6, token=token)
    fake_store.client.delete(fake_store.keys.lock)
    with Heartbeat(lock, lambda: fake_store.heartbeat("s1", token=token)) as heartbeat:
        wait_for(lambda: heartbeat.failure, timeout=30)
    with pytest.raises(LockLost):
        heartbeat.check()


def test_the_heartbeat_ends_on_a_refusal_no_retry_fixes_and_the_scan_raises_it(fake_store: ScanStore) -> None:
    token = _started(fake_store)
    lock = ScanLock.attach(fake_store.client, fake_store.keys, ttl=6, token=token)
    refusal = NoPermissionError("this user has no permissions to run the 'hset' command")

    def refused() -> None:
        raise refusal

    with Heartbeat(lock, refused) as heartbeat:
        wait_for(lambda: heartbeat.failure, timeout=30)
    assert heartbeat.failure is refusal
    with pytest.raises(NoPermissionError):
        heartbeat.check()
