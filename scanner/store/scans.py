"""The scan records in Redis (DESIGN "Redis"): status hashes, per-ticker results, history, retention.

Only this module (through ``Keys``) reads or writes scan data; pages and the CLI go through it.
"""

from __future__ import annotations

import json
import math
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Mapping

import numpy as np
import pandas as pd
import pyarrow as pa
import redis

from scanner import clock
from scanner.config import Settings
from scanner.schema import RESULT_COLUMNS
from scanner.store.keys import Keys
from scanner.store.lock import LockState, lock_state

ACTIVE = ("starting", "running")
FINISHED = ("completed", "failed", "cancelled", "abandoned")
DATE_COLUMNS = ("expiration", "quote_date")

# Marks a scan abandoned only if it still reads as active: a holder finishing at the same moment wins.
_MARK_ABANDONED = """
local status = redis.call('HGET', KEYS[1], 'status')
if status == 'starting' or status == 'running' then
  redis.call('HSET', KEYS[1], 'status', 'abandoned', 'finished_at', ARGV[1], 'message', ARGV[2])
  return 1
end
return 0
"""


def new_scan_id() -> str:
    """Sortable by start time, unique across processes."""
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S") + "-" + secrets.token_hex(3)


def _float(value: str | None) -> float | None:
    if value in (None, ""):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _int(value: str | None) -> int:
    number = _float(value)
    return int(number) if number is not None else 0


@dataclass(frozen=True)
class ScanMeta:
    """A scan's hash, typed."""

    scan_id: str
    status: str
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
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

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

    @classmethod
    def from_hash(cls, scan_id: str, raw: dict[str, str]) -> "ScanMeta":
        known = set(cls.__dataclass_fields__)

        def loads(name: str, default: Any) -> Any:
            try:
                value = json.loads(raw.get(name) or "null")
            except ValueError:
                return default
            return value if isinstance(value, type(default)) else default

        return cls(
            scan_id=scan_id,
            status=raw.get("status", "unknown"),
            provider=raw.get("provider", ""),
            provider_label=raw.get("provider_label", ""),
            side=raw.get("side", "put"),
            tickers_total=_int(raw.get("tickers_total")),
            tickers_done=_int(raw.get("tickers_done")),
            pct=_float(raw.get("pct")) or 0.0,
            contracts=_int(raw.get("contracts")),
            matches=_int(raw.get("matches")),
            errors=_int(raw.get("errors")),
            invalid_rows=_int(raw.get("invalid_rows")),
            current_ticker=raw.get("current_ticker", ""),
            started_at=_float(raw.get("started_at")),
            heartbeat_at=_float(raw.get("heartbeat_at")),
            finished_at=_float(raw.get("finished_at")),
            message=raw.get("message", ""),
            pid=_int(raw.get("pid")),
            host=raw.get("host", ""),
            version=_int(raw.get("version")),
            cancel_requested=raw.get("cancel_requested") == "1",
            criteria=loads("criteria", {}),
            tickers=loads("tickers", []),
            extra={k: v for k, v in raw.items() if k not in known},
        )


@dataclass(frozen=True)
class Snapshot:
    """What a page needs on every rerun, read in two round trips."""

    lock: LockState
    current: ScanMeta | None
    latest: ScanMeta | None  # last completed scan


@dataclass(frozen=True)
class Results:
    frame: pd.DataFrame
    corrupt_tickers: tuple[str, ...] = ()


def _arrow_type(column: str) -> pa.DataType:
    if column in DATE_COLUMNS:
        return pa.timestamp("s")
    if column in ("ticker", "side", "option_symbol"):
        return pa.string()
    if column in ("volume", "open_interest", "dte"):
        return pa.int64()
    return pa.bool_() if column == "match" else pa.float64()


# Every ticker's rows share this schema, so each is stored as one bare Arrow record batch (no schema, no
# per-ticker metadata) and a 500-ticker scan reads back as one concatenation.
ROWS_SCHEMA = pa.schema([pa.field(name, _arrow_type(name)) for name in RESULT_COLUMNS])


def _arrow_column(frame: pd.DataFrame, field: pa.Field) -> pa.Array:
    """One column of `frame` as the field's Arrow type; all null when the frame lacks it."""
    if field.name not in frame:
        return pa.nulls(len(frame), field.type)
    column = frame[field.name]
    if pa.types.is_timestamp(field.type) and not pd.api.types.is_datetime64_dtype(column.dtype):
        column = pd.to_datetime(column, errors="coerce")
    array = pa.array(column, type=field.type, from_pandas=True)
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array  # pyarrow-backed text


def encode_rows(frame: pd.DataFrame, keep: np.ndarray | None = None) -> bytes:
    """One ticker's screened rows (those `keep` marks, else all) as an Arrow record batch of ``ROWS_SCHEMA``
    (missing columns are null). Column by column rather than Table.from_pandas, and the rows picked
    in Arrow: pandas' own per-call cost was most of a small ticker's."""
    batch = pa.RecordBatch.from_arrays([_arrow_column(frame, field) for field in ROWS_SCHEMA], schema=ROWS_SCHEMA)
    if keep is not None and not keep.all():
        batch = batch.filter(pa.array(keep, type=pa.bool_()))
    return batch.serialize().to_pybytes()


ROW_ERRORS = (pa.ArrowException, ValueError, OSError, EOFError)


def _read_batches(payloads: Mapping[str | bytes, bytes]) -> tuple[list[pa.RecordBatch], tuple[str, ...]]:
    """Each payload as a validated record batch of ``ROWS_SCHEMA`` (in key order), and the keys of those
    that are not one."""
    batches: list[pa.RecordBatch] = []
    corrupt: list[str] = []
    for key, payload in sorted(payloads.items()):
        try:
            batch = pa.ipc.read_record_batch(pa.py_buffer(payload), ROWS_SCHEMA)
            batch.validate(full=True)
            batches.append(batch)
        except ROW_ERRORS:
            corrupt.append(key.decode() if isinstance(key, bytes) else key)
    return batches, tuple(corrupt)


def _one_batch(batches: list[pa.RecordBatch]) -> bytes:
    """Record batches of ``ROWS_SCHEMA`` serialized as one (empty when there are none)."""
    combined = pa.Table.from_batches(batches, ROWS_SCHEMA).combine_chunks().to_batches()
    return (combined[0] if combined else pa.RecordBatch.from_pylist([], schema=ROWS_SCHEMA)).serialize().to_pybytes()


def _frame(batches: list[pa.RecordBatch]) -> pd.DataFrame:
    frame = pa.Table.from_batches(batches, ROWS_SCHEMA).to_pandas(date_as_object=False)
    frame["match"] = frame["match"].fillna(False).astype(bool)
    return frame


def decode_rows(payloads: Mapping[str | bytes, bytes]) -> Results:
    """All tickers' rows as one DataFrame; an entry that does not decode is skipped and named."""
    batches, corrupt = _read_batches(payloads)
    return Results(frame=_frame(batches), corrupt_tickers=corrupt)


def _binary_twin(client: redis.Redis) -> redis.Redis:
    """A client on the same server that returns bytes (Arrow payloads are not text)."""
    pool = client.connection_pool
    kwargs = {**pool.connection_kwargs, "decode_responses": False}
    return redis.Redis(connection_pool=type(pool)(connection_class=pool.connection_class, **kwargs))


class ScanStore:
    """Reads and writes scans; one instance per client and key prefix."""

    def __init__(self, client: redis.Redis, keys: Keys, lock_ttl: int = 60, retention: int = 30) -> None:
        self.client = client
        self.binary = _binary_twin(client)
        self.keys = keys
        self.lock_ttl = lock_ttl
        self.retention = retention
        self._mark_abandoned = client.register_script(_MARK_ABANDONED)

    # ---- writing (the lock holder) ----
    def create(self, scan_id: str, *, provider: str, provider_label: str, criteria: dict[str, Any],
               tickers: list[str]) -> None:
        started = clock.now()
        fields = {
            "status": "starting", "provider": provider, "provider_label": provider_label,
            "side": criteria.get("side", "put"), "tickers_total": len(tickers), "tickers_done": 0,
            "pct": 0, "contracts": 0, "matches": 0, "errors": 0, "current_ticker": "",
            "started_at": started, "heartbeat_at": started, "message": "", "pid": 0, "host": "",
            "criteria": json.dumps(criteria), "tickers": json.dumps(tickers), "version": 0,
        }
        pipe = self.client.pipeline()
        pipe.hset(self.keys.scan(scan_id), mapping=fields)
        pipe.zadd(self.keys.scans, {scan_id: started})
        pipe.set(self.keys.current, scan_id)
        pipe.execute()

    def mark_running(self, scan_id: str, pid: int, host: str) -> None:
        self.client.hset(self.keys.scan(scan_id), mapping={
            "status": "running", "pid": pid, "host": host, "heartbeat_at": clock.now()})

    def heartbeat(self, scan_id: str) -> None:
        self.client.hset(self.keys.scan(scan_id), "heartbeat_at", clock.now())

    def record_ticker(self, scan_id: str, ticker: str, rows: pd.DataFrame | bytes | None, error: str | None,
                      progress: dict[str, int | float | str]) -> bool:
        """One ticker's rows (a frame, or already encoded), error and the scan's new counters, atomically,
        bumping ``version``. Returns whether a cancel has been requested (read in the same round trip, so
        the scan's one thread that writes never waits on Redis twice per ticker)."""
        pipe = self.client.pipeline(transaction=True)
        if rows is not None:
            payload = encode_rows(rows) if isinstance(rows, pd.DataFrame) else rows
            pipe.hset(self.keys.results(scan_id), ticker, payload)
        if error:
            pipe.hset(self.keys.errors(scan_id), ticker, error)
        pipe.hset(self.keys.scan(scan_id), mapping={**progress, "heartbeat_at": clock.now()})
        pipe.hincrby(self.keys.scan(scan_id), "version", 1)
        pipe.hget(self.keys.scan(scan_id), "cancel_requested")
        return pipe.execute()[-1] == "1"

    def set_fields(self, scan_id: str, fields: dict[str, str | int | float]) -> None:
        self.client.hset(self.keys.scan(scan_id), mapping=fields)

    def finish(self, scan_id: str, status: str, message: str = "") -> None:
        """Record the end; a completed scan becomes ``latest`` and retention runs.

        The per-ticker rows are compacted into one record batch (``table``), so reading a finished
        500-ticker scan is one GET and one decode instead of 500; entries that could not be read are named
        on the scan (``corrupt_tickers``).
        """
        batches, corrupt = self._stored_batches(scan_id)
        pipe = self.client.pipeline(transaction=True)
        pipe.set(self.keys.table(scan_id), _one_batch(batches))  # as one ticker's, never through pandas
        pipe.delete(self.keys.results(scan_id))
        pipe.hset(self.keys.scan(scan_id), mapping={"status": status, "finished_at": clock.now(), "message": message,
                                                   "corrupt_tickers": ",".join(corrupt)})
        pipe.hincrby(self.keys.scan(scan_id), "version", 1)
        if status == "completed":
            pipe.set(self.keys.latest, scan_id)
        pipe.execute()
        self.apply_retention()

    def request_cancel(self, scan_id: str) -> bool:
        meta = self.get(scan_id)
        if meta is None or not meta.active:
            return False
        self.client.hset(self.keys.scan(scan_id), "cancel_requested", "1")
        return True

    def cancel_requested(self, scan_id: str) -> bool:
        return self.client.hget(self.keys.scan(scan_id), "cancel_requested") == "1"

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

    def snapshot(self) -> Snapshot:
        """Lock, current and latest scans; detects and marks an abandoned current scan."""
        pipe = self.client.pipeline(transaction=False)
        pipe.pttl(self.keys.lock)
        pipe.get(self.keys.current)
        pipe.get(self.keys.latest)
        pttl, current_id, latest_id = pipe.execute()
        lock = LockState(held=pttl != -2, ttl_seconds=pttl / 1000 if pttl and pttl > 0 else None)
        ids = [i for i in dict.fromkeys((current_id, latest_id)) if i]
        pipe = self.client.pipeline(transaction=False)
        for scan_id in ids:
            pipe.hgetall(self.keys.scan(scan_id))
        metas = {i: ScanMeta.from_hash(i, raw) for i, raw in zip(ids, pipe.execute()) if raw}
        current = metas.get(current_id) if current_id else None
        if current is not None and current.active and not lock.held and self._looks_dead(current):
            self.mark_abandoned(current.scan_id)
            current = self.get(current.scan_id)
        return Snapshot(lock=lock, current=current, latest=metas.get(latest_id) if latest_id else None)

    def _looks_dead(self, meta: ScanMeta) -> bool:
        """No lock and no heartbeat for half a TTL: the holder died (its lock expired)."""
        last_sign = meta.heartbeat_at or meta.started_at or 0.0
        return clock.now() - last_sign > self.lock_ttl / 2

    def mark_abandoned(self, scan_id: str) -> bool:
        message = "The scan process stopped without finishing (its lock expired); partial results are kept."
        return bool(self._mark_abandoned(keys=[self.keys.scan(scan_id)], args=[clock.now(), message]))

    def lock(self) -> LockState:
        return lock_state(self.client, self.keys)

    def results(self, scan_id: str) -> Results:
        """A finished scan's compacted rows, else (running or abandoned) its per-ticker rows."""
        batches, corrupt = self._stored_batches(scan_id)
        return Results(frame=_frame(batches), corrupt_tickers=corrupt)

    def _stored_batches(self, scan_id: str) -> tuple[list[pa.RecordBatch], tuple[str, ...]]:
        """The scan's record batches and the tickers that could not be read, in one atomic round trip:
        the compacted table when the scan has finished, else the per-ticker entries."""
        pipe = self.binary.pipeline(transaction=True)
        pipe.get(self.keys.table(scan_id))
        pipe.hget(self.keys.scan(scan_id), "corrupt_tickers")
        pipe.hgetall(self.keys.results(scan_id))
        table, corrupt, per_ticker = pipe.execute()
        if table is None:
            return _read_batches(per_ticker)
        batches, unreadable = _read_batches({"all tickers": table})
        if unreadable:
            return [], unreadable
        return batches, tuple(t for t in (corrupt or b"").decode().split(",") if t)

    def errors(self, scan_id: str) -> dict[str, str]:
        return self.client.hgetall(self.keys.errors(scan_id))

    def history(self, limit: int = 100) -> list[ScanMeta]:
        """Newest first."""
        ids = self.client.zrevrange(self.keys.scans, 0, max(limit, 1) - 1)
        pipe = self.client.pipeline(transaction=False)
        for scan_id in ids:
            pipe.hgetall(self.keys.scan(scan_id))
        return [ScanMeta.from_hash(i, raw) for i, raw in zip(ids, pipe.execute()) if raw]

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
        return next((c for c, status in zip(earlier, pipe.execute()) if status == "completed"), None)

    # ---- retention ----
    def apply_retention(self) -> list[str]:
        """Keep the newest ``retention`` completed scans and as many others; delete the rest."""
        ids = self.client.zrevrange(self.keys.scans, 0, -1)
        pipe = self.client.pipeline(transaction=False)
        for scan_id in ids:
            pipe.hget(self.keys.scan(scan_id), "status")
        statuses = pipe.execute()
        kept = {"completed": 0, "other": 0}
        doomed: list[str] = []
        for scan_id, status in zip(ids, statuses):
            if status in ACTIVE:
                continue
            kind = "completed" if status == "completed" else "other"
            kept[kind] += 1
            if kept[kind] > self.retention or status is None:
                doomed.append(scan_id)
        if doomed:
            pipe = self.client.pipeline(transaction=True)
            for scan_id in doomed:
                pipe.delete(*self.keys.scan_keys(scan_id))
            pipe.zrem(self.keys.scans, *doomed)
            pipe.execute()
        return doomed

    # ---- settings ----
    def get_json(self, key: str) -> Any:
        raw = self.client.get(key)
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            return None

    def set_json(self, key: str, value: Any) -> None:
        self.client.set(key, json.dumps(value))


def counters(done: int, total: int, contracts: int, matches: int, errors: int, ticker: str) -> dict[str, int | float | str]:
    """The progress fields written with each ticker."""
    pct = round(100.0 * done / total, 1) if total else 100.0
    return {"tickers_done": done, "tickers_total": total, "pct": pct, "contracts": contracts,
            "matches": matches, "errors": errors, "current_ticker": ticker}



def open_store(settings: Settings) -> ScanStore:
    """The store on the configured Redis (starting the embedded server if needed); RedisUnavailable if down."""
    from scanner.store.connection import connect

    return ScanStore(connect(settings), Keys(settings.prefix), settings.lock_ttl, settings.retention)
