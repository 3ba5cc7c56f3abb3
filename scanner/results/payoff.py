"""A sold contract's profit and loss at expiration, per contract (100 shares), against the stock's price then.

The trades are the wheel's two legs, as the screening prices them (DESIGN "Screening"): a cash-secured put sold
for its bid, and a covered call sold for its bid on 100 shares bought at the underlying price. Commissions,
assignment before expiration and dividends are left out.
"""

from __future__ import annotations

import numpy as np

from scanner.schema import Side

SHARES = 100  # one contract
GRID_POINTS = 201
WIDTH_WITHOUT_MOVE = 0.2  # the grid's half-width as a fraction of the price when the expected move is unknown


def payoff(side: Side | str, strike: float, bid: float, underlying: float, prices: np.ndarray) -> np.ndarray:
    """Dollars made (negative: lost) per contract at each stock price in ``prices`` at expiration.

    Short put: 100 × (bid − max(K − S_T, 0)). Covered call (100 shares bought at S): 100 × (bid + min(S_T, K) − S).
    """
    prices = np.asarray(prices, dtype=float)
    if Side(side) is Side.PUT:
        return SHARES * (bid - np.maximum(strike - prices, 0.0))
    return SHARES * (bid + np.minimum(prices, strike) - underlying)


def price_grid(strike: float, break_even: float, underlying: float, expected_move: float,
               points: int = GRID_POINTS) -> np.ndarray:
    """Stock prices at expiration to draw a payoff over: two expected moves either side of the price (a fifth of
    the price when the move is unknown), widened to take in the strike and break-even, never below 0; the strike,
    break-even and price themselves are on it, so the line bends exactly where the payoff does."""
    known = [value for value in (strike, break_even, underlying) if np.isfinite(value)]
    centre = underlying if np.isfinite(underlying) else strike
    half = 2 * expected_move if np.isfinite(expected_move) and expected_move > 0 else WIDTH_WITHOUT_MOVE * centre
    low = max(0.0, min([centre - half, *known]) - 0.1 * half)
    high = max([centre + half, *known]) + 0.1 * half
    return np.union1d(np.linspace(low, high, points), [value for value in known if low <= value <= high])
