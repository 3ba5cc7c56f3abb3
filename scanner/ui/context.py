"""Settings and the Redis-backed store for a page, with Redis failures turned into a banner."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st
from streamlit_autorefresh import st_autorefresh

from scanner.config import Settings
from scanner.errors import ConfigError, RedisFailure, RedisUnavailable
from scanner.providers.registry import provider_label
from scanner.store.connection import connect, redis_failure, where
from scanner.store.keys import Keys
from scanner.store.scans import ScanStore
from scanner.ui.auth import current_access


@dataclass(frozen=True)
class PageContext:
    settings: Settings
    store: ScanStore


@st.cache_resource(show_spinner=False)
def _store(_settings: Settings, where_key: tuple[str | None, str], prefix: str, lock_ttl: int,
           retention: int) -> ScanStore:
    """One store (its clients and connection pools) per process, Redis location and key prefix; it
    reconnects by itself. Built per rerun, it would open a fresh pool for its binary client each time."""
    return ScanStore(connect(_settings), connect(_settings, binary=True), Keys(prefix), lock_ttl, retention)


@st.cache_resource(ttl=60, show_spinner=False)
def _source_label(_settings: Settings, provider: str, snapshot_dir: str | None) -> str:
    """The data source's label; building a provider (an HTTP session, a folder check) on every rerun of
    every viewer would be waste, so it is built once a minute per configuration."""
    return provider_label(provider, _settings)


def page_context() -> PageContext:
    """The context, or a clear error banner and a stopped script (never a traceback)."""
    # Streamlit copies secrets.toml's top-level keys (MD_API_KEY) into the environment, where the engine and
    # the scan subprocess read them; for those keys secrets.toml wins over a variable set outside.
    st.secrets.load_if_toml_exists()
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        st.error(f"Configuration error: {exc}")
        st.stop()
    try:
        store = _store(settings, (settings.redis_url, str(settings.data_dir)), settings.prefix, settings.lock_ttl,
                       settings.retention)
    except RedisFailure as exc:
        redis_banner(exc, settings)
        st.stop()
    snapshot_dir = str(settings.snapshot_dir) if settings.snapshot_dir else None
    label = _source_label(settings, settings.provider, snapshot_dir)
    st.caption(f"Data source: **{label}**")  # under the title: on a phone the sidebar is collapsed
    with st.sidebar:
        st.caption(f"Data source: **{label}**")
        if current_access().admin:  # the data directory's path and Redis's host and port help an attacker
            st.caption(f"Redis: {where(settings)}")
    return PageContext(settings=settings, store=store)


def redis_banner(failure: RedisFailure, settings: Settings) -> None:
    """The banner (the failure's one line), and a timer that reruns the page until Redis answers again."""
    if isinstance(failure, RedisUnavailable):
        st.error(f"Redis unavailable: {failure}. Nothing was changed; the page recovers by itself when Redis is back.")
    else:
        st.error(f"Redis error: {failure}. Nothing was changed; the page retries by itself.")
    st_autorefresh(interval=settings.poll_seconds * 1000, key="redis-retry")


def redis_failed(exc: Exception, settings: Settings) -> None:
    """The banner for a Redis error met while drawing a page: where Redis is and what kind of failure."""
    failure = redis_failure(exc, settings)
    if isinstance(failure, RedisUnavailable):  # went away mid-page: where, and how (TimeoutError ...)
        failure = RedisUnavailable(f"{where(settings)} ({type(exc).__name__})")
    redis_banner(failure, settings)
