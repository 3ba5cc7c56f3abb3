"""Alerts: after a completed scan, each saved screen's new matches go to its channels (Apprise URLs) as one message.

"New" is by option symbol, once per contract per screen per trading day (``Keys.alerted``): a second scan with the
same matches sends nothing, a new match sends a message naming only it. Sending runs after the scan's end is
recorded and its lock released (``engine.run_scan``), so it never delays or fails a scan; each channel is tried
on its own with backoff (one failing never stops the others), and every delivery is recorded (``Keys.alert_log``)
with the channel's masked URL only.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import date
from enum import StrEnum

import apprise
import pandas as pd

from scanner import clock
from scanner.config import Settings
from scanner.errors import REDIS_ERRORS
from scanner.market import calendar
from scanner.results.screens import screen_filters, screen_link
from scanner.scan.book import BookPlan, others_view
from scanner.store.connection import Client, redis_failure
from scanner.store.keys import Keys
from scanner.store.positions import book_field
from scanner.store.scans import ScanMeta, ScanStatus, ScanStore
from scanner.store.screens import Channel, Screen, ScreensRecord, owners

log = logging.getLogger(__name__)
SEND_BACKOFF = (1.0, 2.0, 4.0)  # seconds before each retry of one channel: four attempts in 7 s
LOG_LENGTH = 500
ALERTED_TTL = 3 * 24 * 3600  # a trading day's markers outlive the day (a weekend) and then go
MAX_ROWS = 20  # rows in one message; the link shows the rest
TABLE = (("ticker", "Ticker"), ("side", "Side"), ("strike", "Strike"), ("expiration", "Expiration"), ("bid", "Bid"),
         ("annualized_return_pct", "Ann. %"), ("delta", "Delta"), ("earnings_in_window", "Earnings"))


class Delivery(StrEnum):
    SENT = "sent"
    FAILED = "failed"


@dataclass(frozen=True)
class AlertRecord:
    """One delivery to one channel, as the history shows it (the channel's URL masked)."""

    at: float
    owner: str
    screen: str
    channel_id: str
    channel: str  # masked
    result: Delivery
    attempts: int
    contracts: int
    symbols: str = ""  # the first few option symbols sent
    test: bool = False
    scan_id: str = ""

    @classmethod
    def from_json(cls, text: str) -> AlertRecord | None:
        try:
            raw = json.loads(text)
            return cls(**{**raw, "result": Delivery(raw["result"])})
        except (ValueError, TypeError, KeyError):
            return None


def _cell(name: str, value: object) -> str:
    if value is None or pd.isna(value):  # NaN, NA (an empty flag) and NaT alike
        return "—"
    if name == "earnings_in_window":
        return "earnings" if bool(value) else ""
    if name in ("strike", "bid", "delta"):
        return f"{float(value):.2f}"
    if name == "annualized_return_pct":
        return f"{float(value):.1f}"
    return str(value)[:10]


def message(screen: Screen, rows: pd.DataFrame, link: str) -> tuple[str, str]:
    """The title and body of one screen's alert: a short fixed-width table of its new matches and the view's link."""
    if rows.empty:  # a test alert before any scan matched: Apprise sends no empty body
        return (f"Options scanner: no matches for '{screen.name}'",
                "No contract of the latest completed scan matches this screen." + (f"\n\nOpen the view: {link}"
                                                                                   if link else ""))
    columns = [(name, label) for name, label in TABLE if name in rows.columns]
    shown = rows.head(MAX_ROWS)
    cells = [[label for _, label in columns]] + [[_cell(name, row[name]) for name, _ in columns]
                                                 for _, row in shown.iterrows()]
    widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
    table = "\n".join("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
                      for line in cells)
    more = f"\n… and {len(rows) - MAX_ROWS} more" if len(rows) > MAX_ROWS else ""
    title = f"Options scanner: {len(rows)} new match{'es' if len(rows) != 1 else ''} for '{screen.name}'"
    return title, f"{table}{more}" + (f"\n\nOpen the view: {link}" if link else "")


class AlertLog:
    """The delivery history (``Keys.alert_log``), newest first, capped."""

    def __init__(self, client: Client, keys: Keys) -> None:
        self._client = client
        self._key = keys.alert_log

    def add(self, entries: Sequence[AlertRecord]) -> None:
        if not entries:
            return
        pipe = self._client.pipeline(transaction=False)
        pipe.lpush(self._key, *(json.dumps(asdict(entry)) for entry in entries))
        pipe.ltrim(self._key, 0, LOG_LENGTH - 1)
        pipe.execute()

    def recent(self, limit: int = 50, owner: str | None = None) -> list[AlertRecord]:
        entries = (AlertRecord.from_json(text) for text in self._client.lrange(self._key, 0, LOG_LENGTH - 1))
        kept = [e for e in entries if e is not None and (owner is None or e.owner == owner)]
        return kept[:limit]


def deliver(channel: Channel, title: str, body: str, sleep: Callable[[float], None] = time.sleep) -> tuple[bool, int]:
    """Send to one channel, retried after each SEND_BACKOFF delay; (delivered, attempts). Never raises."""
    attempts = 0
    for delay in (*SEND_BACKOFF, None):
        attempts += 1
        try:
            sender = apprise.Apprise()
            if sender.add(channel.url) and sender.notify(title=title, body=body):
                return True, attempts
        except Exception:  # a plugin's bug must not reach the scan: recorded as a failed attempt
            log.warning("alert channel %s raised on attempt %d", channel.channel_id, attempts)
        if delay is not None:
            sleep(delay)
    log.warning("alert to %s failed after %d attempts", channel.masked, attempts)
    return False, attempts


class Alerter:
    """Sends the screens' new matches after a scan, and test alerts; ``sleep`` is injected so retries are tested
    without waiting."""

    def __init__(self, settings: Settings, store: ScanStore, sleep: Callable[[float], None] = time.sleep) -> None:
        self.settings = settings
        self.store = store
        self.sleep = sleep
        self.history = AlertLog(store.client, store.keys)

    def _send(self, owner: str, screen: Screen, title: str, body: str, rows: pd.DataFrame, *, test: bool,
              scan_id: str = "") -> list[AlertRecord]:
        records = []
        symbols = ", ".join(rows["option_symbol"].astype(str).head(5)) if "option_symbol" in rows else ""
        for channel in screen.channels:
            delivered, attempts = deliver(channel, title, body, self.sleep)
            records.append(AlertRecord(at=clock.now(), owner=owner, screen=screen.name, channel_id=channel.channel_id,
                                       channel=channel.masked, result=Delivery.SENT if delivered else Delivery.FAILED,
                                       attempts=attempts, contracts=len(rows), symbols=symbols, test=test,
                                       scan_id=scan_id))
        self.history.add(records)
        return records

    def test(self, owner: str, name: str) -> list[AlertRecord]:
        """A test message to every channel of one screen (the latest completed scan's matches, or none)."""
        screen = ScreensRecord(self.store.client, self.store.keys, owner).get(name)
        latest = self.store.get(self.store.latest_id())
        rows = screen_filters(screen).apply(self.store.results(latest.scan_id).frame) if latest else pd.DataFrame()
        title, body = message(screen, rows, screen_link(self.settings.public_url, screen))
        return self._send(owner, screen, f"[test] {title}", body, rows, test=True)

    def after_scan(self, meta: ScanMeta) -> list[AlertRecord]:
        """Every screen's new matches in ``meta`` (a completed scan), one message per screen. Never raises: an error
        here is logged, the scan is already recorded."""
        if meta.status != ScanStatus.COMPLETED:
            return []
        try:
            return self._after_scan(meta)
        except REDIS_ERRORS as exc:
            log.warning("alerts after scan %s not sent: %s", meta.scan_id, redis_failure(exc, self.settings))
        except Exception as exc:  # an alert's bug must not turn a completed scan's process into a failed one
            log.warning("alerts after scan %s not sent (%s)", meta.scan_id, type(exc).__name__)
        return []

    def _after_scan(self, meta: ScanMeta) -> list[AlertRecord]:
        screens = [(owner, screen) for owner in owners(self.store.client, self.store.keys)
                   for screen in ScreensRecord(self.store.client, self.store.keys, owner).list() if screen.channels]
        if not screens:
            return []
        frame = self.store.results(meta.scan_id).frame
        others = others_view(frame, meta.positions, meta.criteria)  # a user's book is theirs: another's screens
        starter = BookPlan.of_scan(meta.positions).owner  # alert on the rows without it
        key = self.store.keys.alerted(_trading_day().isoformat())
        records = []
        for owner, screen in screens:
            rows = screen_filters(screen).apply(frame if book_field(owner or None) == starter else others)
            new = self._new(key, owner, screen, rows)
            if new.empty:
                continue
            title, body = message(screen, new, screen_link(self.settings.public_url, screen))
            sent = self._send(owner, screen, title, body, new, test=False, scan_id=meta.scan_id)
            if any(record.result == Delivery.SENT for record in sent):
                self._mark(key, owner, screen, new)
            records += sent
        return records

    def _marker(self, owner: str, screen: Screen, symbol: str) -> str:
        return json.dumps([owner, screen.name, symbol])

    def _new(self, key: str, owner: str, screen: Screen, rows: pd.DataFrame) -> pd.DataFrame:
        """The rows not alerted today for this screen (one SMISMEMBER)."""
        if rows.empty:
            return rows
        symbols = rows["option_symbol"].astype(str).tolist()
        seen = self.store.client.smismember(key, [self._marker(owner, screen, s) for s in symbols])
        return rows[[not bool(flag) for flag in seen]]

    def _mark(self, key: str, owner: str, screen: Screen, rows: pd.DataFrame) -> None:
        pipe = self.store.client.pipeline(transaction=False)
        pipe.sadd(key, *(self._marker(owner, screen, s) for s in rows["option_symbol"].astype(str)))
        pipe.expire(key, ALERTED_TTL)
        pipe.execute()


def _trading_day() -> date:
    """Today's session in New York, or the next one (a scan on a weekend counts for Monday's)."""
    today = calendar.today_ny(clock.to_ny(clock.now()))
    return today if calendar.is_trading_day(today) else calendar.next_open(clock.to_ny(clock.now())).date()
