"""The analyst's filters over a scan's screened rows: vectorized, validated, round-tripped through a URL.

Defaults are the rules the scan ran with; every field that equals its default stays out of the URL.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd

from scanner.errors import InvalidSymbols
from scanner.scan.criteria import DTE_RANGE, Criteria
from scanner.scan.watchlist import parse_symbols

SIDE_OPTIONS = ("both", "put", "call")  # the criteria's words ("both": puts and calls)
_OLD_SIDES = {"all": "both"}  # what bookmarked URLs and callers may still say
DELTA_LIMITS = (-1.0, 1.0)
DTE_LIMITS = DTE_RANGE  # the page's DTE filter takes what a scan's DTE window may hold
PERCENT_LIMITS = (-1000.0, 100_000.0)
COUNT_LIMITS = (0, 10_000_000)
IV_RANK_LIMITS = (0.0, 100.0)
IV_HV_LIMITS = (0.0, 100.0)




class ThroughEarnings(StrEnum):
    """What the page does with contracts whose life holds an earnings report (earnings_in_window true)."""

    SHOW = "show"
    HIDE = "hide"
    ONLY = "only"  # only those: what the report could cost


_RANGES = (("delta_min", "delta_max", "Delta"), ("dte_min", "dte_max", "DTE"))  # (minimum, maximum, label)


@dataclass(frozen=True)
class Filters:
    """None means "no limit"."""

    side: str = "both"
    min_annualized: float | None = None
    delta_min: float | None = None
    delta_max: float | None = None
    dte_min: int | None = None
    dte_max: int | None = None
    min_open_interest: int | None = None
    min_volume: int | None = None
    max_spread_pct: float | None = None
    min_below_pct: float | None = None  # minimum % out of the money (otm_pct), puts and calls alike
    tickers: tuple[str, ...] = ()
    search: str = ""
    only_matches: bool = True
    fits_book: bool = False  # "fits my cash": contracts_fit ≥ 1 (a put the free cash secures, a call free shares cover)
    earnings: ThroughEarnings = ThroughEarnings.SHOW  # contracts through earnings: shown, hidden or alone
    min_iv_rank: float | None = None  # the ticker's IV rank (0-100); a ticker without one (< 20 sessions) fails it
    min_iv_hv: float | None = None  # the ticker's IV30 / HV20

    def __post_init__(self) -> None:
        object.__setattr__(self, "side", _OLD_SIDES.get(self.side, self.side))

    @classmethod
    def for_criteria(cls, criteria: Mapping[str, Any]) -> Filters:
        """The defaults: what the scan's own rules let through."""
        try:
            rules = Criteria.of_scan(criteria)
        except (ValueError, TypeError):
            rules = Criteria()
        further = {"dte_min": rules.min_dte, "dte_max": rules.max_dte, "min_open_interest": rules.min_open_interest,
                   "min_volume": rules.min_volume, "max_spread_pct": rules.max_spread_pct}
        if rules.side == "put":
            ceiling = 0.0 if rules.put_delta_ceiling is None else rules.put_delta_ceiling
            return cls(side="put", min_annualized=rules.min_put_annualized, delta_min=rules.put_delta_floor,
                       delta_max=ceiling, **further)
        if rules.side == "call":
            return cls(side="call", min_annualized=rules.min_call_annualized, delta_min=0.0,
                       delta_max=rules.call_delta_beyond, **further)
        return cls(min_annualized=min(rules.min_put_annualized, rules.min_call_annualized), **further)

    def apply(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The rows that pass every set filter (one boolean mask, no per-row Python)."""
        if frame.empty:
            return frame
        mask = np.ones(len(frame), dtype=bool)

        def at_least(column: str, bound: float | None) -> None:
            nonlocal mask
            if bound is not None:  # a column the rows lack (stored before it existed) is empty: nothing passes
                values = frame[column] if column in frame else pd.Series(np.nan, index=frame.index)
                mask &= values.to_numpy(dtype="float64", na_value=np.nan) >= bound

        def at_most(column: str, bound: float | None) -> None:
            nonlocal mask
            if bound is not None:
                mask &= frame[column].to_numpy(dtype="float64", na_value=np.nan) <= bound

        if self.only_matches:
            mask &= frame["match"].to_numpy(dtype=bool)
        if self.side != "both":
            mask &= (frame["side"] == self.side).to_numpy(dtype=bool, na_value=False)
        at_least("annualized_return_pct", self.min_annualized)
        at_least("delta", self.delta_min)
        at_most("delta", self.delta_max)
        at_least("dte", self.dte_min)
        at_most("dte", self.dte_max)
        at_least("open_interest", self.min_open_interest)
        at_least("volume", self.min_volume)
        at_most("spread_pct", self.max_spread_pct)
        at_least("otm_pct", self.min_below_pct)
        at_least("iv_rank", self.min_iv_rank)
        at_least("iv_hv_ratio", self.min_iv_hv)
        at_least("contracts_fit", 1 if self.fits_book else None)  # "fits my cash"
        if self.earnings is not ThroughEarnings.SHOW:  # unknown is not "through earnings": hidden only by "only"
            through = frame["earnings_in_window"].to_numpy(dtype=bool, na_value=False)
            mask &= through if self.earnings is ThroughEarnings.ONLY else ~through
        kept = frame[mask]  # the text tests run on what the numeric ones kept
        if self.tickers:
            kept = kept[kept["ticker"].isin(self.tickers).to_numpy(dtype=bool)]
        if self.search:
            needle = self.search.upper()
            found = kept["ticker"].str.contains(needle, regex=False) | kept["option_symbol"].str.upper().str.contains(
                needle, regex=False)
            kept = kept[found.to_numpy(dtype=bool, na_value=False)]
        return kept

    # ---- URL round trip ----
    def to_query(self, defaults: Filters | None) -> dict[str, str]:
        """Query parameters for the fields that differ from the defaults; every field with ``defaults=None`` (a
        saved screen: the whole filter state, so it means the same once new scans move the defaults)."""
        params: dict[str, str] = {}
        for spec in fields(self):
            value = getattr(self, spec.name)
            if defaults is not None and value == getattr(defaults, spec.name):
                continue
            name = QUERY_NAMES[spec.name]
            if isinstance(value, bool):
                params[name] = "1" if value else "0"
            elif isinstance(value, tuple):
                params[name] = ",".join(value)
            else:
                params[name] = "" if value is None else _plain(value)
        return params

    @classmethod
    def from_query(cls, params: Mapping[str, str], defaults: Filters) -> tuple[Filters, list[str]]:
        """Filters from query parameters; a bad parameter is ignored (default kept) and described in a note."""
        values: dict[str, Any] = {}
        notes: list[str] = []
        for spec in fields(cls):
            name = QUERY_NAMES[spec.name]
            if name not in params:
                continue
            raw = str(params[name]).strip()
            try:
                values[spec.name] = _PARSERS[spec.name](raw)
            except ValueError as exc:
                notes.append(f"Ignored {name}={raw[:40]!r}: {exc}.")
        asked = replace(defaults, **values)
        for low, high, label in asked.inverted_ranges():
            notes.append(f"Ignored the {label} range {_plain(getattr(asked, low))} to {_plain(getattr(asked, high))}: "
                         "the minimum is above the maximum.")
            values.pop(low, None)
            values.pop(high, None)
        return replace(defaults, **values), notes

    def inverted_ranges(self) -> list[tuple[str, str, str]]:
        """(minimum field, maximum field, label) of each range whose minimum is above its maximum."""
        return [(low, high, label) for low, high, label in _RANGES
                if getattr(self, low) is not None and getattr(self, high) is not None
                and getattr(self, low) > getattr(self, high)]


def _plain(value: float | int) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _number(low: float, high: float, whole: bool = False):
    def parse(raw: str) -> float | int | None:
        if raw == "":
            return None
        try:
            value = float(raw)
        except ValueError:
            raise ValueError("not a number") from None
        if not math.isfinite(value) or not low <= value <= high:
            raise ValueError(f"outside {_plain(low)} to {_plain(high)}")
        if whole:
            if value != int(value):
                raise ValueError("not a whole number")
            return int(value)
        return value

    return parse


def _side(raw: str) -> str:
    side = _OLD_SIDES.get(raw, raw)
    if side not in SIDE_OPTIONS:
        raise ValueError(f"not one of {', '.join(SIDE_OPTIONS)}")
    return side


def _tickers(raw: str) -> tuple[str, ...]:
    try:
        return tuple(parse_symbols(raw.split(",")))
    except InvalidSymbols as exc:
        raise ValueError(str(exc)) from None


def _flag(raw: str) -> bool:
    if raw not in ("0", "1"):
        raise ValueError("not 0 or 1")
    return raw == "1"


def _through_earnings(raw: str) -> ThroughEarnings:
    try:
        return ThroughEarnings(raw)
    except ValueError:
        raise ValueError(f"not one of {', '.join(ThroughEarnings)}") from None


def _search(raw: str) -> str:
    if len(raw) > 40:
        raise ValueError("longer than 40 characters")
    return raw


QUERY_NAMES = {
    "side": "side", "min_annualized": "min_ann", "delta_min": "delta_min", "delta_max": "delta_max",
    "dte_min": "dte_min", "dte_max": "dte_max", "min_open_interest": "min_oi", "min_volume": "min_vol",
    "max_spread_pct": "max_spread", "min_below_pct": "min_below", "tickers": "tickers", "search": "q",
    "only_matches": "rules", "fits_book": "fits", "earnings": "earnings", "min_iv_rank": "min_ivr",
    "min_iv_hv": "min_ivhv",
}
_PARSERS = {
    "side": _side,
    "min_annualized": _number(*PERCENT_LIMITS),
    "delta_min": _number(*DELTA_LIMITS),
    "delta_max": _number(*DELTA_LIMITS),
    "dte_min": _number(*DTE_LIMITS, whole=True),
    "dte_max": _number(*DTE_LIMITS, whole=True),
    "min_open_interest": _number(*COUNT_LIMITS, whole=True),
    "min_volume": _number(*COUNT_LIMITS, whole=True),
    "max_spread_pct": _number(0.0, PERCENT_LIMITS[1]),
    "min_below_pct": _number(*PERCENT_LIMITS),
    "tickers": _tickers,
    "search": _search,
    "only_matches": _flag,
    "fits_book": _flag,
    "earnings": _through_earnings,
    "min_iv_rank": _number(*IV_RANK_LIMITS),
    "min_iv_hv": _number(*IV_HV_LIMITS),
}
