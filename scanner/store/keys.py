"""Every Redis key the scanner uses, in one place.

All keys share the hash tag ``{prefix}`` so multi-key pipelines and scripts stay valid on Redis Cluster.
"""

from __future__ import annotations


class Keys:
    def __init__(self, prefix: str = "scanner") -> None:
        self.root = "{" + prefix + "}"

    @property
    def lock(self) -> str:
        """The SCAN_LOCK_KEY: a token with a TTL while a scan runs."""
        return f"{self.root}:lock"

    @property
    def scans(self) -> str:
        """Sorted set scan id → started_at: the history index (nothing calls KEYS)."""
        return f"{self.root}:scans"

    @property
    def current(self) -> str:
        """The most recently started scan."""
        return f"{self.root}:current"

    @property
    def latest(self) -> str:
        """The last completed scan."""
        return f"{self.root}:latest"

    @property
    def watchlist(self) -> str:
        return f"{self.root}:watchlist"

    @property
    def criteria(self) -> str:
        return f"{self.root}:criteria"

    @property
    def positions(self) -> str:
        """Hash book → that book's positions (JSON: holdings, open short options, cash for puts); the field is
        'shared', or 'user:' + the SHA-256 of a user's e-mail (``store.positions.book_field``)."""
        return f"{self.root}:positions"

    @property
    def schedule(self) -> str:
        """The scan schedule (JSON: a cron expression in US Eastern time, or every N minutes of a session)."""
        return f"{self.root}:schedule"

    def slot(self, slot: str) -> str:
        """One schedule slot's claim (SET NX with an expiry): the scheduler that won it runs its scan, once."""
        return f"{self.root}:slot:{slot}"

    @property
    def slot_log(self) -> str:
        """List of the latest slots' outcomes (JSON, newest first, capped): started, skipped (a scan ran), refused."""
        return f"{self.root}:schedule:log"

    @property
    def screens(self) -> str:
        """Hash owner → that owner's saved screens (JSON: name → filter query and alert channels); owner is a
        user's e-mail with login, '' without."""
        return f"{self.root}:screens"

    def alerted(self, day: str) -> str:
        """Set of owner|screen|option symbol already alerted on one trading day (``day`` ISO), with an expiry."""
        return f"{self.root}:alerts:sent:{day}"

    @property
    def alert_log(self) -> str:
        """List of the latest alert deliveries (JSON, newest first, capped): what went where, when, the result."""
        return f"{self.root}:alerts:log"

    def events(self, ticker: str) -> str:
        """Hash ``<source>:<quote date>`` → a ticker's events (JSON), expiring at the next New York midnight: each
        source is asked at most once per ticker and day (scan.events)."""
        return f"{self.root}:events:{ticker}"

    def iv_history(self, source: str, ticker: str) -> str:
        """Sorted set of a ticker's IV30 per NYSE session as one source saw it (JSON points, score the session's
        ordinal day), the last scan of a session winning, trimmed to 400 days (store.iv_history)."""
        return f"{self.root}:iv:{source}:{ticker}"

    @property
    def iv_index(self) -> str:
        """Set of ``<source>:<ticker>`` with an IV history: how the CLI and pages reach every ``iv_history`` key."""
        return f"{self.root}:iv:index"

    def candles(self, ticker: str) -> str:
        """Hash ``<source>:<quote date>`` → a ticker's daily closes (JSON), expiring at the next New York midnight:
        each source is asked at most once per ticker and day (scan.candles_cache)."""
        return f"{self.root}:candles:{ticker}"

    def admin_unlock(self, token: str) -> str:
        """An admin password unlock, a string with an expiry: the fingerprint (an HMAC, never the password) of the
        password and the client (address, browser) it was granted to; ``token`` is the random id its session holds."""
        return f"{self.root}:admin:unlock:{token}"

    def password_failures(self, client: str) -> str:
        """Wrong admin passwords from one client address, counted over a window (the key's expiry): the lock-out."""
        return f"{self.root}:admin:failures:{client}"

    def scan(self, scan_id: str) -> str:
        """Hash of the scan's status and counters."""
        return f"{self.root}:scan:{scan_id}"

    def results(self, scan_id: str) -> str:
        """Hash ticker → that ticker's screened rows (JSON)."""
        return f"{self.root}:scan:{scan_id}:results"

    def table(self, scan_id: str) -> str:
        """A finished scan's rows as one Arrow record batch (replaces ``results`` when the scan ends)."""
        return f"{self.root}:scan:{scan_id}:table"

    def errors(self, scan_id: str) -> str:
        """Hash ticker → error message."""
        return f"{self.root}:scan:{scan_id}:errors"

    def scan_keys(self, scan_id: str) -> tuple[str, ...]:
        return self.scan(scan_id), self.results(scan_id), self.table(scan_id), self.errors(scan_id)
