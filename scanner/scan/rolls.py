"""Rolls of the book's open short options (issue 18; the original app's ``find_rolls``), from a scan's rows.

For each open option: its current quote (the scan's row of the same ticker, side, expiration and strike), whether
it is tested (the stock within ``alert_pct`` of the strike, or past it) or expired, and its roll candidates: the
scan's rows of the same ticker and side expiring later (so within the scan's window), at a strike at or below an
open put's (at or above an open call's), each with

    net_credit = new bid − current ask of the open contract
    annualized_net_credit_pct = net_credit / new strike × 365 / days added × 100

best (highest annualized net credit) first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from scanner.config import Settings
from scanner.market.calendar import NY
from scanner.scan.positions import Book, Contract, ShortOption
from scanner.schema import Side

if TYPE_CHECKING:
    from scanner.store.scans import ScanMeta, ScanStore

DEFAULT_ALERT_PCT = 5.0
CANDIDATE_COLUMNS = ("option_symbol", "expiration", "strike", "bid", "ask", "delta", "days_added", "net_credit",
                     "annualized_net_credit_pct")


@dataclass(frozen=True)
class OpenStatus:
    """One open option as the scan saw it."""

    option: ShortOption
    contract: Contract
    bid: float | None  # None: the scan has no quote for it
    ask: float | None
    underlying: float | None
    expired: bool
    tested: bool
    candidates: pd.DataFrame

    @property
    def quoted(self) -> bool:
        return self.ask is not None

    @property
    def headline(self) -> str:
        """The open option in words, as the page and the CLI show it: 'AAPL261218P00150000 ×1 (put 150, exp
        2026-12-18): bid 2.00 / ask 2.10, stock 152.00'."""
        quote = (f"bid {self.bid:.2f} / ask {self.ask:.2f}" if self.quoted and self.bid is not None
                 else "expired, not quoted" if self.expired
                 else "no quote in the scan" + (" (its source had none: the scan's log says why)"
                                                 if self.underlying is not None else ""))
        stock = f"stock {self.underlying:.2f}" if self.underlying is not None else "stock not scanned"
        return (f"{self.option.option_symbol} ×{self.option.contracts} ({self.contract.side} {self.contract.strike:g}, "
                f"exp {self.contract.expiration}): {quote}, {stock}")


def _value(value: object) -> float | None:
    number = float(value) if value is not None and not pd.isna(value) else math.nan
    return number if math.isfinite(number) else None


def is_tested(contract: Contract, underlying: float | None, alert_pct: float) -> bool:
    """The stock within `alert_pct` % of the strike, or beyond it (in the money): a put at S ≤ K × (1 + pct/100),
    a call at S ≥ K × (1 − pct/100)."""
    if underlying is None:
        return False
    if contract.side is Side.PUT:
        return underlying <= contract.strike * (1 + alert_pct / 100)
    return underlying >= contract.strike * (1 - alert_pct / 100)


def candidates(contract: Contract, open_ask: float | None, rows: pd.DataFrame) -> pd.DataFrame:
    """The roll candidates of `contract` among `rows` (a scan's), best first; no net credit without an ask."""
    if rows.empty:
        return pd.DataFrame(columns=list(CANDIDATE_COLUMNS))
    expiration = pd.to_datetime(rows["expiration"]).dt.date
    strike = rows["strike"].to_numpy(dtype=float, na_value=np.nan)
    with np.errstate(invalid="ignore"):
        direction = strike <= contract.strike if contract.side is Side.PUT else strike >= contract.strike
    picked = rows[(rows["ticker"] == contract.ticker).to_numpy(dtype=bool, na_value=False)
                  & (rows["side"] == contract.side.value).to_numpy(dtype=bool, na_value=False)
                  & (expiration > contract.expiration).to_numpy(dtype=bool) & direction]
    out = picked.reindex(columns=["option_symbol", "expiration", "strike", "bid", "ask", "delta"]).copy()
    out["days_added"] = [(day - contract.expiration).days for day in pd.to_datetime(out["expiration"]).dt.date]
    bid = out["bid"].to_numpy(dtype=float, na_value=np.nan)
    out["net_credit"] = bid - (np.nan if open_ask is None else open_ask)
    out["annualized_net_credit_pct"] = (out["net_credit"] / out["strike"] * 365 / out["days_added"] * 100)
    return out.sort_values("annualized_net_credit_pct", ascending=False, kind="stable",
                           na_position="last").reset_index(drop=True)


def open_statuses(book: Book, rows: pd.DataFrame, today: date,
                  alert_pct: float = DEFAULT_ALERT_PCT) -> list[OpenStatus]:
    """Every open option of `book` against a scan's `rows` (empty: no scan), in the book's order; an expired one
    (before `today`) has no roll candidates."""
    statuses = []
    if rows.empty:
        rows = pd.DataFrame({name: pd.Series(dtype=float if name != "expiration" else "datetime64[s]")
                             for name in ("ticker", "side", "expiration", "strike", "bid", "ask", "underlying_price")})
    for option in book.options:
        contract = option.contract
        same = rows[(rows["ticker"] == contract.ticker).to_numpy(dtype=bool, na_value=False)]
        underlying = _value(same["underlying_price"].iloc[0]) if len(same) else None
        quote = same[(same["side"] == contract.side.value).to_numpy(dtype=bool, na_value=False)
                     & (pd.to_datetime(same["expiration"]).dt.date == contract.expiration).to_numpy(dtype=bool)
                     & np.isclose(same["strike"].to_numpy(dtype=float, na_value=np.nan), contract.strike)]
        bid = _value(quote["bid"].iloc[0]) if len(quote) else None
        ask = _value(quote["ask"].iloc[0]) if len(quote) else None
        expired = contract.expiration < today  # nothing to roll: it asks to be recorded instead
        statuses.append(OpenStatus(option, contract, bid, ask, underlying, expired,
                                   is_tested(contract, underlying, alert_pct),
                                   candidates(contract, ask, rows.iloc[0:0] if expired else rows)))
    return statuses


def today(settings: Settings) -> date:
    """The New York date an open option is expired against (SCANNER_NOW pretends another)."""
    return (settings.now_override or datetime.now(NY)).astimezone(NY).date()


def latest_rows(store: ScanStore) -> tuple[ScanMeta | None, pd.DataFrame]:
    """The last completed scan and its rows (none yet: None and no rows): what rolls and the book read."""
    meta = store.get(store.latest_id())
    return meta, store.results(meta.scan_id).frame if meta else pd.DataFrame()
