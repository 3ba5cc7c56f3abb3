"""Black-Scholes-Merton prices, deltas and implied vols, vectorized and NaN-safe.

Providers without greeks (yfinance, some snapshots) and the demo market need delta from IV; one
implementation keeps every source on the same convention. Bad inputs give NaN rather than an
exception so one broken contract never sinks a whole chain.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import ndtr

DEFAULT_RATE = 0.04
MAX_TRUSTED_IV = 5.0  # 500 %: a quoted IV above this is junk (or in percent); no delta is derived from it
IV_LOW, IV_HIGH = 1e-4, 10.0  # implied-vol search bracket (0.01 % .. 1000 %)
_IV_ITERATIONS = 64  # bisection halves the bracket each time: 10 / 2**64 is far below any quote tick

ArrayLike = Any  # scalar or array of numbers; kept loose because numpy broadcasts both


def _result(values: np.ndarray) -> ArrayLike:
    """A float for scalar inputs, an array otherwise."""
    return float(values) if values.ndim == 0 else values


def year_fraction(dte_days: ArrayLike) -> ArrayLike:
    """Time to expiry in years as (days to expiration + 1) / 365.

    TD Ameritrade's broker deltas count (dte + 1) / 365: an option expiring today still has the
    rest of the session, so 0 DTE is not 0 years. Using the same count keeps computed deltas
    comparable to broker ones (see shared/data/README.md).
    """
    return _result((np.asarray(dte_days, dtype=float) + 1.0) / 365.0)


def _is_call(side: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """(is_call, side_is_valid) for a scalar or array of "put"/"call" strings (any case, any padding)."""
    sides = np.asarray(side, dtype=str)
    is_call, is_put = np.array(sides == "call"), np.array(sides == "put")  # 0-d arrays stay assignable
    odd = ~(is_call | is_put)
    if odd.any():  # normalizing every string is slow, so only the odd ones are
        cleaned = np.char.lower(np.char.strip(sides[odd]))
        is_call[odd], is_put[odd] = cleaned == "call", cleaned == "put"
    return is_call, is_call | is_put


def _inputs(side: ArrayLike, spot: ArrayLike, strike: ArrayLike, t_years: ArrayLike, vol: ArrayLike,
            rate: ArrayLike, div: ArrayLike) -> tuple[np.ndarray, ...]:
    """Broadcast float arrays plus the mask of rows on which the formula is defined."""
    is_call, side_ok = _is_call(side)
    s, k, t, v, r, q = (np.asarray(x, dtype=float) for x in (spot, strike, t_years, vol, rate, div))
    is_call, side_ok, s, k, t, v, r, q = np.broadcast_arrays(is_call, side_ok, s, k, t, v, r, q)
    finite = np.logical_and.reduce([np.isfinite(x) for x in (s, k, t, v, r, q)])
    valid = side_ok & finite & (s > 0) & (k > 0) & (t > 0) & (v > 0)
    return is_call, valid, s, k, t, v, r, q


def _d1(s: np.ndarray, k: np.ndarray, t: np.ndarray, v: np.ndarray, r: np.ndarray, q: np.ndarray) -> np.ndarray:
    return (np.log(s / k) + (r - q + 0.5 * v * v) * t) / (v * np.sqrt(t))


def _price(is_call: np.ndarray, s: np.ndarray, k: np.ndarray, t: np.ndarray, v: np.ndarray,
           r: np.ndarray, q: np.ndarray) -> np.ndarray:
    d1 = _d1(s, k, t, v, r, q)
    d2 = d1 - v * np.sqrt(t)
    fwd_s, disc_k = s * np.exp(-q * t), k * np.exp(-r * t)
    call = fwd_s * ndtr(d1) - disc_k * ndtr(d2)
    put = disc_k * ndtr(-d2) - fwd_s * ndtr(-d1)
    return np.where(is_call, call, put)


def price(side: ArrayLike, spot: ArrayLike, strike: ArrayLike, t_years: ArrayLike, vol: ArrayLike,
          rate: ArrayLike = DEFAULT_RATE, div: ArrayLike = 0.0) -> ArrayLike:
    """European option value; NaN where the inputs are invalid (t, vol, spot or strike <= 0, NaN, bad side)."""
    is_call, valid, s, k, t, v, r, q = _inputs(side, spot, strike, t_years, vol, rate, div)
    with np.errstate(all="ignore"):
        return _result(np.where(valid, _price(is_call, s, k, t, v, r, q), np.nan))


def delta(side: ArrayLike, spot: ArrayLike, strike: ArrayLike, t_years: ArrayLike, vol: ArrayLike,
          rate: ArrayLike = DEFAULT_RATE, div: ArrayLike = 0.0) -> ArrayLike:
    """dV/dS: in [0, 1] for calls, [-1, 0] for puts; NaN where the inputs are invalid."""
    is_call, valid, s, k, t, v, r, q = _inputs(side, spot, strike, t_years, vol, rate, div)
    with np.errstate(all="ignore"):
        n_d1 = ndtr(_d1(s, k, t, v, r, q))
        out = np.exp(-q * t) * np.where(is_call, n_d1, n_d1 - 1.0)
        return _result(np.where(valid, out, np.nan))


def implied_vol(side: ArrayLike, price: ArrayLike, spot: ArrayLike, strike: ArrayLike, t_years: ArrayLike,
                rate: ArrayLike = DEFAULT_RATE, div: ArrayLike = 0.0) -> ArrayLike:
    """The vol in [IV_LOW, IV_HIGH] that reproduces `price`, by vectorized bisection.

    Bisection rather than Newton because deep OTM options have vega ~ 0 and Newton diverges there;
    the price is monotone in vol, so bisection always converges. NaN when no vol in the bracket
    reproduces the price (below intrinsic, above the no-arbitrage bound) or inputs are invalid.
    """
    is_call, valid, s, k, t, _, r, q = _inputs(side, spot, strike, t_years, 1.0, rate, div)
    target = np.broadcast_to(np.asarray(price, dtype=float), s.shape)
    with np.errstate(all="ignore"):
        lo, hi = np.full(s.shape, IV_LOW), np.full(s.shape, IV_HIGH)
        solvable = (valid & np.isfinite(target) & (_price(is_call, s, k, t, lo, r, q) < target)
                    & (target <= _price(is_call, s, k, t, hi, r, q)))
        for _ in range(_IV_ITERATIONS):
            mid = 0.5 * (lo + hi)
            too_low = _price(is_call, s, k, t, mid, r, q) < target
            lo, hi = np.where(too_low, mid, lo), np.where(too_low, hi, mid)
        return _result(np.where(solvable, 0.5 * (lo + hi), np.nan))
