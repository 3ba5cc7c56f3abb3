"""The scan lock (DESIGN "The lock protocol"): a redis-py ``Lock`` whose token travels to the scan process.

Whoever starts a scan acquires it (SET NX PX with a fresh token); the process that runs the scan attaches
with that token, extends it every TTL/3 from a heartbeat thread, and releases it by compare-and-delete.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from redis.exceptions import LockError

from scanner.errors import REDIS_DOWN, LockLost
from scanner.store.connection import Client
from scanner.store.keys import Keys

log = logging.getLogger(__name__)

TOKEN_GONE = "the scan lock was lost (it no longer holds this scan's token)"


@dataclass(frozen=True)
class LockState:
    held: bool
    ttl_seconds: float | None  # None when free, or held with no expiry

    @classmethod
    def from_pttl(cls, pttl: int) -> LockState:
        """The one reading of the lock key's PTTL: -2 absent, -1 held with no expiry, else milliseconds left
        (0 is a lock about to expire: still held, 0 s left)."""
        if pttl == -2:
            return cls(held=False, ttl_seconds=None)
        return cls(held=True, ttl_seconds=None if pttl < 0 else pttl / 1000)


class ScanLock:
    """One scan's hold on the lock key."""

    def __init__(self, client: Client, keys: Keys, ttl: int) -> None:
        self.ttl = ttl
        self._client = client
        self._lock = client.lock(keys.lock, timeout=ttl, blocking=False, thread_local=False)

    def acquire(self) -> str | None:
        """Take the lock with a fresh token; None when another scan holds it."""
        token = uuid.uuid4().hex
        return token if self._lock.acquire(blocking=False, token=token) else None

    @classmethod
    def attach(cls, client: Client, keys: Keys, ttl: int, token: str) -> ScanLock:
        """The lock as held by ``token`` (handed over by whoever acquired it)."""
        lock = cls(client, keys, ttl)
        lock._lock.local.token = token.encode()  # as Lock.acquire stores it; no pool internals (RedisCluster)
        return lock

    @property
    def token(self) -> str:
        return self._lock.local.token.decode()

    def owned(self) -> bool:
        return self._lock.owned()

    def extend(self) -> None:
        """Reset the TTL; raises LockLost when the lock no longer holds this token."""
        try:
            self._lock.extend(self.ttl, replace_ttl=True)
        except LockError:  # also LockNotOwnedError, its subclass
            raise LockLost(TOKEN_GONE) from None

    def release(self) -> bool:
        """Compare-and-delete; False when the lock was no longer ours."""
        try:
            self._lock.release()
            return True
        except LockError:  # also LockNotOwnedError, its subclass
            return False


def force_release(client: Client, keys: Keys) -> bool:
    """Delete whatever token holds the lock now (compare-and-delete on that token, so a lock taken
    meanwhile by a new scan survives). The running holder notices at its next extension and stops."""
    token = client.get(keys.lock)
    if token is None:
        return False
    return ScanLock.attach(client, keys, ttl=1, token=token).release()


class Heartbeat:
    """Extends the lock every TTL/3 and calls ``on_beat`` (the fenced heartbeat stamp). It never dies silently:
    Redis unreachable is retried at the next beat; anything else (the lock lost, no permission, out of memory)
    ends the beats and is kept in ``failure``, which the scan raises at its next step to stop cleanly with it."""

    def __init__(self, lock: ScanLock, on_beat: Callable[[], None]) -> None:
        self.lock = lock
        self.failure: Exception | None = None
        self._on_beat = on_beat
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="scan-heartbeat", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def check(self) -> None:
        """Raise what ended the beats, if anything did (called by the scan's thread between steps)."""
        if self.failure is not None:
            raise self.failure

    def _run(self) -> None:
        """Beats at once (the process may have taken a while to start), then every TTL/3."""
        while self._beat() and not self._stop.wait(self.lock.ttl / 3):
            pass

    def _beat(self) -> bool:
        """Extend and stamp; False once beating must end (``failure`` then says why)."""
        try:
            self.lock.extend()
            self._on_beat()
        except REDIS_DOWN as exc:
            log.warning("the heartbeat could not reach Redis (%s); retrying", type(exc).__name__)
            return True
        except Exception as exc:  # a refusal a retry cannot fix: stop the scan with it rather than let the lock lapse
            log.warning("the heartbeat stopped: %s (%s)", exc, type(exc).__name__)
            self.failure = exc
            return False
        return True
