"""The one interface every data source implements."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Protocol

import pandas as pd

from scanner.market.calendar import today_ny, weekly_expirations
from scanner.market.candles import NO_CLOSES, DailyCloses
from scanner.market.events import UNKNOWN, TickerEvents
from scanner.providers import registry

if TYPE_CHECKING:
    from scanner.config import Settings


@dataclass(frozen=True)
class ChainRequest:
    """What the scan asks of a provider for one ticker."""

    sides: tuple[str, ...] = ("put",)
    weeks: int = 4
    strike_limit: int = 15
    as_of: date | None = None  # None: the provider's own quote date (today in New York for live data)
    dte_window: tuple[int, int] | None = None  # inclusive (min, max) DTE: every listed expiration in it, not `weeks`

    def in_window(self, expirations: Iterable[date], quote_date: date) -> list[date]:
        """The distinct `expirations` (a source's listed ones) whose DTE from `quote_date` is in the window, sorted."""
        low, high = self.dte_window
        return sorted({day for day in expirations if low <= (day - quote_date).days <= high})

    def listed_to_fetch(self, listed: Iterable[date], quote_date: date) -> list[date]:
        """Which of a source's listed expirations to fetch: the next `weeks` weeklies of the NYSE calendar that it
        lists, or every listed one in the DTE window; sorted."""
        if self.dte_window is None:
            listed = set(listed)
            return [day for day in weekly_expirations(quote_date, self.weeks) if day in listed]
        return self.in_window(listed, quote_date)


class Provider(Protocol):
    name: str
    label: str  # shown on every page, e.g. "Demo market (simulated data)"
    simulated: bool
    live: bool  # market hours are enforced by default only for live providers

    @classmethod
    def from_settings(cls, settings: Settings) -> Provider:
        """The provider as configured; ConfigError when it cannot be used (a key or folder missing)."""

    def quote_date(self, request: ChainRequest) -> date:
        """The date DTE counts from."""

    def fetch(self, ticker: str, request: ChainRequest) -> pd.DataFrame:
        """The ticker's OTM contracts as normalized rows (scanner.schema.CHAIN_COLUMNS).

        Raises ProviderError for this ticker alone, ProviderFatal to stop the scan.
        """

    def events(self, ticker: str, as_of: date) -> TickerEvents:
        """The ticker's next earnings and ex-dividend dates as a quote on `as_of` sees them, and how far the source
        covers them (market.events). What it does not know stays unknown; raises ProviderError when the source
        failed for this ticker (the scan then treats its events as unknown)."""

    def candles(self, ticker: str, as_of: date) -> DailyCloses:
        """The ticker's daily closes of the sessions before `as_of` (market.candles.window_start on), what HV20 and
        HV60 rest on; none when the source has no history. Raises ProviderError when it failed for this ticker."""


class Registered:
    """What the registry says of a provider class (name, label, simulated, live), read from its entry."""

    @property
    def name(self) -> str:
        return registry.source_of(type(self)).name

    @property
    def label(self) -> str:
        return registry.source_of(type(self)).label

    @property
    def simulated(self) -> bool:
        return registry.source_of(type(self)).simulated

    @property
    def live(self) -> bool:
        return registry.source_of(type(self)).live

    @classmethod
    def from_settings(cls, settings: Settings) -> Provider:
        return cls(settings)

    def events(self, ticker: str, as_of: date) -> TickerEvents:
        """A source without an events endpoint knows none: every flag stays empty."""
        return UNKNOWN

    def candles(self, ticker: str, as_of: date) -> DailyCloses:
        """A source without price history gives no closes: HV stays empty."""
        return NO_CLOSES


def live_quote_date(request: ChainRequest, now: Callable[[], datetime] | None = None) -> date:
    """A live source's quote date: the requested as-of date, else today in New York."""
    return request.as_of or today_ny(now() if now else None)
