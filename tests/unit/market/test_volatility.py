"""DESIGN "Volatility" by hand: IV30 interpolation, IV rank and percentile, HV."""

from __future__ import annotations

import math

import numpy as np
import pytest

from scanner.market.volatility import historical_volatility, hv20, hv60, iv30, iv_standing


def test_iv30_interpolates_total_variance_between_the_expirations_around_30_days():
    # 22 DTE at 30 % (T = 23/365, variance 0.09 × 23/365), 36 DTE at 40 % (T = 37/365, 0.16 × 37/365);
    # at T30 = 31/365: (2.07 + (5.92 − 2.07) × 8/14) / 365 = 4.27 / 365, so σ = √(4.27 / 31)
    dte = np.array([22, 22, 22, 36, 36])
    atm = np.array([0.30, 0.30, 0.30, 0.40, 0.40])
    assert iv30(dte, atm) == pytest.approx(math.sqrt(4.27 / 31), abs=1e-12)
    assert iv30(dte, atm) == pytest.approx(0.371136, abs=1e-6)


def test_iv30_picks_the_two_expirations_around_30_days_among_several():
    dte = np.array([8, 15, 29, 43, 71])
    atm = np.array([0.90, 0.10, 0.20, 0.50, 0.90])  # only 29 and 43 DTE count: T 30/365 and 44/365
    expected = math.sqrt((0.04 * 30 + (0.25 * 44 - 0.04 * 30) * 1 / 14) / 31)
    assert iv30(dte, atm) == pytest.approx(expected, abs=1e-12)


def test_iv30_holds_a_single_expiration_flat():
    assert iv30(np.array([22, 22]), np.array([0.25, 0.25])) == pytest.approx(0.25)
    assert iv30(np.array([45]), np.array([0.31])) == pytest.approx(0.31)


def test_iv30_holds_the_last_weekly_flat_when_the_chain_ends_before_30_days():
    assert iv30(np.array([7, 14, 21, 28]), np.array([0.40, 0.35, 0.30, 0.28])) == pytest.approx(0.28)


def test_iv30_holds_the_first_flat_when_every_expiration_is_beyond_30_days():
    assert iv30(np.array([35, 63]), np.array([0.33, 0.50])) == pytest.approx(0.33)


def test_iv30_leaves_out_missing_ivs_and_expirations_under_one_day():
    dte = np.array([0, 22, 29, 36])
    atm = np.array([0.99, 0.30, np.nan, 0.40])  # 0 DTE and the missing 29-DTE IV ignored: as the first test
    assert iv30(dte, atm) == pytest.approx(math.sqrt(4.27 / 31), abs=1e-12)
    assert math.isnan(iv30(np.array([0, 14]), np.array([0.3, np.nan])))
    assert math.isnan(iv30(np.array([], dtype=float), np.array([], dtype=float)))


def test_iv_rank_and_percentile_of_a_known_series():
    history = np.array([0.20, 0.30, 0.25, 0.40] * 5 + [0.34])  # 21 sessions, min 0.20, max 0.40
    standing = iv_standing(history)
    assert standing.days == 21
    assert standing.rank == pytest.approx((0.34 - 0.20) / (0.40 - 0.20) * 100)  # 70
    assert standing.percentile == pytest.approx(15 / 20 * 100)  # 0.20, 0.30, 0.25 five times each are lower


def test_iv_percentile_counts_ties_as_not_lower():
    history = np.array([0.30] * 10 + [0.20] * 10 + [0.30])
    standing = iv_standing(history)
    assert standing.percentile == pytest.approx(50.0)
    assert standing.rank == pytest.approx(100.0)


def test_iv_rank_is_empty_on_a_flat_history_and_the_percentile_zero():
    standing = iv_standing(np.full(30, 0.25))
    assert math.isnan(standing.rank)
    assert standing.percentile == 0.0
    assert standing.days == 30


def test_iv_rank_and_percentile_are_empty_below_20_sessions():
    standing = iv_standing(np.linspace(0.2, 0.4, 19))
    assert math.isnan(standing.rank) and math.isnan(standing.percentile)
    assert standing.days == 19
    assert not math.isnan(iv_standing(np.linspace(0.2, 0.4, 20)).rank)


def test_iv_rank_looks_back_252_sessions_only():
    history = np.r_[[0.90] * 10, np.linspace(0.20, 0.40, 252)]  # the old 0.90s fall out of the window
    standing = iv_standing(history)
    assert standing.days == 252
    assert standing.rank == pytest.approx(100.0)
    assert standing.percentile == pytest.approx(100.0)


def test_hv_of_a_hand_computed_series():
    # log returns alternate +r and −r: mean 0 over an even count, sample variance n r² / (n − 1)
    r = 0.01
    closes = 100 * np.exp(np.cumsum(np.r_[0.0, np.tile([r, -r], 10)]))  # 21 closes, 20 returns
    expected = math.sqrt(20 * r**2 / 19) * math.sqrt(252)
    assert hv20(closes) == pytest.approx(expected, rel=1e-12)
    assert hv20(np.r_[1.0, 7.0, closes]) == pytest.approx(expected, rel=1e-12)  # only the last 20 returns count


def test_hv_of_four_closes_by_hand():
    closes = np.array([100.0, 102.0, 99.0, 101.0])
    returns = [math.log(102 / 100), math.log(99 / 102), math.log(101 / 99)]
    mean = sum(returns) / 3
    expected = math.sqrt(sum((x - mean) ** 2 for x in returns) / 2) * math.sqrt(252)
    assert historical_volatility(closes, 3) == pytest.approx(expected, rel=1e-12)


def test_hv_is_empty_without_enough_closes_or_with_a_bad_close():
    assert math.isnan(hv20(np.linspace(100, 120, 20)))  # 19 returns
    assert math.isnan(hv60(np.linspace(100, 120, 60)))
    assert not math.isnan(hv60(np.linspace(100, 120, 61)))
    assert math.isnan(hv20(np.r_[np.linspace(100, 120, 20), np.nan]))
