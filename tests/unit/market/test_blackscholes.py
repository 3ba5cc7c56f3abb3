"""Black-Scholes against textbook values, parity, finite differences and its own inverse."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanner.market import blackscholes as bs


def test_hull_textbook_values() -> None:
    # Hull, Options, Futures and Other Derivatives, example 15.6: S=42, K=40, r=10 %, sigma=20 %, T=0.5.
    assert bs.price("call", 42, 40, 0.5, 0.2, 0.10) == pytest.approx(4.76, abs=0.005)
    assert bs.price("put", 42, 40, 0.5, 0.2, 0.10) == pytest.approx(0.81, abs=0.005)
    # N(d1) with d1 = 0.7693 is 0.7791.
    assert bs.delta("call", 42, 40, 0.5, 0.2, 0.10) == pytest.approx(0.7791, abs=1e-4)
    assert bs.delta("put", 42, 40, 0.5, 0.2, 0.10) == pytest.approx(0.7791 - 1, abs=1e-4)


def test_scalars_in_floats_out_and_arrays_broadcast() -> None:
    assert isinstance(bs.price("call", 100, 100, 1.0, 0.2), float)
    out = bs.price(np.array(["call", "put"]), 100, np.array([90.0, 110.0]), 0.25, 0.3)
    assert out.shape == (2,)
    assert out[0] > 10 and out[1] > 10  # both in the money by 10


def test_side_is_case_and_space_insensitive() -> None:
    assert bs.price(" Call", 100, 100, 1.0, 0.2) == bs.price("call", 100, 100, 1.0, 0.2)


@settings(max_examples=200, deadline=None)
@given(spot=st.floats(5, 1000), moneyness=st.floats(0.5, 1.5), t=st.floats(1 / 365, 3), vol=st.floats(0.05, 2),
       rate=st.floats(-0.01, 0.1), div=st.floats(0, 0.05))
def test_put_call_parity(spot: float, moneyness: float, t: float, vol: float, rate: float, div: float) -> None:
    strike = spot * moneyness
    call, put = bs.price("call", spot, strike, t, vol, rate, div), bs.price("put", spot, strike, t, vol, rate, div)
    assert call - put == pytest.approx(spot * np.exp(-div * t) - strike * np.exp(-rate * t), abs=1e-8 * spot)


@pytest.mark.parametrize("side", ["call", "put"])
@pytest.mark.parametrize("strike", [60.0, 95.0, 100.0, 130.0])
def test_delta_matches_finite_difference(side: str, strike: float) -> None:
    h = 1e-4
    up = bs.price(side, 100 + h, strike, 0.3, 0.35, 0.03, 0.01)
    down = bs.price(side, 100 - h, strike, 0.3, 0.35, 0.03, 0.01)
    assert bs.delta(side, 100, strike, 0.3, 0.35, 0.03, 0.01) == pytest.approx((up - down) / (2 * h), abs=1e-6)


def test_implied_vol_round_trip() -> None:
    sides = np.array(["call", "put"] * 4)
    strikes = np.array([80, 80, 100, 100, 120, 120, 150, 150], dtype=float)
    vols = np.array([0.15, 0.9, 0.25, 0.4, 0.6, 0.2, 1.5, 0.3])
    prices = bs.price(sides, 100, strikes, 0.2, vols, 0.04, 0.0)
    assert bs.implied_vol(sides, prices, 100, strikes, 0.2, 0.04, 0.0) == pytest.approx(vols, rel=1e-7)


def test_implied_vol_is_nan_without_a_solution() -> None:
    # Below intrinsic (deep ITM call for less than S - K), above the spot (no call is worth more), zero price.
    out = bs.implied_vol(["call", "call", "put", "call"], [5.0, 101.0, 0.0, np.nan], 100, [50, 100, 100, 100], 0.5)
    assert np.isnan(out).all()


def test_invalid_inputs_give_nan_without_warnings() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cases = [
            ("call", 100, 100, 0.0, 0.2),  # expired
            ("call", 100, 100, -1.0, 0.2),
            ("put", 100, 100, 0.5, 0.0),  # no vol
            ("put", 100, 0.0, 0.5, 0.2),  # no strike
            ("put", 100, -5.0, 0.5, 0.2),
            ("put", 0.0, 100, 0.5, 0.2),  # no spot
            ("put", np.nan, 100, 0.5, 0.2),
            ("put", 100, 100, np.inf, 0.2),
            ("straddle", 100, 100, 0.5, 0.2),  # not a side
            (None, 100, 100, 0.5, 0.2),
        ]
        for case in cases:
            assert np.isnan(bs.price(*case)), case
            assert np.isnan(bs.delta(*case)), case
        assert np.isnan(bs.price("call", 1e308, 1e-308, 1e308, 1e308))  # overflow inside stays quiet
        mixed = bs.delta(["put", "call"], [100, 0], 100, 0.5, 0.2)
        assert not np.isnan(mixed[0]) and np.isnan(mixed[1])


def test_year_fraction_counts_expiry_day() -> None:
    assert bs.year_fraction(0) == pytest.approx(1 / 365)
    assert bs.year_fraction(26) == pytest.approx(27 / 365)
    assert np.isnan(bs.year_fraction(None))
    assert bs.year_fraction(np.array([0, 364])) == pytest.approx([1 / 365, 1.0])
