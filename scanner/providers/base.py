"""The one interface every data source implements."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Callable, Protocol

import pandas as pd

from scanner.market.calendar import today_ny


@dataclass(frozen=True)
class ChainRequest:
    """What the scan asks of a provider for one ticker."""

    sides: tuple[str, ...] = ("put",)
    weeks: int = 4
    strike_limit: int = 15
    as_of: date | None = None  # None: the provider's own quote date (today in New York for live data)


class Provider(Protocol):
    name: str
    label: str  # shown on every page, e.g. "Demo market (simulated data)"
    simulated: bool
    live: bool  # market hours are enforced by default only for live providers

    def quote_date(self, request: ChainRequest) -> date:
        """The date DTE counts from."""

    def fetch(self, ticker: str, request: ChainRequest) -> pd.DataFrame:
        """The ticker's OTM contracts as normalized rows (scanner.schema.CHAIN_COLUMNS).

        Raises ProviderError for this ticker alone, ProviderFatal to stop the scan.
        """


def live_quote_date(request: ChainRequest, now: Callable[[], datetime] | None = None) -> date:
    """A live source's quote date: the requested as-of date, else today in New York."""
    return request.as_of or today_ny(now() if now else None)
