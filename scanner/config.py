"""Settings from the environment (DESIGN "Command line"), validated once, with secrets kept out of repr."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from scanner.errors import ConfigError
from scanner.providers import registry

N = TypeVar("N", int, float)


def _number(env: Mapping[str, str], name: str, default: N, low: N, high: N, parse: Callable[[str], N], what: str) -> N:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = parse(raw)
    except ValueError:
        raise ConfigError(f"{name} must be {what}, got {raw!r}") from None
    if not low <= value <= high:  # also refuses NaN
        raise ConfigError(f"{name} must be between {low} and {high}, got {value}")
    return value


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    return _number(env, name, default, low, high, int, "a whole number")


def _float(env: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    return _number(env, name, default, low, high, float, "a number")


def _bool(env: Mapping[str, str], name: str) -> bool | None:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return None
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def _datetime(env: Mapping[str, str], name: str) -> datetime | None:
    raw = env.get(name, "").strip()
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an ISO date-time such as 2026-11-30T10:00-05:00, got {raw!r}") from None
    if value.tzinfo is None:
        raise ConfigError(f"{name} needs a UTC offset, got {raw!r}")
    return value


def _public_url(env: Mapping[str, str]) -> str:
    raw = env.get("SCANNER_PUBLIC_URL", "").strip().rstrip("/")
    if raw and not raw.startswith(("http://", "https://")):
        raise ConfigError(f"SCANNER_PUBLIC_URL must start with http:// or https://, got {raw[:60]!r}")
    return raw


@dataclass(frozen=True)
class Settings:
    """Everything the engine reads from the environment."""

    data_dir: Path
    redis_url: str | None = field(default=None, repr=False)
    prefix: str = "scanner"
    provider: str = "demo"
    md_api_key: str | None = field(default=None, repr=False)
    md_url_base: str = "https://api.marketdata.app/v1"
    tradier_token: str | None = field(default=None, repr=False)
    tradier_url_base: str = "https://api.tradier.com/v1"  # or the sandbox, https://sandbox.tradier.com/v1
    cboe_url_base: str = "https://cdn.cboe.com/api/global/delayed_quotes"
    snapshot_dir: Path | None = None
    lock_ttl: int = 60
    poll_seconds: int = 15
    idle_poll_seconds: int = 60  # how often an idle page looks for a scan started elsewhere
    demo_delay_ms: int = 500  # per demo request: a 26-ticker scan then takes about 10 s, so progress shows
    enforce_market_hours: bool | None = None  # None: only for live providers
    concurrency: int = 8
    retention: int = 30
    now_override: datetime | None = None  # SCANNER_NOW: pretend time for market-hours checks and demos
    risk_free_rate: float = 0.04  # for deltas computed from IV (yahoo, snapshots, null MarketData deltas)
    dividend_yield: float = 0.0
    requests_per_second: float = 0.0  # 0: no limit beyond the concurrency bound
    http_timeout: float = 15.0  # seconds to wait for a response before retrying
    public_url: str = ""  # SCANNER_PUBLIC_URL: where the dashboard is reached, for the links in alerts
    roll_alert_pct: float = 5.0  # an open short option is shown tested when the stock is within this % of its strike

    @property
    def log_dir(self) -> Path:
        return self.data_dir / "logs"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        md_api_key = env.get("MD_API_KEY", "").strip() or None
        provider = env.get("SCANNER_PROVIDER", "").strip().lower() or ("marketdata" if md_api_key else "demo")
        if provider not in registry.NAMES:
            raise ConfigError(f"SCANNER_PROVIDER must be one of {', '.join(registry.NAMES)}, got {provider!r}")
        prefix = env.get("SCANNER_PREFIX", "scanner").strip() or "scanner"
        if not prefix.replace("-", "").replace("_", "").isalnum():
            raise ConfigError(f"SCANNER_PREFIX may hold letters, digits, '-' and '_' only, got {prefix!r}")
        snapshot = env.get("SCANNER_SNAPSHOT_DIR", "").strip()
        return cls(
            data_dir=Path(env.get("SCANNER_DATA_DIR", "").strip() or ".data").resolve(),
            redis_url=env.get("REDIS_URL", "").strip() or None,
            prefix=prefix,
            provider=provider,
            md_api_key=md_api_key,
            md_url_base=env.get("MD_URL_BASE", "").strip() or cls.md_url_base,
            tradier_token=env.get("TRADIER_TOKEN", "").strip() or None,
            tradier_url_base=env.get("TRADIER_URL_BASE", "").strip() or cls.tradier_url_base,
            cboe_url_base=env.get("CBOE_URL_BASE", "").strip() or cls.cboe_url_base,
            snapshot_dir=Path(snapshot) if snapshot else None,
            lock_ttl=_int(env, "SCANNER_LOCK_TTL", 60, 3, 3600),
            poll_seconds=_int(env, "SCANNER_POLL_SECONDS", 15, 1, 600),
            idle_poll_seconds=_int(env, "SCANNER_IDLE_POLL_SECONDS", 60, 5, 3600),
            demo_delay_ms=_int(env, "SCANNER_DEMO_DELAY_MS", cls.demo_delay_ms, 0, 60_000),
            enforce_market_hours=_bool(env, "SCANNER_ENFORCE_MARKET_HOURS"),
            concurrency=_int(env, "SCANNER_CONCURRENCY", 8, 1, 50),
            retention=_int(env, "SCANNER_RETENTION", 30, 1, 10_000),
            roll_alert_pct=_float(env, "SCANNER_ROLL_ALERT_PCT", 5.0, 0.0, 100.0),
            now_override=_datetime(env, "SCANNER_NOW"),
            risk_free_rate=_float(env, "SCANNER_RISK_FREE_RATE", 0.04, -0.05, 0.25),
            dividend_yield=_float(env, "SCANNER_DIVIDEND_YIELD", 0.0, 0.0, 0.25),
            requests_per_second=_float(env, "SCANNER_REQUESTS_PER_SECOND", 0.0, 0.0, 1000.0),
            http_timeout=_float(env, "SCANNER_HTTP_TIMEOUT", 15.0, 0.1, 300.0),
            public_url=_public_url(env),
        )
