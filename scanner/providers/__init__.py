"""Data sources behind one interface (``base.Provider``); ``get_provider`` picks one by name."""

from __future__ import annotations

from scanner.config import ConfigError, Settings
from scanner.providers.base import ChainRequest, Provider, ProviderError, ProviderFatal

__all__ = ["ChainRequest", "Provider", "ProviderError", "ProviderFatal", "get_provider", "provider_label"]


def get_provider(name: str, settings: Settings) -> Provider:
    """The named provider, configured from settings; ConfigError when it cannot be used here."""
    if name == "demo":
        from scanner.providers.demo import DemoProvider

        return DemoProvider(delay_ms=settings.demo_delay_ms)
    raise ConfigError(f"the {name!r} data source is not available in this version; use SCANNER_PROVIDER=demo")


def provider_label(name: str, settings: Settings) -> str:
    """The label shown on pages for the configured source (without fetching anything)."""
    try:
        return get_provider(name, settings).label
    except ConfigError as exc:
        return f"{name} (unavailable: {exc})"
