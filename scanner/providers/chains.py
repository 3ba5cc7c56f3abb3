"""Normalizing steps the real-data sources share: the requested slice of a chain, and deltas from IV.

Live APIs filter server-side (MarketData's `range=otm`, `strikeLimit`), but yfinance and snapshot files
hold whole chains, so the same slice is cut here for all of them: the requested sides, out of the money,
the `strike_limit` strikes nearest the money per side and expiration. Deltas missing from a source are
computed with the configured rate and dividend yield (screening's own fallback knows neither).
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from scanner import blackscholes
from scanner.schema import CHAIN_COLUMNS

NUMERIC_COLUMNS = ("strike", "bid", "ask", "last", "volume", "open_interest", "iv", "delta", "underlying_price")


def empty_chain() -> pd.DataFrame:
    return pd.DataFrame(columns=list(CHAIN_COLUMNS))


def normalized(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` as CHAIN_COLUMNS: missing columns added as NaN, numbers coerced (junk strings, "NaN", None -> NaN)."""
    out = frame.reindex(columns=list(CHAIN_COLUMNS))
    for name in NUMERIC_COLUMNS:
        out[name] = pd.to_numeric(out[name], errors="coerce").astype(float)
    out["side"] = out["side"].astype("string").str.strip().str.lower()
    out["ticker"] = out["ticker"].astype("string").str.strip().str.upper()
    return out


def nearest_otm(frame: pd.DataFrame, sides: tuple[str, ...], strike_limit: int) -> pd.DataFrame:
    """The requested sides' OTM rows, at most `strike_limit` strikes per (ticker, side, expiration),
    nearest the money first; sorted by ticker, side, expiration, strike.

    Rows without an underlying price cannot be placed against the money and are kept as they are.
    """
    spot, strike, side = frame["underlying_price"], frame["strike"], frame["side"]
    otm = ((side == "put") & (strike < spot)) | ((side == "call") & (strike > spot)) | spot.isna()
    rows = frame[otm.fillna(False).astype(bool) & side.isin(sides).fillna(False).astype(bool)]
    distance = (rows["strike"] - rows["underlying_price"]).abs()
    rank = distance.groupby([rows["ticker"], rows["side"], rows["expiration"]], dropna=False).rank(method="first")
    kept = rows[rank.isna() | (rank <= strike_limit)]
    return kept.sort_values(["ticker", "side", "expiration", "strike"], ignore_index=True, kind="stable")


def days_to_expiry(frame: pd.DataFrame, as_of: date) -> np.ndarray:
    """Calendar days from `as_of` to each row's expiration (NaN where it is unreadable)."""
    expiration = pd.to_datetime(frame["expiration"], errors="coerce").to_numpy().astype("datetime64[D]")
    days = (expiration - np.datetime64(as_of, "D")).astype(float)
    days[np.isnat(expiration)] = np.nan
    return days


def fill_delta(frame: pd.DataFrame, as_of: date, rate: float, dividend_yield: float,
               iv_from_mid: bool = True) -> pd.DataFrame:
    """Missing deltas from Black-Scholes on the row's IV (time as blackscholes.year_fraction).

    With `iv_from_mid`, a row with a positive bid and ask but no IV first gets the IV its mid implies.
    An IV outside (0, MAX_TRUSTED_IV] gives no delta, so such a row can never match.
    """
    missing = frame["delta"].isna().to_numpy()
    if not missing.any():
        return frame
    out = frame.copy()
    t_years = blackscholes.year_fraction(days_to_expiry(out, as_of))
    side, spot, strike = out["side"].to_numpy(dtype=str), out["underlying_price"].to_numpy(), out["strike"].to_numpy()
    iv = out["iv"].to_numpy(dtype=float, copy=True)
    if iv_from_mid:
        bid, ask = out["bid"].to_numpy(), out["ask"].to_numpy()
        solve = np.isnan(iv) & (bid > 0) & (ask >= bid)
        if solve.any():
            mid = (bid[solve] + ask[solve]) / 2
            iv[solve] = blackscholes.implied_vol(side[solve], mid, spot[solve], strike[solve], t_years[solve],
                                                 rate, dividend_yield)
            out["iv"] = iv
    usable = missing & (iv > 0) & (iv <= blackscholes.MAX_TRUSTED_IV)
    delta = out["delta"].to_numpy(dtype=float, copy=True)
    delta[usable] = blackscholes.delta(side[usable], spot[usable], strike[usable], t_years[usable], iv[usable],
                                       rate, dividend_yield)
    out["delta"] = delta
    return out
