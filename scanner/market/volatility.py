"""A ticker's volatility figures (DESIGN "Volatility"): IV30, IV rank and percentile, HV20 and HV60.

Everything here is plain arithmetic on numpy arrays, with no Redis and no source: the scan hands in a screened
chain's per-expiration `atm_iv`, a ticker's recorded IV30 history or its daily closes, and gets NaN wherever the
figure cannot be told (no usable IV, fewer than 20 sessions of history, too few closes), never a guess.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

T30 = 31 / 365  # 30 days out in the T = (DTE + 1) / 365 convention of screening
RANK_WINDOW = 252  # sessions the rank and percentile look back over, today included
MIN_RANK_SESSIONS = 20  # below this many sessions, rank and percentile stay empty
TRADING_DAYS = 252  # HV's annualization: √252


def iv30(dte: np.ndarray, atm_iv: np.ndarray) -> float:
    """The 30-day IV from a chain's rows (`dte` and `atm_iv` columns, one value per expiration repeated on its
    rows): total variance σ²T interpolated linearly in T between the expirations around T30; before the first or
    after the last usable expiration, its σ held flat. Expirations with DTE < 1 or no usable ATM IV are left out;
    NaN when none is left."""
    dte = np.asarray(dte, dtype=float)
    atm_iv = np.asarray(atm_iv, dtype=float)
    with np.errstate(invalid="ignore"):
        usable = (dte >= 1) & np.isfinite(atm_iv) & (atm_iv > 0)
    if not usable.any():
        return math.nan
    days, first = np.unique(dte[usable], return_index=True)
    sigma = atm_iv[usable][first]
    years = (days + 1) / 365
    if years[0] >= T30:
        return float(sigma[0])
    if years[-1] <= T30:
        return float(sigma[-1])
    variance = np.interp(T30, years, sigma**2 * years)  # linear in T between the two around T30
    return float(np.sqrt(variance / T30))


@dataclass(frozen=True)
class IvStanding:
    """Where today's IV30 stands in its history: rank and percentile (0-100, NaN when not told) and the number of
    sessions they rest on."""

    rank: float
    percentile: float
    days: int


def iv_standing(history: np.ndarray) -> IvStanding:
    """Rank and percentile of the last value of `history` (IV30 per session, oldest first, today last) over its
    last RANK_WINDOW sessions: rank = (today − min) / (max − min) × 100 (NaN when max = min), percentile = % of the
    other sessions in the window with a lower IV30; both NaN below MIN_RANK_SESSIONS sessions."""
    window = np.asarray(history, dtype=float)[-RANK_WINDOW:]
    days = int(window.size)
    if days < MIN_RANK_SESSIONS:
        return IvStanding(math.nan, math.nan, days)
    today, low, high = window[-1], window.min(), window.max()
    rank = math.nan if high == low else float((today - low) / (high - low) * 100)
    percentile = float(np.count_nonzero(window[:-1] < today) / (days - 1) * 100)
    return IvStanding(rank, percentile, days)


def historical_volatility(closes: np.ndarray, returns: int) -> float:
    """Annualized (√252) sample standard deviation (ddof 1) of the last `returns` close-to-close log returns of
    `closes` (completed sessions, oldest first); NaN when there are fewer returns or a close is not positive."""
    closes = np.asarray(closes, dtype=float)[-(returns + 1):]
    if closes.size < returns + 1 or not (closes > 0).all():
        return math.nan
    return float(np.std(np.diff(np.log(closes)), ddof=1) * math.sqrt(TRADING_DAYS))


def hv20(closes: np.ndarray) -> float:
    return historical_volatility(closes, 20)


def hv60(closes: np.ndarray) -> float:
    return historical_volatility(closes, 60)
