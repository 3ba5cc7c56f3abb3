"""The one HTTP client of the live data sources: timeouts, retries, 429 handling, pacing, credit counting.

The original app called the API with no timeout and no 429 handling, so one slow answer froze a scan
and a rate limit failed every ticker after it. Here every request has a timeout; 5xx answers and
timeouts are retried with exponential backoff and full jitter (a timeout bounds the whole answer, not
just each wait for data, so a server trickling bytes cannot hold a request); a 429 pauses *all* requests until the
server's Retry-After / rate-limit reset header, or stops the scan (ProviderFatal) when the wait is longer
than a scan should (the daily credit budget is spent); a response saying the current window has no request
left pauses them until it ends, so a service with short windows (Tradier's minute) is paced without 429s. The
bearer token lives only in the session's headers: no message this module builds or logs contains it, and server
text is redacted before use.
"""

from __future__ import annotations

import http.client
import json
import logging
import random
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote, quote_plus, urlencode, urlsplit

from scanner.clock import fmt_ny
from scanner.errors import ProviderError, ProviderFatal
from scanner.providers.connections import AnswerTooSlow, Connections

log = logging.getLogger(__name__)

MAX_CONCURRENCY = 50  # MarketData refuses more simultaneous requests than this
_CONNECT_TIMEOUT = 5.0
_REDACTED = "[redacted]"
_CHUNK = 64 * 1024


def _written_forms(token: str) -> re.Pattern[str]:
    """The token as a server may echo it: as given or URL-encoded (a query string's), in any case."""
    forms = sorted({token, quote(token, safe=""), quote_plus(token)}, key=len, reverse=True)
    return re.compile("|".join(map(re.escape, forms)), re.IGNORECASE)


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try before a ticker's request counts as failed."""

    attempts: int = 4  # tries per request for 5xx, timeouts and connection errors
    backoff_base: float = 0.5  # seconds; the n-th retry waits up to base * 2**n (full jitter)
    backoff_cap: float = 8.0
    rate_limit_attempts: int = 6  # 429s tolerated per request before giving up on it
    max_rate_limit_wait: float = 120.0  # a longer wait means the budget is spent: the scan stops

    def backoff(self, failures: int) -> float:
        """Seconds before retry number `failures` (1-based): exponential with full jitter, so many
        clients throttled together do not retry in lockstep."""
        return random.uniform(0, min(self.backoff_cap, self.backoff_base * 2 ** (failures - 1)))


@dataclass(frozen=True)
class RateLimitHeaders:
    """Where a service reports its rate limit: MarketData's names by default (TRADIER_LIMITS for Tradier's)."""

    remaining: str = "X-Api-Ratelimit-Remaining"  # requests or credits left in the current window
    limit: str = "X-Api-Ratelimit-Limit"
    reset: str = "X-Api-Ratelimit-Reset"  # when the window ends, a Unix time in `reset_units` per second
    reset_units: float = 1.0  # 1000 for a time in milliseconds
    consumed: str | None = "X-Api-Ratelimit-Consumed"  # credits each response spent, for a service that counts them


MARKETDATA_LIMITS = RateLimitHeaders()
TRADIER_LIMITS = RateLimitHeaders(remaining="X-Ratelimit-Available", limit="X-Ratelimit-Allowed",
                                  reset="X-Ratelimit-Expiry", reset_units=1000.0, consumed=None)
"""Tradier's: Allowed and Available per window (Used is their difference), Expiry in epoch milliseconds."""


@dataclass(frozen=True)
class Reply:
    """A finished request: the status and the decoded JSON body (None when there is none or it is not JSON)."""

    status: int
    payload: Any


@dataclass(frozen=True)
class Usage:
    """API credits as the server reported them on this client's responses."""

    consumed: int = 0  # sum of X-Api-Ratelimit-Consumed
    remaining: int | None = None  # X-Api-Ratelimit-Remaining of the latest response
    limit: int | None = None


def _header_int(headers: Mapping[str, str], name: str) -> int | None:
    try:
        return int(float(headers[name]))
    except (KeyError, TypeError, ValueError):
        return None


def _until_reset(headers: Mapping[str, str], limits: RateLimitHeaders, now: float) -> float | None:
    """Seconds until the rate-limit window named in the headers ends (0 when it has), None without the header."""
    reset = _header_int(headers, limits.reset)
    return None if reset is None else max(reset / limits.reset_units - now, 0.0)


def _retry_after(headers: Mapping[str, str], limits: RateLimitHeaders, now: float) -> float | None:
    """Seconds to wait from Retry-After (seconds or an HTTP date), else the service's reset header."""
    raw = headers.get("Retry-After")
    if raw:
        try:
            return max(float(raw), 0.0)
        except ValueError:
            try:
                return max(parsedate_to_datetime(raw).timestamp() - now, 0.0)
            except (TypeError, ValueError):
                pass
    return _until_reset(headers, limits, now)


class HttpClient:
    """A thread-safe JSON GET client for one API base URL with a bearer token."""

    def __init__(self, base_url: str, token: str | None, *, concurrency: int = 8, requests_per_second: float = 0.0,
                 timeout: float = 15.0, retry: RetryPolicy = RetryPolicy(), service: str = "MarketData",
                 limits: RateLimitHeaders = MARKETDATA_LIMITS, headers: Mapping[str, str] | None = None,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.time) -> None:
        self.base_url = base_url.rstrip("/")
        self.service = service
        self.concurrency = max(1, min(concurrency, MAX_CONCURRENCY))
        self.timeout = timeout
        self.retry = retry
        self.limits = limits
        self._token_forms = _written_forms(token) if token else None
        self._interval = 1.0 / requests_per_second if requests_per_second > 0 else 0.0
        self._sleep, self._clock = sleep, clock
        self._headers = {"Accept": "application/json", **(headers or {}),
                         **({"Authorization": f"Bearer {token}"} if token else {})}
        self._path = urlsplit(self.base_url).path
        self._connections = Connections(self.base_url, self.concurrency, _CONNECT_TIMEOUT)
        self._lock = threading.Lock()
        self._next_slot = 0.0  # earliest start of the next request (requests-per-second pacing)
        self._resume_at = 0.0  # no request before this (a 429 told us to wait)
        self._usage = Usage()

    def __repr__(self) -> str:  # the default would be harmless, but never risk the token in a repr
        return f"HttpClient({self.base_url!r})"

    @property
    def usage(self) -> Usage:
        with self._lock:
            return self._usage

    def redact(self, text: str) -> str:
        """`text` with the token replaced, for anything that came from outside (server messages): in any case
        and URL-encoded too, as a server may echo it lower-cased or as it appeared in a query string."""
        return self._token_forms.sub(_REDACTED, text) if self._token_forms else text

    def get(self, path: str, params: Mapping[str, str | int | float] | None = None) -> Reply:
        """GET base_url + path. Retries 5xx/timeouts/connection errors and waits out 429s.

        Returns any other status for the caller to interpret; raises ProviderError when retries are
        exhausted and ProviderFatal when the rate limit will not lift within the policy's wait.
        """
        target = f"{self._path}/{path.lstrip('/')}" + (f"?{urlencode(params)}" if params else "")
        failures = limited = 0
        while True:
            self._wait_turn()
            try:
                response, body = self._connections.get(target, self._headers, self.timeout,
                                                       time.monotonic() + self.timeout, _CHUNK)
            except (AnswerTooSlow, TimeoutError):  # the whole answer, or one wait for the server (connect too)
                problem = f"no answer within {self.timeout:g} s"
            except (OSError, http.client.HTTPException):  # refused, unresolved, reset, truncated, malformed
                problem = "connection failed"
            else:
                self._count(response.headers)
                if response.status == 429:
                    limited += 1
                    self._rate_limited(path, response, limited)
                    continue
                if response.status < 500:
                    return Reply(response.status, _json(body))
                problem = f"HTTP {response.status}"
            failures += 1
            if failures >= self.retry.attempts:
                raise ProviderError(f"{self.service} unavailable: {problem} ({failures} attempts)")
            delay = self.retry.backoff(failures)
            log.warning("%s %s: %s; retry %d in %.2f s", self.service, path, problem, failures, delay)
            self._sleep(delay)

    def _wait_turn(self) -> None:
        """Sleep until this request may start: after any 429 pause and its requests-per-second slot."""
        with self._lock:
            now = self._clock()
            start = max(now, self._resume_at, self._next_slot)
            if self._interval:
                self._next_slot = start + self._interval
        if start > now:
            self._sleep(start - now)

    def _count(self, headers: Mapping[str, str]) -> None:
        consumed = _header_int(headers, self.limits.consumed) if self.limits.consumed else None
        remaining = _header_int(headers, self.limits.remaining)
        limit = _header_int(headers, self.limits.limit)
        if consumed is None and remaining is None and limit is None:
            return
        now = self._clock()
        window = _until_reset(headers, self.limits, now) if remaining is not None and remaining <= 0 else None
        with self._lock:
            if window and window <= self.retry.max_rate_limit_wait:  # none left until the window ends: pause till then
                self._resume_at = max(self._resume_at, now + window)
            self._usage = Usage(consumed=self._usage.consumed + (consumed or 0),
                                remaining=self._usage.remaining if remaining is None else remaining,
                                limit=self._usage.limit if limit is None else limit)

    def _rate_limited(self, path: str, response: http.client.HTTPResponse, count: int) -> None:
        """Pause every request until the limit lifts, or stop the scan when that is too far off."""
        now = self._clock()
        wait = _retry_after(response.headers, self.limits, now)
        remaining = _header_int(response.headers, self.limits.remaining)
        if wait is not None and wait > self.retry.max_rate_limit_wait:
            spent = remaining is not None and remaining <= 0
            what = "daily credit budget is spent" if spent else "rate limit is reached"
            raise ProviderFatal(f"{self.service} {what}: requests resume at {fmt_ny(now + wait, '%Y-%m-%d %H:%M ET')} "
                                f"({self._usage_text()})")
        if count > self.retry.rate_limit_attempts:
            raise ProviderError(f"{self.service} kept answering 429 Too Many Requests ({count} times)")
        if wait is None:
            wait = self.retry.backoff(count)
        with self._lock:
            self._resume_at = max(self._resume_at, now + wait)
        log.warning("%s %s: 429 Too Many Requests; waiting %.1f s", self.service, path, wait)

    def _usage_text(self) -> str:
        usage = self.usage
        left = "unknown" if usage.remaining is None else str(usage.remaining)
        return f"{usage.consumed} credits used by this scan, {left} left"


def _json(body: bytes) -> Any:
    if not body:
        return None
    try:
        return json.loads(body)
    except ValueError:  # also bytes that are not UTF-8
        return None

