"""What changed between two scans, keyed by option symbol: new, dropped and changed contracts, over every screened
contract or over the matches only (what a trader compares: a scan screens thousands of mostly zero-bid rows)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

COMPARED = ("bid", "annualized_return_pct", "delta")
_TOLERANCE = {"bid": 0.005, "delta": 0.0005, "annualized_return_pct": 0.005}
_KEY = ["ticker", "side", "expiration", "strike", "option_symbol"]
_EXTRA = ("dte", "bid", "annualized_return_pct", "delta", "open_interest", "spread_pct", "match")


@dataclass(frozen=True)
class Comparison:
    new: pd.DataFrame
    dropped: pd.DataFrame
    changed: pd.DataFrame  # one row per contract: before/after of each compared column


def _keyed(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.dropna(subset=["option_symbol"]).drop_duplicates("option_symbol").set_index("option_symbol")


def compare(current: pd.DataFrame, previous: pd.DataFrame, *, matches_only: bool = False) -> Comparison:
    """Contracts only in ``current``, only in ``previous``, and in both with a moved bid, delta or return.

    With ``matches_only`` each scan counts only its matches (rows passing its rules): "new" is a match now that
    was not one before (absent, or screened out), "dropped" the reverse, "changed" a match in both whose values
    moved.
    """
    if matches_only:
        current, previous = _matches(current), _matches(previous)
    now, before = _keyed(current), _keyed(previous)
    new = now.loc[now.index.difference(before.index, sort=False)]
    dropped = before.loc[before.index.difference(now.index, sort=False)]
    both = now.index.intersection(before.index, sort=False)
    after_values = now.loc[both, list(COMPARED)].astype("float64")
    before_values = before.loc[both, list(COMPARED)].astype("float64")
    moved = np.zeros(len(both), dtype=bool)
    for column in COMPARED:
        a, b = after_values[column].to_numpy(), before_values[column].to_numpy()
        moved |= (np.abs(a - b) > _TOLERANCE[column]) | (np.isnan(a) != np.isnan(b))
    keep = both[moved]
    changed = now.loc[keep, [c for c in _KEY if c != "option_symbol"]].copy()
    for column in COMPARED:
        changed[f"{column}_before"] = before_values.loc[keep, column]
        changed[f"{column}_after"] = after_values.loc[keep, column]
    return Comparison(new=new.reset_index()[_columns(new)], dropped=dropped.reset_index()[_columns(dropped)],
                      changed=changed.reset_index()[[*changed.columns, "option_symbol"]])


def _matches(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame["match"].fillna(False).to_numpy(dtype=bool)] if "match" in frame else frame.iloc[:0]


def _columns(frame: pd.DataFrame) -> list[str]:
    return _KEY + [c for c in _EXTRA if c in frame.columns]


def mark_new(current: pd.DataFrame, previous: pd.DataFrame | None) -> pd.Series:
    """True for contracts the previous completed scan did not have (all False without a previous scan)."""
    if previous is None or previous.empty or "option_symbol" not in previous:
        return pd.Series(False, index=current.index)
    return ~current["option_symbol"].isin(previous["option_symbol"])
