"""Data sources behind one interface (``base.Provider``); ``get_provider`` picks one by name.

Each source's module is imported only when it is picked, so the demo never loads yfinance or the HTTP client.
"""

from __future__ import annotations

from scanner.config import Settings
from scanner.errors import ConfigError, ProviderError, ProviderFatal
from scanner.providers.base import ChainRequest, Provider

__all__ = ["ChainRequest", "Provider", "ProviderError", "ProviderFatal", "get_provider", "provider_label"]


def get_provider(name: str, settings: Settings) -> Provider:
    """The named provider, configured from settings; ConfigError when it cannot be used here."""
    if name == "demo":
        from scanner.providers.demo import DemoProvider

        return DemoProvider(delay_ms=settings.demo_delay_ms)
    if name == "marketdata":
        from scanner.providers.marketdata import MarketDataProvider

        return MarketDataProvider(settings)
    if name == "yahoo":
        from scanner.providers.yahoo import YahooProvider

        return YahooProvider(settings)
    if name == "snapshot":
        from scanner.providers.snapshot import SnapshotProvider

        return SnapshotProvider(settings)
    raise ConfigError(f"unknown data source {name!r}; use one of demo, marketdata, yahoo, snapshot")


def provider_label(name: str, settings: Settings) -> str:
    """The label shown on pages for the configured source (without fetching anything)."""
    try:
        return get_provider(name, settings).label
    except ConfigError as exc:
        return f"{name} (unavailable: {exc})"
