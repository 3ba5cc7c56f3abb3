"""Every data source, once: its name, class, label, whether it is live or simulated, and the environment it reads.

``get_provider``, the CLI's ``--provider`` choices, ``SCANNER_PROVIDER`` validation and the environment handed to
the scan subprocess all read ``SOURCES``, so a new source works alike from the page and the CLI. Adding one is a
module with a class (``from_settings``, ``quote_date``, ``fetch``) and an entry here. A source's module is imported
only when it is picked, so the demo never loads yfinance or the HTTP client.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from scanner.errors import ConfigError

if TYPE_CHECKING:
    from scanner.config import Settings
    from scanner.providers.base import Provider


@dataclass(frozen=True)
class Source:
    name: str
    factory: str  # "module:Class" of the provider, imported when first built
    label: str  # shown on every page and recorded on each scan
    simulated: bool  # labelled as simulated data everywhere
    live: bool  # market hours are enforced by default only for live sources
    env: tuple[str, ...] = ()  # variables it reads besides SCANNER_*: handed to the scan subprocess
    stand_in: str | None = None  # the source asked for what this one's API lacks (events), when installed

    def provider_class(self) -> type[Provider]:
        module, _, name = self.factory.partition(":")
        return getattr(importlib.import_module(module), name)


SOURCES: tuple[Source, ...] = (
    Source("demo", "scanner.providers.demo:DemoProvider", "Demo market (simulated data)", simulated=True, live=False),
    Source("marketdata", "scanner.providers.marketdata:MarketDataProvider", "MarketData.app", simulated=False,
           live=True, env=("MD_API_KEY", "MD_URL_BASE")),
    Source("yahoo", "scanner.providers.yahoo:YahooProvider", "Yahoo Finance (yfinance, delayed quotes)",
           simulated=False, live=True),
    Source("tradier", "scanner.providers.tradier:TradierProvider", "Tradier", simulated=False, live=True,
           env=("TRADIER_TOKEN", "TRADIER_URL_BASE"), stand_in="yahoo"),
    Source("cboe", "scanner.providers.cboe:CboeProvider", "Cboe delayed quotes (delayed 15 min)", simulated=False,
           live=True, env=("CBOE_URL_BASE",)),
    Source("snapshot", "scanner.providers.snapshot:SnapshotProvider", "Snapshot files", simulated=False, live=False),
)
BY_NAME: dict[str, Source] = {source.name: source for source in SOURCES}
NAMES: tuple[str, ...] = tuple(BY_NAME)


def source(name: str) -> Source:
    try:
        return BY_NAME[name]
    except KeyError:
        raise ConfigError(f"unknown data source {name!r}; use one of {', '.join(NAMES)}") from None


def source_of(provider_class: type) -> Source:
    """The entry naming a provider class."""
    factory = f"{provider_class.__module__}:{provider_class.__qualname__}"
    return next(entry for entry in SOURCES if entry.factory == factory)


def get_provider(name: str, settings: Settings) -> Provider:
    """The named provider, configured from settings; ConfigError when it cannot be used here."""
    return source(name).provider_class().from_settings(settings)


def stand_in(name: str, settings: Settings) -> Provider | None:
    """The provider the named source's entry names for what its API lacks; None when it names none, or that
    source cannot be used here (its library is not installed, its configuration is missing)."""
    other = source(name).stand_in
    if other is None:
        return None
    try:
        return get_provider(other, settings)
    except (ImportError, ConfigError):
        return None


def provider_label(name: str, settings: Settings) -> str:
    """The label shown on pages for the configured source (without fetching anything)."""
    try:
        return get_provider(name, settings).label
    except ConfigError as exc:
        return f"{name} (unavailable: {exc})"
