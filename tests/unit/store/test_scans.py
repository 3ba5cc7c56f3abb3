"""The store and the lock on fakeredis[lua]: keys, ownership, progress, retention, abandoned scans."""

from __future__ import annotations

import pandas as pd
import pytest

from scanner import clock
from scanner.errors import LockLost
from scanner.scan.engine import counters
from scanner.store.codec import encode_rows
from scanner.store.keys import Keys
from scanner.store.lock import LockState, ScanLock, force_release
from scanner.store.scans import ScanStore


def _create(store: ScanStore, scan_id: str, tickers=("AAPL", "MSFT")) -> None:
    store.create(scan_id, provider="demo", provider_label="Demo", criteria={"side": "put"}, tickers=list(tickers))


def _rows(ticker: str, matches: int, total: int = 3) -> pd.DataFrame:
    return pd.DataFrame({
        "ticker": [ticker] * total,
        "expiration": pd.to_datetime(["2026-12-04"] * total),
        "strike": [100.0 + i for i in range(total)],
        "delta": [-0.1, float("nan"), -0.3][:total],
        "match": [i < matches for i in range(total)],
    })


def test_keys_share_one_hash_tag() -> None:
    keys = Keys("scanner")
    names = [keys.lock, keys.scans, keys.current, keys.latest, keys.watchlist, keys.criteria, *keys.scan_keys("x")]
    assert all(name.startswith("{scanner}:") for name in names)
    assert len(set(names)) == len(names)
    assert keys.results("x") == "{scanner}:scan:x:results"


def test_lock_is_exclusive_and_only_the_owner_extends_or_releases(fake_store: ScanStore) -> None:
    first = ScanLock(fake_store.client, fake_store.keys, ttl=6)
    token = first.acquire()
    assert token and first.owned()
    assert ScanLock(fake_store.client, fake_store.keys, ttl=6).acquire() is None
    intruder = ScanLock.attach(fake_store.client, fake_store.keys, ttl=6, token="not-the-token")
    assert not intruder.owned()
    with pytest.raises(LockLost):
        intruder.extend()
    assert intruder.release() is False
    with pytest.raises(LockLost):  # a released handle holds no token at all
        intruder.extend()
    assert fake_store.client.get(fake_store.keys.lock) == token
    holder = ScanLock.attach(fake_store.client, fake_store.keys, ttl=6, token=token)
    fake_store.client.pexpire(fake_store.keys.lock, 1000)
    holder.extend()
    assert fake_store.client.pttl(fake_store.keys.lock) > 5000
    assert holder.release() is True
    assert fake_store.client.get(fake_store.keys.lock) is None
    assert holder.release() is False


class _ReadBeforeTheNewScan:
    """The client as seen by a release that read the lock's token just before that lock expired and a new scan
    took it: its GET of the lock key answers the old token, everything else goes to the real client."""

    def __init__(self, client: object, lock_key: str, old_token: str) -> None:
        self._client, self._lock_key, self._old_token = client, lock_key, old_token

    def get(self, key: str) -> str | None:
        return self._old_token if key == self._lock_key else self._client.get(key)

    def __getattr__(self, name: str) -> object:
        return getattr(self._client, name)


def test_force_release_spares_a_lock_taken_meanwhile(fake_store: ScanStore) -> None:
    client, keys = fake_store.client, fake_store.keys
    assert force_release(client, keys) is False
    ScanLock(client, keys, ttl=6).acquire()
    assert force_release(client, keys) is True
    assert not fake_store.lock().held
    old_token = ScanLock(client, keys, ttl=6).acquire()
    client.delete(keys.lock)  # that holder's lock expired...
    new_token = ScanLock(client, keys, ttl=6).acquire()  # ...and a new scan took it before the release's delete
    assert force_release(_ReadBeforeTheNewScan(client, keys.lock, old_token), keys) is False
    assert client.get(keys.lock) == new_token


def test_progress_is_written_per_ticker_with_a_version(fake_store: ScanStore) -> None:
    _create(fake_store, "s1")
    fake_store.mark_running("s1", pid=42, host="h")
    fake_store.record_ticker("s1", "AAPL", _rows("AAPL", 2), None, counters(1, 2, 3, 2, 0, "AAPL"))
    meta = fake_store.get("s1")
    progress = (meta.status, meta.tickers_done, meta.pct, meta.matches, meta.version, meta.pid)
    assert progress == ("running", 1, 50.0, 2, 1, 42)
    fake_store.record_ticker("s1", "MSFT", None, "unknown ticker", counters(2, 2, 3, 2, 1, "MSFT"))
    meta = fake_store.get("s1")
    assert (meta.pct, meta.errors, meta.version) == (100.0, 1, 2)
    assert fake_store.errors("s1") == {"MSFT": "unknown ticker"}
    frame = fake_store.results("s1").frame
    assert list(frame["strike"]) == [100.0, 101.0, 102.0]
    assert frame["match"].tolist() == [True, True, False]
    assert frame["delta"].isna().tolist() == [False, True, False]
    assert str(frame["expiration"].dtype).startswith("datetime64")


def test_several_tickers_land_in_one_write_with_one_version(fake_store: ScanStore) -> None:
    _create(fake_store, "s1", tickers=("AAPL", "MSFT", "NVDA"))
    entries = [("AAPL", encode_rows(_rows("AAPL", 1)), None), ("MSFT", None, "unknown ticker"),
               ("NVDA", encode_rows(_rows("NVDA", 2, total=2)), None)]
    assert fake_store.record_tickers("s1", entries, counters(3, 3, 5, 3, 1, "NVDA")) is False
    meta = fake_store.get("s1")
    assert (meta.tickers_done, meta.pct, meta.matches, meta.errors, meta.version) == (3, 100.0, 3, 1, 1)
    assert fake_store.errors("s1") == {"MSFT": "unknown ticker"}
    frame = fake_store.results("s1").frame
    assert frame["ticker"].tolist() == ["AAPL"] * 3 + ["NVDA"] * 2
    assert frame["match"].tolist() == [True, False, False, True, True]


def test_finish_sets_latest_and_history_is_newest_first(fake_store: ScanStore) -> None:
    for scan_id, status in (("a", "completed"), ("b", "failed"), ("c", "completed")):
        _create(fake_store, scan_id)
        fake_store.finish(scan_id, status, "done")
    assert fake_store.latest_id() == "c"
    assert fake_store.resolve("latest") == "c"
    assert fake_store.resolve("nope") is None
    assert [m.scan_id for m in fake_store.history()] == ["c", "b", "a"]


def test_retention_keeps_the_newest_completed_scans_without_ttl(fake_store: ScanStore) -> None:
    ids = [f"s{i:02d}" for i in range(6)]
    for i, scan_id in enumerate(ids):
        _create(fake_store, scan_id)
        fake_store.client.zadd(fake_store.keys.scans, {scan_id: i})
        fake_store.record_ticker(scan_id, "AAPL", _rows("AAPL", 1), None, counters(1, 1, 3, 1, 0, "AAPL"))
        fake_store.finish(scan_id, "completed")
    remaining = [m.scan_id for m in fake_store.history()]
    assert remaining == ["s05", "s04", "s03"]  # retention=3 in the fixture
    assert not any(fake_store.client.exists(key) for key in fake_store.keys.scan_keys("s00"))
    assert fake_store.client.ttl(fake_store.keys.table("s05")) == -1
    assert len(fake_store.results("s05").frame) == 3


def test_a_running_scan_without_lock_and_heartbeat_reads_as_abandoned(fake_store: ScanStore) -> None:
    _create(fake_store, "old")
    fake_store.finish("old", "completed")
    _create(fake_store, "dead")
    fake_store.mark_running("dead", pid=1, host="h")
    fake_store.set_fields("dead", heartbeat_at=clock.now() - 60)
    snap = fake_store.overview()
    assert snap.current.status == "abandoned"
    assert "partial results are kept" in snap.current.message
    assert snap.latest.scan_id == "old" and snap.latest.status == "completed"


def test_a_live_scan_is_not_marked_abandoned(fake_store: ScanStore) -> None:
    _create(fake_store, "live")
    fake_store.mark_running("live", pid=1, host="h")
    assert fake_store.overview().current.status == "running"  # fresh heartbeat, even without the lock
    fake_store.set_fields("live", heartbeat_at=clock.now() - 60)
    ScanLock(fake_store.client, fake_store.keys, ttl=6).acquire()
    snap = fake_store.overview()
    assert snap.lock.held and snap.current.status == "running"
    fake_store.finish("live", "completed")
    assert fake_store.mark_abandoned("live") is False  # a finished scan is never overwritten


def test_cancel_flag_only_for_active_scans(fake_store: ScanStore) -> None:
    _create(fake_store, "s")
    assert fake_store.request_cancel("s") and fake_store.cancel_requested("s")
    fake_store.finish("s", "cancelled")
    assert fake_store.request_cancel("s") is False


def test_a_finished_scan_is_compacted_and_reads_the_same(fake_store: ScanStore) -> None:
    _create(fake_store, "s1")
    fake_store.record_ticker("s1", "MSFT", _rows("MSFT", 1), None, counters(1, 3, 3, 1, 0, "MSFT"))
    fake_store.record_ticker("s1", "AAPL", _rows("AAPL", 2), None, counters(2, 3, 6, 3, 0, "AAPL"))
    fake_store.client.hset(fake_store.keys.results("s1"), "BAD", "not a batch")
    live = fake_store.results("s1")
    fake_store.finish("s1", "completed")
    assert not fake_store.client.exists(fake_store.keys.results("s1"))
    finished = fake_store.results("s1")
    pd.testing.assert_frame_equal(finished.frame, live.frame)
    assert finished.corrupt_tickers == live.corrupt_tickers == ("BAD",)
    fake_store.client.set(fake_store.keys.table("s1"), b"garbage")
    assert fake_store.results("s1").corrupt_tickers == ("all tickers",)


@pytest.mark.parametrize(("pttl", "held", "seconds"), [(-2, False, None), (-1, True, None), (0, True, 0.0),
                                                       (1500, True, 1.5)])
def test_one_reading_of_the_lock_ttl(pttl: int, held: bool, seconds: float | None) -> None:
    """-2 absent, -1 held with no expiry, 0 about to expire (still held), else the milliseconds left."""
    assert LockState.from_pttl(pttl) == LockState(held=held, ttl_seconds=seconds)

