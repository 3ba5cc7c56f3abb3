"""The scan records in Redis (DESIGN "Redis"): status hashes, per-ticker results, history, retention.

Only this module (through ``Keys``) reads or writes scan data; pages and the CLI go through it.
"""

from __future__ import annotations

import json
import logging
import math
import secrets
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, field, fields, replace
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any, get_type_hints

import pandas as pd
import pyarrow as pa
import redis
from redis.commands.core import Script

from scanner import clock
from scanner.config import Settings
from scanner.errors import LockLost
from scanner.store.codec import encode_rows, one_payload, read_batches, to_frame
from scanner.store.connection import Client
from scanner.store.keys import Keys
from scanner.store.lock import TOKEN_GONE, LockState
from scanner.store.records import CriteriaRecord, WatchlistRecord

log = logging.getLogger(__name__)


class ScanStatus(StrEnum):
    """A scan's life (DESIGN "Redis": statuses)."""

    STARTING = "starting"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    ABANDONED = "abandoned"

    @property
    def active(self) -> bool:
        return self in ACTIVE


class ScanTrigger(StrEnum):
    """Who started a scan: shown in History and Monitor, so a scheduled scan reads as one."""

    PAGE = "page"
    CLI = "cli"
    SCHEDULE = "schedule"

    @property
    def label(self) -> str:
        """How a page says who started the scan ("started 09:35 ET by the schedule")."""
        return {ScanTrigger.PAGE: "from the page", ScanTrigger.CLI: "from the command line",
                ScanTrigger.SCHEDULE: "by the schedule"}[self]


ACTIVE = frozenset({ScanStatus.STARTING, ScanStatus.RUNNING})
FINISHED = frozenset(ScanStatus) - ACTIVE

# Marks a scan abandoned only if it still reads as active: a holder finishing at the same moment wins.
# KEYS[1]: the scan's hash. ARGV[1]: finished_at, ARGV[2]: message, ARGV[3]: abandoned, ARGV[4..]: active statuses.
_MARK_ABANDONED = """
local status = redis.call('HGET', KEYS[1], 'status')
for i = 4, #ARGV do
  if status == ARGV[i] then
    redis.call('HSET', KEYS[1], 'status', ARGV[3], 'finished_at', ARGV[1], 'message', ARGV[2])
    return 1
  end
end
return 0
"""

# The fence every write of a scan opens with (DESIGN "The lock protocol" step 4): nothing is written when the scan's
# hash is gone (a record is never recreated half-empty) or, for the holder's writes, when the lock no longer holds its
# token; the script then answers nil. KEYS[1]: the lock, KEYS[2]: the scan's hash. ARGV[1]: the holder's token, or ''
# for a write that is not the holder's (whoever took the lock away records the end itself).
_FENCE = """
if redis.call('EXISTS', KEYS[2]) == 0 or (ARGV[1] ~= '' and redis.call('GET', KEYS[1]) ~= ARGV[1]) then
  return nil
end
"""

# Some of the scan's fields. ARGV[2..]: field, value pairs.
_SET_FIELDS = _FENCE + """
redis.call('HSET', KEYS[2], unpack(ARGV, 2))
return 1
"""

# Some tickers' rows and errors with the scan's counters, bumping the version once; answers the cancel flag.
# KEYS[3]: results, KEYS[4]: errors. ARGV[2]: how many tickers (n), then per ticker its name, its rows ('' for none)
# and its error ('' for none), then the counters as field, value pairs.
_RECORD_TICKERS = _FENCE + """
local n = tonumber(ARGV[2])
for i = 3, 2 + 3 * n, 3 do
  if ARGV[i + 1] ~= '' then redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 1]) end
  if ARGV[i + 2] ~= '' then redis.call('HSET', KEYS[4], ARGV[i], ARGV[i + 2]) end
end
redis.call('HSET', KEYS[2], unpack(ARGV, 3 + 3 * n))
redis.call('HINCRBY', KEYS[2], 'version', 1)
return redis.call('HGET', KEYS[2], 'cancel_requested') or ''
"""

# The end: the compacted table replaces the per-ticker rows, the end's fields, the version, and ``latest`` for a
# completed scan. KEYS[3]: results, KEYS[4]: table, KEYS[5]: latest. ARGV[2]: the table ('' drops the rows instead,
# under OOM: DEL is a write Redis allows past maxmemory, and a script that has written is never stopped half-way, so
# the small end record that follows goes through), ARGV[3]: the scan id when it completed, else '', ARGV[4..]: the
# end's fields as field, value pairs.
_FINISH = _FENCE + """
if ARGV[2] ~= '' then redis.call('SET', KEYS[4], ARGV[2]) end
redis.call('DEL', KEYS[3])
redis.call('HSET', KEYS[2], unpack(ARGV, 4))
redis.call('HINCRBY', KEYS[2], 'version', 1)
if ARGV[3] ~= '' then redis.call('SET', KEYS[5], ARGV[3]) end
return 1
"""

# A scan's stored rows in one atomic read (a script, not MULTI: Redis refuses every command queued in a MULTI once it
# is out of memory, reads included). KEYS[1]: table, KEYS[2]: the scan's hash, KEYS[3]: results.
_READ_ROWS = """
return {redis.call('GET', KEYS[1]), redis.call('HGET', KEYS[2], 'corrupt_tickers'), redis.call('HGETALL', KEYS[3])}
"""


def new_scan_id() -> str:
    """Sortable by start time, unique across processes."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + secrets.token_hex(3)


def _float(value: str) -> float | None:
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _int(value: str) -> int | None:
    number = _float(value)
    return int(number) if number is not None else None


def _json(kind: type) -> Callable[[str], Any]:
    def decode(value: str) -> Any:
        try:
            loaded = json.loads(value)
        except ValueError:
            return kind()
        return loaded if isinstance(loaded, kind) else kind()
    return decode


def _date(value: str) -> date | None:
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _trigger(value: str) -> ScanTrigger | None:
    """A scan stored before triggers were recorded (or an unknown one) has none: its default."""
    try:
        return ScanTrigger(value)
    except ValueError:
        return None


def _status(value: str) -> ScanStatus:
    """An unreadable status (a hand-edited hash) reads as failed: never as a scan still running."""
    try:
        return ScanStatus(value)
    except ValueError:
        return ScanStatus.FAILED


_FIELD_CODECS: dict[Any, tuple[Callable[[Any], str], Callable[[str], Any]]] = {
    # annotation: (to the hash's text, from it); a missing or empty field takes the dataclass default
    str: (str, str),
    int: (lambda v: str(int(v)), _int),
    int | None: (lambda v: "" if v is None else str(int(v)), _int),
    float: (lambda v: repr(float(v)), _float),
    float | None: (lambda v: "" if v is None else repr(float(v)), _float),
    bool: (lambda v: "1" if v else "0", lambda v: v == "1"),
    ScanStatus: (lambda v: ScanStatus(v).value, _status),
    ScanTrigger: (lambda v: ScanTrigger(v).value, _trigger),
    date | None: (lambda v: "" if v is None else v.isoformat(), _date),
    dict[str, Any]: (json.dumps, _json(dict)),
    list[str]: (json.dumps, _json(list)),
    tuple[str, ...]: (",".join, lambda v: tuple(t for t in v.split(",") if t)),
}


@dataclass(frozen=True)
class ScanMeta:
    """A scan's hash, typed; its round trip through Redis derives from these fields (``to_hash``/``from_hash``)."""

    scan_id: str
    status: ScanStatus
    provider: str = ""
    provider_label: str = ""
    side: str = "put"
    tickers_total: int = 0
    tickers_done: int = 0
    pct: float = 0.0
    contracts: int = 0
    matches: int = 0
    errors: int = 0
    invalid_rows: int = 0  # unusable rows from the source, dropped and counted
    current_ticker: str = ""
    started_at: float | None = None
    heartbeat_at: float | None = None
    finished_at: float | None = None
    message: str = ""
    pid: int = 0
    host: str = ""
    version: int = 0
    cancel_requested: bool = False
    criteria: dict[str, Any] = field(default_factory=dict)
    tickers: list[str] = field(default_factory=list)
    as_of: date | None = None  # the quote date asked for (scan --as-of); None: the source's own
    credits_used: int | None = None  # a metered source's (MarketData) credits spent by this scan
    credits_remaining: int | None = None
    lock_released_by: str = ""  # who freed this scan's lock (monitor page, CLI), when, and whether forced
    lock_released_at: float | None = None
    lock_release_forced: bool = False
    corrupt_tickers: tuple[str, ...] = ()  # stored results that could not be read at compaction
    trigger: ScanTrigger = ScanTrigger.PAGE  # who started it (page, CLI, the scheduler)
    positions: dict[str, Any] = field(default_factory=dict)  # the book it ran with (scan.book.BookPlan.record)
    # Of the counts above, what only that book brought (its tickers, rows and their errors): other viewers read
    # the scan without them (``without_book``), and its message as it reads without them.
    book_tickers_done: int = 0
    book_contracts: int = 0
    book_matches: int = 0
    book_errors: int = 0
    message_without_book: str = ""

    @property
    def active(self) -> bool:
        return self.status.active

    @property
    def elapsed(self) -> float | None:
        if self.started_at is None:
            return None
        return (self.finished_at or clock.now()) - self.started_at

    @property
    def eta_seconds(self) -> float | None:
        """Remaining time at the pace so far; None until a ticker is done."""
        if not self.active or not self.tickers_done or self.elapsed is None:
            return None
        return self.elapsed / self.tickers_done * max(self.tickers_total - self.tickers_done, 0)

    def without_book(self, book_tickers: tuple[str, ...]) -> ScanMeta:
        """The scan as a viewer other than its starter reads it: its tickers and counts without what the starter's
        book brought (`book_tickers`: the tickers only the book asked for)."""
        total = self.tickers_total - len(book_tickers)
        done = self.tickers_done - self.book_tickers_done
        return replace(
            self, tickers=[t for t in self.tickers if t not in book_tickers], tickers_total=total, tickers_done=done,
            pct=progress_pct(done, total),
            contracts=self.contracts - self.book_contracts, matches=self.matches - self.book_matches,
            errors=self.errors - self.book_errors, message=self.message_without_book or self.message,
            current_ticker="" if self.current_ticker in book_tickers else self.current_ticker,
            book_tickers_done=0, book_contracts=0, book_matches=0, book_errors=0, message_without_book="")

    @staticmethod
    def encode(values: Mapping[str, Any]) -> dict[str, str]:
        """Some fields as the hash stores them; a name that is not a field is a bug, so it raises KeyError."""
        return {name: _FIELD_CODECS[_HINTS[name]][0](value) for name, value in values.items()}

    @classmethod
    def decode(cls, name: str, text: str | None) -> Any:
        """One field as read from the hash (its default when missing or unreadable)."""
        value = _FIELD_CODECS[_HINTS[name]][1](text) if text else None
        if value is not None:
            return value
        default = cls.__dataclass_fields__[name]
        return default.default_factory() if default.default is MISSING else default.default

    def to_hash(self) -> dict[str, str]:
        return self.encode({f.name: getattr(self, f.name) for f in fields(self) if f.name != "scan_id"})

    @classmethod
    def from_hash(cls, scan_id: str, raw: Mapping[str, str]) -> ScanMeta:
        """Fields the hash lacks, or holds unreadably, take their defaults; unknown hash fields are ignored."""
        values = {f.name: cls.decode(f.name, raw.get(f.name))
                  for f in fields(cls) if f.name not in ("scan_id", "status")}
        return cls(scan_id=scan_id, status=_status(raw.get("status") or ""), **values)


_HINTS = get_type_hints(ScanMeta)


def progress_pct(done: int, total: int) -> float:
    """A scan's percentage done, to a tenth; 100 for a scan of no tickers."""
    return round(100.0 * done / total, 1) if total else 100.0


@dataclass(frozen=True)
class Overview:
    """What a page needs on every rerun, read in two round trips."""

    lock: LockState
    current: ScanMeta | None
    latest: ScanMeta | None  # last completed scan


@dataclass(frozen=True)
class Results:
    frame: pd.DataFrame
    corrupt_tickers: tuple[str, ...] = ()


def _fields(values: Mapping[str, Any]) -> list[str]:
    """ScanMeta fields as a script's field, value arguments."""
    return [item for pair in ScanMeta.encode(values).items() for item in pair]


class ScanStore:
    """Reads and writes one deployment's scans (and, through ``watchlist`` and ``criteria``, its settings).

    ``client`` answers text, ``binary`` bytes (the Arrow tables): two clients from ``connect``, so the store works
    the same on ``redis.Redis`` and ``RedisCluster``. A write of the scan's own (``token``: the lock holder's) is
    fenced: refused with LockLost once the lock no longer holds that token. ``token=None`` is a write by whoever
    has no lock to check (who took the lock away, a test setting a scan up); it still never recreates a gone scan.
    """

    def __init__(self, client: Client, binary: Client, keys: Keys, lock_ttl: int = 60,
                 retention: int = 30) -> None:
        self.client = client
        self.binary = binary
        self.keys = keys
        self.lock_ttl = lock_ttl
        self.retention = retention
        self.watchlist = WatchlistRecord(client, keys.watchlist)
        self.criteria = CriteriaRecord(client, keys.criteria)
        self._mark_abandoned = client.register_script(_MARK_ABANDONED)
        self._set_fields = client.register_script(_SET_FIELDS)
        self._record_tickers = client.register_script(_RECORD_TICKERS)
        self._finish = client.register_script(_FINISH)
        self._read_rows = binary.register_script(_READ_ROWS)

    # ---- writing (the lock holder) ----
    def create(self, scan_id: str, *, provider: str, provider_label: str, criteria: dict[str, Any],
               tickers: list[str], as_of: date | None = None, trigger: ScanTrigger = ScanTrigger.PAGE,
               positions: dict[str, Any] | None = None) -> None:
        started = clock.now()
        meta = ScanMeta(scan_id=scan_id, status=ScanStatus.STARTING, provider=provider, provider_label=provider_label,
                        side=criteria.get("side", "put"), tickers_total=len(tickers), started_at=started,
                        heartbeat_at=started, criteria=criteria, tickers=tickers, as_of=as_of, trigger=trigger,
                        positions=positions or {})
        pipe = self.client.pipeline(transaction=True)  # the hash is never without its index entry
        pipe.hset(self.keys.scan(scan_id), mapping=meta.to_hash())
        pipe.zadd(self.keys.scans, {scan_id: started})
        pipe.set(self.keys.current, scan_id)
        pipe.execute()

    def _fenced(self, script: Script, scan_id: str, token: str | None, extra_keys: list[str],
                args: list[Any]) -> Any:
        """Run one fenced write; LockLost when the holder's write was refused (its answer is nil)."""
        answer = script(keys=[self.keys.lock, self.keys.scan(scan_id), *extra_keys], args=[token or "", *args])
        if answer is None and token:
            raise LockLost(TOKEN_GONE)
        return answer

    def mark_running(self, scan_id: str, pid: int, host: str, *, token: str | None = None) -> None:
        self.set_fields(scan_id, token=token, status=ScanStatus.RUNNING, pid=pid, host=host, heartbeat_at=clock.now())

    def heartbeat(self, scan_id: str, *, token: str) -> None:
        self.set_fields(scan_id, token=token, heartbeat_at=clock.now())

    def record_ticker(self, scan_id: str, ticker: str, rows: pd.DataFrame | bytes | None, error: str | None,
                      progress: Mapping[str, Any], *, token: str | None = None) -> bool:
        """One ticker's rows (a frame, or already encoded), error and the scan's new counters: ``record_tickers``
        for one."""
        payload = b"" if rows is None else encode_rows(rows) if isinstance(rows, pd.DataFrame) else rows
        return self.record_tickers(scan_id, [(ticker, payload, error)], progress, token=token)

    def record_tickers(self, scan_id: str, entries: list[tuple[str, bytes | None, str | None]],
                       progress: Mapping[str, Any], *, token: str | None = None) -> bool:
        """Some tickers' (ticker, encoded rows, error) entries and the scan's new counters (ScanMeta fields) in one
        fenced script, bumping ``version`` once. Returns whether a cancel has been requested (read in the same round
        trip, so the scan's one thread that writes never waits on Redis twice per write)."""
        flat = [item for ticker, payload, error in entries for item in (ticker, payload or b"", error or "")]
        cancel = self._fenced(self._record_tickers, scan_id, token,
                              [self.keys.results(scan_id), self.keys.errors(scan_id)],
                              [len(entries), *flat, *_fields({**progress, "heartbeat_at": clock.now()})])
        return ScanMeta.decode("cancel_requested", cancel)

    def set_fields(self, scan_id: str, *, token: str | None = None, **values: Any) -> bool:
        """Write some of the scan's fields (ScanMeta names); False when nothing was written (the scan is gone)."""
        return self._fenced(self._set_fields, scan_id, token, [], _fields(values)) is not None

    def finish(self, scan_id: str, status: ScanStatus, message: str = "", *, token: str | None = None,
               keep_rows: bool = True, message_without_book: str = "") -> None:
        """Record the end; a completed scan becomes ``latest`` and retention runs.

        The per-ticker rows are compacted into one payload (``table``), so reading a finished 500-ticker scan is
        one GET and one decode instead of 500; entries that could not be read are named on the scan
        (``corrupt_tickers``). ``keep_rows=False`` (Redis out of memory) drops them instead, which is what lets
        the end record through.
        """
        table: bytes | memoryview = b""
        corrupt: tuple[str, ...] = ()
        if keep_rows:
            batches, corrupt = self._stored_batches(scan_id)
            table = one_payload(batches)  # as one ticker's, never through pandas; empties `batches`
        end = {"status": status, "finished_at": clock.now(), "message": message, "corrupt_tickers": corrupt,
               "message_without_book": message_without_book}
        self._fenced(self._finish, scan_id, token,
                     [self.keys.results(scan_id), self.keys.table(scan_id), self.keys.latest],
                     [table, scan_id if status == ScanStatus.COMPLETED else "", *_fields(end)])
        self.apply_retention()

    def request_cancel(self, scan_id: str) -> bool:
        meta = self.get(scan_id)
        if meta is None or not meta.active:
            return False
        self.set_fields(scan_id, cancel_requested=True)
        return True

    def cancel_requested(self, scan_id: str) -> bool:
        return ScanMeta.decode("cancel_requested", self.client.hget(self.keys.scan(scan_id), "cancel_requested"))

    # ---- reading ----
    def get(self, scan_id: str | None) -> ScanMeta | None:
        if not scan_id:
            return None
        raw = self.client.hgetall(self.keys.scan(scan_id))
        return ScanMeta.from_hash(scan_id, raw) if raw else None

    def current_id(self) -> str | None:
        return self.client.get(self.keys.current)

    def latest_id(self) -> str | None:
        return self.client.get(self.keys.latest)

    def resolve(self, ref: str) -> str | None:
        """``latest``, ``current`` or a scan id → an existing scan id."""
        scan_id = {"latest": self.latest_id, "current": self.current_id}.get(ref, lambda: ref)()
        return scan_id if scan_id and self.client.exists(self.keys.scan(scan_id)) else None

    def overview(self) -> Overview:
        """Lock, current and latest scans; detects and marks an abandoned current scan."""
        pipe = self.client.pipeline(transaction=False)
        pipe.pttl(self.keys.lock)
        pipe.get(self.keys.current)
        pipe.get(self.keys.latest)
        pttl, current_id, latest_id = pipe.execute()
        lock = LockState.from_pttl(pttl)
        ids = [i for i in dict.fromkeys((current_id, latest_id)) if i]
        pipe = self.client.pipeline(transaction=False)
        for scan_id in ids:
            pipe.hgetall(self.keys.scan(scan_id))
        metas = {i: ScanMeta.from_hash(i, raw) for i, raw in zip(ids, pipe.execute(), strict=True) if raw}
        current = metas.get(current_id) if current_id else None
        if current is not None and current.active and not lock.held and self._looks_dead(current):
            try:
                self.mark_abandoned(current.scan_id)
            except redis.ResponseError as exc:  # out of memory, no permission, a replica: readers read on
                log.warning("could not mark scan %s abandoned: %s", current.scan_id, exc)
            current = self.get(current.scan_id)
        return Overview(lock=lock, current=current, latest=metas.get(latest_id) if latest_id else None)

    def _looks_dead(self, meta: ScanMeta) -> bool:
        """No lock and no heartbeat for half a TTL: the holder died (its lock expired)."""
        last_sign = meta.heartbeat_at or meta.started_at or 0.0
        return clock.now() - last_sign > self.lock_ttl / 2

    def mark_abandoned(self, scan_id: str) -> bool:
        message = "The scan process stopped without finishing (its lock expired); partial results are kept."
        return bool(self._mark_abandoned(keys=[self.keys.scan(scan_id)],
                                         args=[clock.now(), message, ScanStatus.ABANDONED, *sorted(ACTIVE)]))

    def lock(self) -> LockState:
        return LockState.from_pttl(self.client.pttl(self.keys.lock))

    def results(self, scan_id: str) -> Results:
        """A finished scan's compacted rows, else (running or abandoned) its per-ticker rows."""
        batches, corrupt = self._stored_batches(scan_id)
        return Results(frame=to_frame(batches), corrupt_tickers=corrupt)

    def _stored_batches(self, scan_id: str) -> tuple[list[pa.RecordBatch], tuple[str, ...]]:
        """The scan's record batches and the tickers that could not be read, in one atomic read:
        the compacted table when the scan has finished, else the per-ticker entries."""
        table, corrupt, flat = self._read_rows(keys=[self.keys.table(scan_id), self.keys.scan(scan_id),
                                                      self.keys.results(scan_id)])
        if table is None:
            return read_batches({flat[i].decode(): flat[i + 1] for i in range(0, len(flat), 2)})
        batches, unreadable = read_batches({"all tickers": table})
        if unreadable:
            return [], unreadable
        return batches, ScanMeta.decode("corrupt_tickers", corrupt.decode() if corrupt else None)

    def errors(self, scan_id: str) -> dict[str, str]:
        return self.client.hgetall(self.keys.errors(scan_id))

    def history(self, limit: int = 100) -> list[ScanMeta]:
        """Newest first."""
        ids = self.client.zrevrange(self.keys.scans, 0, max(limit, 1) - 1)
        pipe = self.client.pipeline(transaction=False)
        for scan_id in ids:
            pipe.hgetall(self.keys.scan(scan_id))
        return [ScanMeta.from_hash(i, raw) for i, raw in zip(ids, pipe.execute(), strict=True) if raw]

    def previous_completed(self, scan_id: str) -> str | None:
        """The completed scan that started before ``scan_id`` (what it is compared with)."""
        score = self.client.zscore(self.keys.scans, scan_id)
        if score is None:
            return None
        earlier = self.client.zrevrangebyscore(self.keys.scans, f"({score}", "-inf")
        if not earlier:
            return None
        pipe = self.client.pipeline(transaction=False)
        for candidate in earlier:
            pipe.hget(self.keys.scan(candidate), "status")
        return next((c for c, status in zip(earlier, pipe.execute(), strict=True) if status == ScanStatus.COMPLETED),
                    None)

    # ---- retention ----
    def apply_retention(self) -> list[str]:
        """Keep the newest ``retention`` completed scans and as many others; delete the rest, and the keys of an
        index entry whose hash is gone (what no reader reaches any more)."""
        ids = self.client.zrevrange(self.keys.scans, 0, -1)
        pipe = self.client.pipeline(transaction=False)
        for scan_id in ids:
            pipe.hget(self.keys.scan(scan_id), "status")
        statuses = pipe.execute()
        kept = {True: 0, False: 0}  # completed or not: how many are kept so far
        doomed: list[str] = []
        for scan_id, status in zip(ids, statuses, strict=True):
            if status in ACTIVE:
                continue
            completed = status == ScanStatus.COMPLETED
            kept[completed] += 1
            if kept[completed] > self.retention or status is None:
                doomed.append(scan_id)
        if doomed:  # keys first, index entries last: cut short, it leaves entries the next pass finds, never strays
            pipe = self.client.pipeline(transaction=False)  # no MULTI: Redis refuses it when out of memory
            for scan_id in doomed:
                pipe.delete(*self.keys.scan_keys(scan_id))
            pipe.zrem(self.keys.scans, *doomed)
            pipe.execute()
        return doomed


def open_store(settings: Settings) -> ScanStore:
    """The store on the configured Redis (starting the embedded server if needed); RedisUnavailable if down."""
    from scanner.store.connection import connect

    return ScanStore(connect(settings), connect(settings, binary=True), Keys(settings.prefix), settings.lock_ttl,
                     settings.retention)
