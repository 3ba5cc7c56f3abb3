"""A sold contract's profit and loss at expiration, per contract, against values worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from scanner.results.payoff import payoff, price_grid
from scanner.schema import Side


@pytest.mark.parametrize(("price", "dollars"), [
    (250.0, 100.0),  # expires worthless: the premium, $1.00 × 100
    (200.0, 100.0),  # at the strike: still the whole premium
    (199.5, 50.0),  # assigned at 200, worth 199.50: 1.00 − 0.50
    (199.0, 0.0),  # the break-even, 200 − 1
    (190.0, -900.0),  # 1.00 − 10.00
    (0.0, -19_900.0),  # the stock goes to nothing: the strike less the premium
])
def test_a_short_put_keeps_its_premium_above_the_strike_and_loses_the_shortfall_below(price: float,
                                                                                     dollars: float) -> None:
    assert payoff(Side.PUT, 200.0, 1.0, 210.0, np.array([price]))[0] == pytest.approx(dollars)


@pytest.mark.parametrize(("price", "dollars"), [
    (300.0, 1_200.0),  # called away at 220 with 100 shares bought at 210: (2 + 220 − 210) × 100
    (220.0, 1_200.0),
    (215.0, 700.0),  # 2 + 215 − 210
    (210.0, 200.0),  # unchanged: the premium
    (208.0, 0.0),  # the break-even, 210 − 2
    (200.0, -800.0),
])
def test_a_covered_call_gains_up_to_the_strike_and_loses_the_shares_drop_less_the_premium(price: float,
                                                                                        dollars: float) -> None:
    assert payoff("call", 220.0, 2.0, 210.0, np.array([price]))[0] == pytest.approx(dollars)


def test_the_put_payoff_ignores_the_price_it_was_sold_at_and_takes_a_whole_grid() -> None:
    prices = np.array([180.0, 199.0, 230.0])
    assert payoff(Side.PUT, 200.0, 1.0, 210.0, prices).tolist() == payoff(Side.PUT, 200.0, 1.0, 500.0, prices).tolist()
    assert payoff(Side.PUT, 200.0, 1.0, 210.0, prices).tolist() == pytest.approx([-1_900.0, 0.0, 100.0])


def test_the_grid_spans_two_expected_moves_and_holds_the_strike_break_even_and_price() -> None:
    grid = price_grid(strike=200.0, break_even=199.0, underlying=210.0, expected_move=10.0)
    assert grid[0] == pytest.approx(188.0) and grid[-1] == pytest.approx(232.0)  # 210 ∓ 20, and 10 % of 20 more
    assert {200.0, 199.0, 210.0} <= set(grid.tolist())
    assert (np.diff(grid) > 0).all()


def test_the_grid_reaches_a_strike_outside_the_moves_and_falls_back_to_a_fifth_of_the_price() -> None:
    far = price_grid(strike=150.0, break_even=148.0, underlying=210.0, expected_move=5.0)
    assert far[0] == pytest.approx(147.0) and far[-1] == pytest.approx(221.0)  # 148 − 1; 220 + 1
    unknown = price_grid(strike=200.0, break_even=199.0, underlying=210.0, expected_move=float("nan"))
    assert unknown[0] == pytest.approx(163.8) and unknown[-1] == pytest.approx(256.2)  # 210 ∓ 42, ∓ 4.2
    assert price_grid(strike=5.0, break_even=4.0, underlying=5.0, expected_move=10.0)[0] == 0.0  # never below 0
