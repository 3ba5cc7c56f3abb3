"""The columns a seller decides on (DESIGN "Screening": returns on net capital, POP, ATM IV, expected move, score,
reason), checked by hand on rows of the real chains in ../shared/data, puts and calls, with the empty cases."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pandas as pd
import pytest

from scanner.providers.snapshot import read_chain_file
from scanner.scan.criteria import Criteria
from scanner.scan.screening import near_misses, screen
from tests.support.paths import shared_file
from tests.unit.scan.test_screening import AAPL_CHAIN, AAPL_QUOTE_DATE, chain, marketdata_rows, row

SPY_CHAIN = "tdameritrade/spy_chain_2020-01-29.json"  # quoted 2020-01-29, expirations 0 and 2 DTE, S = 326.22
SPY_NAN_CHAIN = "tdameritrade/spy_chain_nan_values.json"  # one 0-DTE call whose greeks and IV are "NaN"
SPY_QUOTE_DATE = date(2020, 1, 29)
RATE = 0.04  # SCANNER_RISK_FREE_RATE's default; q = 0


def normal_cdf(x: float) -> float:
    return 0.5 * math.erfc(-x / math.sqrt(2))


def pop_by_hand(spot: float, break_even: float, iv: float, dte: int) -> float:
    """N(d2) × 100, d2 = (ln(S / BE) + (r − iv²/2) T) / (iv √T), T = (dte + 1) / 365."""
    t = (dte + 1) / 365
    return normal_cdf((math.log(spot / break_even) + (RATE - iv * iv / 2) * t) / (iv * math.sqrt(t))) * 100


@pytest.fixture
def aapl() -> pd.DataFrame:
    return marketdata_rows(shared_file(AAPL_CHAIN))


@pytest.fixture
def spy() -> pd.DataFrame:
    return read_chain_file(shared_file(SPY_CHAIN))


def spy_put(result: pd.DataFrame, dte: int, strike: float) -> pd.Series:
    found = result[(result.side == "put") & (result.dte == dte) & (result.strike == strike)]
    assert len(found) == 1
    return found.iloc[0]


def test_aapl_put_returns_on_net_capital_pop_and_the_expirations_atm_iv(aapl: pd.DataFrame) -> None:
    put = row(screen(aapl, Criteria(side="both"), AAPL_QUOTE_DATE), "put", 165)  # bid 0.92, iv 0.233, 26 DTE
    assert put.period_return_pct == pytest.approx(0.560702, abs=1e-6)  # 0.92 / (165 − 0.92) × 100 = 92 / 164.08
    assert put.annualized_period_return_pct == pytest.approx(7.871395, abs=1e-6)  # 92 × 365 / (164.08 × 26)
    assert np.isnan(put.if_called_return_pct)  # puts: empty
    # d2 = (ln(175.13 / 164.08) + (0.04 − 0.233² / 2) × 27/365) / (0.233 × √(27/365))
    #    = (0.065174 + 0.012856 × 0.073973) / 0.063372 = 1.04345 → N(d2) = 0.851633
    assert put.pop_pct == pytest.approx(85.1633, abs=1e-4)
    assert put.pop_pct == pytest.approx(pop_by_hand(175.13, 164.08, 0.233, 26), rel=1e-12)
    # nearest-OTM put: 175 (the highest put strike below 175.13), iv 0.194; nearest-OTM call: 180, iv 0.176
    assert put.atm_iv == pytest.approx(0.185)  # (0.194 + 0.176) / 2
    assert put.expected_move == pytest.approx(8.811863, abs=1e-6)  # 175.13 × 0.185 × √(27/365) = 32.39905 × 0.271981
    assert put.reason == "annualized 7.83% < 30%" and put.rules_failed == 1 and not put.match
    assert put.miss_pct == pytest.approx(73.908314, abs=1e-6)  # (30 − 7.827506) / 30 × 100
    assert np.isnan(put.score)  # not a match: no score


def test_aapl_covered_call_returns_on_the_shares_and_if_called(aapl: pd.DataFrame) -> None:
    call = row(screen(aapl, Criteria(side="both"), AAPL_QUOTE_DATE), "call", 180)  # bid 1.77, iv 0.176, delta 0.328
    assert call.period_return_pct == pytest.approx(1.020997, abs=1e-6)  # 1.77 / (175.13 − 1.77) × 100 = 177 / 173.36
    assert call.annualized_period_return_pct == pytest.approx(14.333224, abs=1e-6)  # 177 × 365 / (173.36 × 26)
    # called away at 180: premium plus the shares' gain, (1.77 + 180 − 175.13) / 173.36 × 100 = 664 / 173.36
    assert call.if_called_return_pct == pytest.approx(3.830180, abs=1e-6)
    # break-even 173.36: d2 = (ln(175.13 / 173.36) + (0.04 − 0.176² / 2) × 27/365) / (0.176 × √(27/365))
    #    = (0.010158 + 0.024512 × 0.073973) / 0.047869 = 0.250088 → N(d2) = 0.598741
    assert call.pop_pct == pytest.approx(59.8741, abs=1e-4)
    assert call.pop_pct == pytest.approx(pop_by_hand(175.13, 173.36, 0.176, 26), rel=1e-12)
    assert call.atm_iv == pytest.approx(0.185)  # the same expiration: the same ATM IV on every row
    assert call.reason == "delta 0.328 > 0.32 (DTE ≤ 28)"  # the call table's 28-day row
    assert call.miss_pct == pytest.approx(2.5)  # (0.328 − 0.32) / 0.32 × 100


def test_spy_two_day_put_by_hand(spy: pd.DataFrame) -> None:
    put = spy_put(screen(spy, Criteria(side="both"), SPY_QUOTE_DATE), 2, 322.0)  # bid 0.43, ask 0.45, iv 0.15608
    assert put.period_return_pct == pytest.approx(0.133719, abs=1e-6)  # 0.43 / 321.57 × 100
    assert put.annualized_period_return_pct == pytest.approx(24.403707, abs=1e-6)  # 0.133719 × 365 / 2
    # d2 = (ln(326.22 / 321.57) + (0.04 − 0.15608² / 2) × 3/365) / (0.15608 × √(3/365))
    #    = (0.014357 + 0.027820 × 0.008219) / 0.014150 = 1.030769 → N(d2) = 0.848673
    assert put.pop_pct == pytest.approx(84.8673, abs=1e-4)
    # nearest-OTM put 326 (iv 0.12352), call 326.5 (iv 0.14811): (0.12352 + 0.14811) / 2 = 0.135815
    assert put.atm_iv == pytest.approx(0.135815)
    assert put.expected_move == pytest.approx(4.016729, abs=1e-6)  # 326.22 × 0.135815 × √(3/365) = 44.30557 × 0.090660
    assert put.reason == "annualized 24.37% < 30%"  # 0.43 / 322 / 2 × 365 × 100 = 24.371118


def test_zero_dte_annualizes_over_one_day_and_prices_over_one_day_of_time(spy: pd.DataFrame) -> None:
    result = screen(spy, Criteria(side="both"), SPY_QUOTE_DATE)
    call = result[(result.side == "call") & (result.dte == 0) & (result.strike == 327.0)].iloc[0]  # bid 0.01
    assert call.period_return_pct == pytest.approx(0.003066, abs=1e-6)  # 0.01 / (326.22 − 0.01) × 100
    assert call.annualized_period_return_pct == pytest.approx(1.118911, abs=1e-6)  # × 365 / max(0, 1)
    assert call.annualized_return_pct == pytest.approx(1.116208, abs=1e-6)  # 0.01 / 327 / 1 × 365 × 100
    # T = (0 + 1) / 365, not 0: the iv 0.05 still gives a probability, N(d2) of a break-even 326.21
    assert call.pop_pct == pytest.approx(pop_by_hand(326.22, 326.21, 0.05, 0), rel=1e-12)
    assert call.pop_pct == pytest.approx(52.0847, abs=1e-4)
    # the 0-DTE expiration's nearest-OTM put 326 and call 326.5 both quote iv 0.05: 326.22 × 0.05 × √(1/365)
    assert call.atm_iv == pytest.approx(0.05) and call.expected_move == pytest.approx(0.853757, abs=1e-6)


def test_a_row_without_iv_has_no_pop_atm_iv_or_expected_move() -> None:
    rows = read_chain_file(shared_file(SPY_NAN_CHAIN))  # greeks "NaN": no IV, no delta, 0 DTE
    call = screen(rows, Criteria(side="both"), rows.quote_date.iloc[0]).iloc[0]
    assert call.dte == 0 and call.period_return_pct == pytest.approx(0.003098, abs=1e-6)  # 0.01 / 322.77 × 100
    assert np.isnan(call.pop_pct) and np.isnan(call.atm_iv) and np.isnan(call.expected_move)
    assert call.reason == "delta missing" and np.isnan(call.miss_pct) and np.isnan(call.score)


def test_an_iv_above_5_is_not_used(aapl: pd.DataFrame) -> None:
    nearest = (aapl.side == "put") & (aapl.strike == 175)  # the expiration's nearest-OTM put
    aapl.loc[nearest, "iv"] = 5.5
    result = screen(aapl, Criteria(side="both"), AAPL_QUOTE_DATE)
    assert np.isnan(row(result, "put", 175).pop_pct)
    # the next put strike below S with a usable IV stands in: 170 (iv 0.212), with the 180 call (0.176)
    assert row(result, "put", 165).atm_iv == pytest.approx(0.194)  # (0.212 + 0.176) / 2


def test_a_bid_at_or_above_the_strike_leaves_returns_and_pop_empty_and_never_matches(aapl: pd.DataFrame) -> None:
    put_165 = (aapl.side == "put") & (aapl.strike == 165)
    aapl.loc[put_165, "bid"] = 165.0
    put = row(screen(aapl, Criteria(min_put_annualized=0.0), AAPL_QUOTE_DATE), "put", 165)
    assert np.isnan(put.period_return_pct) and np.isnan(put.annualized_period_return_pct) and np.isnan(put.pop_pct)
    assert put.break_even == 0.0 and not put.match and np.isnan(put.score)
    assert put.reason == "unusable row: bid 165.00 ≥ strike 165.00"


def test_a_covered_call_bid_at_the_stock_price_has_no_return() -> None:
    rows = chain(side=["call"], strike=[105.0], bid=[110.0], ask=[111.0], delta=[0.1], underlying_price=[110.0])
    call = screen(rows, Criteria(side="call"), date(2026, 11, 30)).iloc[0]
    assert np.isnan(call.period_return_pct) and np.isnan(call.if_called_return_pct) and np.isnan(call.pop_pct)
    assert call.reason == "unusable row: bid 110.00 ≥ underlying 110.00" and not call.match


def test_atm_iv_from_one_side_when_only_one_was_fetched(aapl: pd.DataFrame) -> None:
    puts = screen(aapl[aapl.side == "put"], Criteria(), AAPL_QUOTE_DATE)
    assert puts.atm_iv.unique().tolist() == [pytest.approx(0.194)]  # the 175 put's IV alone


def test_score_ranks_matches_by_return_probability_and_spread(spy: pd.DataFrame) -> None:
    result = screen(spy, Criteria(min_put_annualized=20.0), SPY_QUOTE_DATE)
    assert result[result.match].strike.tolist() == [321.5, 322.0, 322.5]  # the 2-DTE puts at -0.154, -0.176, -0.198
    put = spy_put(result, 2, 322.5)  # bid 0.49, ask 0.50
    # 27.770877 (0.49 / 322.01 × 100 × 365 / 2) × 0.832951 (POP) × (1 − 2.020202 / 100) (spread 0.01 / 0.495)
    assert put.score == pytest.approx(22.664468, abs=1e-5)
    assert result[result.match].sort_values("score").strike.tolist() == [321.5, 322.0, 322.5]
    assert result.score[~result.match].isna().all()


@pytest.mark.parametrize(("changes", "strike", "reason"), [
    ({"put_delta_ceiling": -0.16}, 321.5, "delta -0.154 > -0.16 (ceiling)"),
    ({"min_open_interest": 10_000}, 322.5, "open interest 7,149 < 10,000"),
    ({"min_volume": 2_000}, 321.5, "volume 1,497 < 2,000"),
    ({"min_bid": 0.40}, 321.5, "bid $0.37 < $0.40"),
    ({"max_spread_pct": 5.0}, 321.5, "spread 5.26% > 5%"),  # (0.39 − 0.37) / 0.38 × 100 = 5.263158
])
def test_each_further_criterion_takes_one_match_away_and_says_why(spy: pd.DataFrame, changes: dict, strike: float,
                                                                    reason: str) -> None:
    result = screen(spy, Criteria(min_put_annualized=20.0, **changes), SPY_QUOTE_DATE)
    assert sorted(result[result.match].strike) == sorted({321.5, 322.0, 322.5} - {strike})
    put = spy_put(result, 2, strike)
    assert put.reason == reason and put.rules_failed == 1


def test_the_reason_is_the_first_rule_failed_in_designs_order(spy: pd.DataFrame) -> None:
    result = screen(spy, Criteria(min_put_annualized=20.0, min_bid=0.40, max_spread_pct=5.0), SPY_QUOTE_DATE)
    put = spy_put(result, 2, 321.5)  # bid 0.37 and spread 5.26 % both fail: bid comes first
    assert put.reason == "bid $0.37 < $0.40" and put.rules_failed == 2
    assert put.miss_pct == pytest.approx(7.5)  # (0.40 − 0.37) / 0.40 × 100
    assert 321.5 not in near_misses(result[result.dte == 2]).strike.tolist()  # two rules: not a near miss


def test_near_misses_fail_one_measurable_rule_nearest_first(spy: pd.DataFrame) -> None:
    result = screen(spy, Criteria(), SPY_QUOTE_DATE)  # annualized >= 30, delta >= -0.20
    near = near_misses(result[(result.side == "put") & (result.dte == 2)])
    # 322.5 misses 30 % by (30 − 27.728682) / 30 = 7.57 %, 322 by (30 − 24.371118) / 30 = 18.76 %, 323 (delta
    # -0.228) the floor by 0.028 / 0.20 = 14 %
    assert near.strike.tolist()[:3] == [322.5, 323.0, 322.0]
    assert near.reason.tolist()[:3] == ["annualized 27.73% < 30%", "delta -0.228 < -0.20", "annualized 24.37% < 30%"]
    assert near.miss_pct.tolist()[:3] == pytest.approx([7.571059, 14.0, 18.762940], abs=1e-6)
    assert (near.rules_failed == 1).all() and not near.match.any()


def test_call_delta_reasons_name_the_table_row_or_beyond() -> None:
    rows = chain(side=["call", "call"], strike=[110.0, 110.0], bid=[3.0, 3.0], ask=[3.1, 3.1], delta=[0.25, 0.40],
                 expiration=[date(2026, 12, 4), date(2027, 1, 15)], underlying_price=[100.0, 100.0])
    near, far = screen(rows, Criteria(side="call"), date(2026, 11, 30)).itertuples()  # 4 and 46 DTE
    assert near.reason == "delta 0.25 > 0.20 (DTE ≤ 7)" and far.reason == "delta 0.40 > 0.36 (DTE > 28)"
    assert not near.match and not far.match


def test_a_match_has_no_reason_and_fails_no_rule(spy: pd.DataFrame) -> None:
    put = spy_put(screen(spy, Criteria(min_put_annualized=20.0), SPY_QUOTE_DATE), 2, 322.0)
    assert put.match and put.reason == "" and put.rules_failed == 0 and np.isnan(put.miss_pct)
