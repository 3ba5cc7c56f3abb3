"""Screening arithmetic and match rules, checked by hand against a real MarketData.app chain."""

from __future__ import annotations

import json
import math
import warnings
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from scanner.market import blackscholes
from scanner.providers.base import ChainRequest
from scanner.scan.criteria import Criteria
from scanner.scan.screening import call_delta_limit, screen, unusable
from scanner.schema import CHAIN_COLUMNS, RESULT_COLUMNS
from scanner.store.codec import decode_payload, encode_groups, to_frame
from tests.support.paths import shared_file

AAPL_CHAIN = "marketdata/options_chain_AAPL_2023-05-21.json"
AAPL_QUOTE_DATE = date(2023, 5, 21)


def marketdata_rows(path: Path) -> pd.DataFrame:
    """A MarketData.app columnar chain as normalized rows (a stand-in until the real adapter exists).

    The side comes from the OCC symbol: this file's `side` array has 96 entries for 92 contracts.
    """
    raw = json.loads(path.read_text())
    symbols = pd.Series(raw["optionSymbol"])
    return pd.DataFrame({
        "ticker": raw["underlying"],
        "side": symbols.str[-9].map({"C": "call", "P": "put"}),
        "expiration": raw["expiration"],  # unix seconds: screen() reads them as New York dates
        "strike": raw["strike"],
        "bid": raw["bid"],
        "ask": raw["ask"],
        "last": raw["last"],
        "volume": raw["volume"],
        "open_interest": raw["openInterest"],
        "iv": raw["iv"],
        "delta": raw["delta"],
        "underlying_price": raw["underlyingPrice"],
        "quote_date": raw["updated"],
        "option_symbol": symbols,
    }, columns=list(CHAIN_COLUMNS))


@pytest.fixture
def aapl() -> pd.DataFrame:
    return marketdata_rows(shared_file(AAPL_CHAIN))


def row(result: pd.DataFrame, side: str, strike: float) -> pd.Series:
    found = result[(result.side == side) & (result.strike == strike)]
    assert len(found) == 1
    return found.iloc[0]


def chain(**overrides: list) -> pd.DataFrame:
    """A small hand-made chain; every column has one entry per row."""
    n = len(next(iter(overrides.values())))
    base = {"ticker": ["XYZ"] * n, "side": ["put"] * n, "expiration": [date(2026, 12, 18)] * n,
            "strike": [100.0] * n, "bid": [1.0] * n, "ask": [1.1] * n, "last": [1.05] * n, "volume": [10] * n,
            "open_interest": [100] * n, "iv": [np.nan] * n, "delta": [-0.1] * n, "underlying_price": [110.0] * n,
            "quote_date": [date(2026, 11, 30)] * n, "option_symbol": ["XYZ   261218P00100000"] * n}
    return pd.DataFrame({**base, **overrides})


AS_OF = date(2026, 11, 30)  # chain()'s expiration is 18 days later


def test_aapl_put_by_hand(aapl: pd.DataFrame) -> None:
    result = screen(aapl, Criteria(), AAPL_QUOTE_DATE)
    put = row(result, "put", 165)  # bid 0.92, ask 0.95, delta -0.151, underlying 175.13
    assert put.expiration == pd.Timestamp("2023-06-16")
    assert put.dte == 26  # 2023-05-21 -> 2023-06-16
    assert put.annualized_return_pct == pytest.approx(7.827506, abs=1e-6)  # 0.92 / 165 / 26 * 365 * 100 = 33580 / 4290
    assert put.change_pct == pytest.approx(6.139394, abs=1e-6)  # (175.13 - 165) / 165 * 100 = 1013 / 165
    assert put.otm_pct == pytest.approx(5.784275, abs=1e-6)  # (175.13 - 165) / 175.13 * 100 = 1013 / 175.13
    assert put.mid == pytest.approx(0.935)  # (0.92 + 0.95) / 2
    assert put.spread_pct == pytest.approx(3.208556, abs=1e-6)  # 0.03 / 0.935 * 100
    assert put.premium == pytest.approx(92.0)  # 0.92 * 100
    assert put.collateral == pytest.approx(16500.0)
    assert put.break_even == pytest.approx(164.08)  # 165 - 0.92
    assert put.prob_otm == pytest.approx(0.849)  # 1 - 0.151
    assert put.volume == 13154 and put.open_interest == 82643
    assert put.quote_date == pd.Timestamp("2023-05-21")  # `updated` 1684702875 is 17:01 EDT on the 21st


def test_aapl_call_by_hand(aapl: pd.DataFrame) -> None:
    call = row(screen(aapl, Criteria(side="call"), AAPL_QUOTE_DATE), "call", 180)  # bid 1.77, ask 1.81, delta 0.328
    assert call.annualized_return_pct == pytest.approx(13.804487, abs=1e-6)  # 1.77 * 36500 / (180 * 26) = 64605 / 4680
    assert call.change_pct == pytest.approx(-2.705556, abs=1e-6)  # (175.13 - 180) / 180 * 100
    assert call.otm_pct == pytest.approx(2.780791, abs=1e-6)  # (180 - 175.13) / 175.13 * 100 = 487 / 175.13
    # covered: the shares cost the stock price, and the seller loses below what they cost less the premium
    assert call.collateral == pytest.approx(17513.0)  # 175.13 * 100
    assert call.break_even == pytest.approx(173.36)  # 175.13 - 1.77
    assert call.spread_pct == pytest.approx(2.234637, abs=1e-6)  # 0.04 / 1.79 * 100


def test_covered_call_and_cash_secured_put_by_hand() -> None:
    # S = 100: a call at K = 105 (bid 1.20) and a put at K = 95 (bid 0.80), each 5 % out of the money.
    frame = chain(side=["call", "put"], strike=[105.0, 95.0], bid=[1.20, 0.80], ask=[1.30, 0.90],
                  delta=[0.15, -0.15], underlying_price=[100.0, 100.0])
    call, put = screen(frame, Criteria(side="both"), AS_OF).itertuples()
    assert call.side == "call" and put.side == "put"
    assert call.collateral == pytest.approx(10_000.0)  # S * 100: 100 shares bought at 100
    assert call.break_even == pytest.approx(98.80)  # S - bid = 100 - 1.20
    assert call.otm_pct == pytest.approx(5.0)  # (K - S) / S * 100 = 5 / 100 * 100
    assert call.change_pct == pytest.approx(-4.761905, abs=1e-6)  # the original (S - K) / K * 100 = -5 / 105 * 100
    assert call.annualized_return_pct == pytest.approx(23.174603, abs=1e-6)  # still on K: 1.2 * 36500 / (105 * 18)
    assert put.collateral == pytest.approx(9_500.0)  # K * 100
    assert put.break_even == pytest.approx(94.20)  # K - bid = 95 - 0.80
    assert put.otm_pct == pytest.approx(5.0)  # (S - K) / S * 100 = 5 / 100 * 100
    assert put.change_pct == pytest.approx(5.263158, abs=1e-6)  # (S - K) / K * 100 = 5 / 95 * 100


def test_an_empty_chain_screens_to_str_text_columns_the_store_can_encode() -> None:
    """A source answering only expirations not asked for leaves a ticker no rows, in object columns: its screened
    frame must still encode (it failed the ticker with an Arrow error)."""
    result = screen(chain(ticker=[]), Criteria(side="both"), AS_OF)
    assert result.empty and result["ticker"].dtype == "str" and result["option_symbol"].dtype == "str"
    (payload,) = encode_groups(result, [np.arange(0)])
    assert to_frame(decode_payload(payload)).empty


def test_a_missing_underlying_price_leaves_what_rests_on_it_empty() -> None:
    frame = chain(side=["call", "put", "call"], strike=[105.0, 95.0, 105.0], underlying_price=[None, None, 0.0])
    result = screen(frame, Criteria(side="both"), AS_OF).set_index(["side", "strike"])
    assert result.otm_pct.isna().all()
    assert result.loc["call", ["collateral", "break_even"]].isna().all().all()  # a call rests on S
    assert result.loc[("put", 95.0), "collateral"] == pytest.approx(9_500.0)  # a put on K alone
    assert result.loc[("put", 95.0), "break_even"] == pytest.approx(94.0)


def test_aapl_matches(aapl: pd.DataFrame) -> None:
    # The original rules find nothing in this quiet chain (the best OTM put earns 7.8 % a year).
    assert not screen(aapl, Criteria(side="both"), AAPL_QUOTE_DATE).match.any()
    # Loosened: put 165 (7.83 %, delta -0.151) passes; put 170 (14.37 %) fails on delta -0.272;
    # put 160 earns only 0.52 * 36500 / (160 * 26) = 4.56 %.
    loose = Criteria(side="both", min_put_annualized=7.0, min_call_annualized=4.0)
    result = screen(aapl, loose, AAPL_QUOTE_DATE)
    matched = result[result.match]
    # Call 185 (0.57 * 36500 / (185 * 26) = 4.33 %, delta 0.147) passes; call 180 has delta 0.328, above
    # the 0.32 limit for 22-28 DTE; call 190 earns 0.18 * 36500 / (190 * 26) = 1.33 %.
    assert list(zip(matched.side, matched.strike, strict=True)) == [("call", 185.0), ("put", 165.0)]
    assert len(result) == 92


def test_aapl_put_only_criteria_never_match_calls(aapl: pd.DataFrame) -> None:
    result = screen(aapl, Criteria(side="put", min_put_annualized=7.0, min_call_annualized=0.0), AAPL_QUOTE_DATE)
    assert not result[result.side == "call"].match.any()


def test_result_shape_order_and_dtypes(aapl: pd.DataFrame) -> None:
    shuffled = aapl.sample(frac=1, random_state=7)
    result = screen(shuffled, Criteria(), AAPL_QUOTE_DATE)
    assert tuple(result.columns) == RESULT_COLUMNS
    assert result.match.dtype == bool
    assert str(result.expiration.dtype) == "datetime64[s]"
    assert str(result.dte.dtype) == "Int64" and str(result.volume.dtype) == "Int64"
    assert list(result.side) == ["call"] * 46 + ["put"] * 46
    assert result.strike.is_monotonic_increasing is False  # resets per side
    assert list(result[result.side == "put"].strike) == sorted(aapl[aapl.side == "put"].strike)
    assert result.index.equals(pd.RangeIndex(92))
    pd.testing.assert_frame_equal(result, screen(aapl, Criteria(), AAPL_QUOTE_DATE))


def test_sorted_by_ticker_side_expiration_strike() -> None:
    frame = chain(ticker=["B", "A", "A", "A", "B"], side=["put", "put", "call", "put", "call"],
                  expiration=[date(2026, 12, 18), date(2026, 12, 24), date(2026, 12, 18), date(2026, 12, 18),
                              date(2026, 12, 18)],
                  strike=[90.0, 80.0, 120.0, 95.0, 130.0])
    result = screen(frame, Criteria(), AS_OF)
    assert list(zip(result.ticker, result.side, result.strike, strict=True)) == [
        ("A", "call", 120.0), ("A", "put", 95.0), ("A", "put", 80.0), ("B", "call", 130.0), ("B", "put", 90.0)]


@pytest.mark.parametrize("strikes", [[95.0, 100.0], [100.0, 95.0], ["95", "100"]])  # sorted, unsorted, coerced
def test_input_is_neither_changed_nor_shared(strikes: list) -> None:
    frame = chain(strike=strikes, delta=[np.nan, -0.1], iv=[0.3, 0.3])
    before = frame.copy()
    result = screen(frame, Criteria(), AS_OF)
    for column in result.columns:
        result.loc[0, column] = result.loc[1, column]  # every column is writable
    different = {"ticker": "ZZZ", "side": "call", "expiration": pd.Timestamp("2027-01-15"), "strike": 1.0, "bid": 99.0,
                 "ask": 98.0, "last": 97.0, "volume": 7, "open_interest": 8, "iv": 0.9, "delta": -0.9,
                 "underlying_price": 1.0, "quote_date": pd.Timestamp("2027-01-04"), "option_symbol": "Z"}
    for position in (0, 1):
        result.loc[position, list(different)] = list(different.values())
    pd.testing.assert_frame_equal(frame, before)


@pytest.mark.parametrize(("dte", "limit"), [(0, 0.20), (7, 0.20), (8, 0.24), (14, 0.24), (15, 0.28), (21, 0.28),
                                             (22, 0.32), (28, 0.32), (29, 0.36), (400, 0.36)])
def test_call_delta_table_boundaries(dte: int, limit: float) -> None:
    assert call_delta_limit(np.array([dte]), Criteria())[0] == limit
    expiration = date.fromordinal(AS_OF.toordinal() + dte)
    # A bid rich enough to pass 20 % a year at any DTE, delta exactly at the limit, then just above it.
    frame = chain(side=["call", "call"], strike=[100.0, 100.0], bid=[30.0, 30.0], ask=[31.0, 31.0],
                  delta=[limit, limit + 0.001], expiration=[expiration, expiration])
    assert list(screen(frame, Criteria(side="call"), AS_OF).match) == [True, False]


def test_call_delta_limit_missing_dte_is_nan() -> None:
    assert np.isnan(call_delta_limit(np.array([np.nan]), Criteria())[0])


def test_put_rules() -> None:
    # 18 DTE, strike 100: annualized = bid * 365 * 100 / (100 * 18) = bid * 20.2778; 30 % needs bid >= 1.4795.
    frame = chain(bid=[1.48, 1.47, 2.0, 2.0], delta=[-0.2, -0.1, -0.2001, -0.05])
    result = screen(frame, Criteria(), AS_OF)
    assert result.annualized_return_pct.iloc[0] == pytest.approx(30.011111, abs=1e-6)  # 1.48 * 36500 / 1800
    assert list(result.match) == [True, False, False, True]


def test_missing_delta_never_matches() -> None:
    frame = chain(bid=[5.0] * 4, delta=[None, np.nan, "", "n/a"])
    result = screen(frame, Criteria(), AS_OF)
    assert result.delta.isna().all()
    assert not result.match.any()
    assert result.prob_otm.isna().all()


def test_delta_filled_from_iv_when_missing() -> None:
    frame = chain(side=["put", "call", "put", "put"], strike=[100.0, 120.0, 100.0, 100.0],
                  delta=[np.nan, None, np.nan, -0.3], iv=[0.4, 0.35, 7.0, 0.4])
    result = screen(frame, Criteria(side="both"), AS_OF).set_index(["side", "strike"]).sort_index()
    t = blackscholes.year_fraction(18)
    assert result.loc[("call", 120.0), "delta"] == pytest.approx(blackscholes.delta("call", 110, 120, t, 0.35))
    puts = result.loc["put"]
    assert puts.delta.iloc[0] == pytest.approx(blackscholes.delta("put", 110, 100, t, 0.4))
    assert math.isnan(puts.delta.iloc[1])  # IV 700 % is junk: no delta made up from it
    assert puts.delta.iloc[2] == -0.3  # a given delta is kept
    assert -0.2 < puts.delta.iloc[0] < -0.1  # 10 % OTM, 18 days, 40 % vol: a plausible delta


def test_zero_negative_and_missing_strikes() -> None:
    frame = chain(strike=[0.0, -100.0, None, "abc"], bid=[5.0] * 4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = screen(frame, Criteria(), AS_OF)
    assert not result.match.any()
    for column in ("annualized_return_pct", "change_pct", "collateral", "break_even"):
        assert result[column].isna().all(), column
    assert (result.premium == 500.0).all()  # the bid alone is still known


def test_negative_bid_never_matches() -> None:
    result = screen(chain(bid=[-1.0], delta=[-0.05]), Criteria(min_put_annualized=-100.0), AS_OF)
    assert result.annualized_return_pct.iloc[0] == 0.0
    assert not result.match.iloc[0]


def test_strings_in_numeric_columns() -> None:
    frame = chain(strike=["100", " 95.5"], bid=["1.50", "2"], ask=["1.60", None], delta=["-0.1", "-0.15"],
                  volume=["12", "x"], open_interest=[None, "3"], underlying_price=["110", "110"])
    result = screen(frame, Criteria(), AS_OF)
    assert list(result.strike) == [95.5, 100.0]
    assert result.bid.tolist() == [2.0, 1.5]
    assert result.volume.tolist() == [pd.NA, 12]
    assert result.open_interest.tolist() == [3, pd.NA]
    assert math.isnan(result.spread_pct.iloc[0])  # no ask
    assert result.annualized_return_pct.iloc[1] == pytest.approx(1.5 * 36500 / 1800)
    assert result.match.tolist() == [True, True]


def test_expiration_formats() -> None:
    same_day = [date(2026, 12, 18), datetime(2026, 12, 18, 16, 0), "2026-12-18", 1797627600,  # 16:00 EST in unix s
                datetime(2026, 12, 18, 21, 0, tzinfo=ZoneInfo("UTC")), pd.Timestamp("2026-12-18")]
    result = screen(chain(expiration=same_day, strike=[100.0 - i for i in range(6)]), Criteria(), AS_OF)
    assert (result.expiration == pd.Timestamp("2026-12-18")).all()
    assert (result.dte == 18).all()
    as_datetime64 = chain(expiration=pd.to_datetime(["2026-12-18 00:00", "2026-12-18 16:00"]), strike=[1.0, 2.0])
    assert (screen(as_datetime64, Criteria(), AS_OF).dte == 18).all()
    unreadable = screen(chain(expiration=[None, "soon", True]), Criteria(), AS_OF)
    assert unreadable.expiration.isna().all() and unreadable.dte.isna().all() and not unreadable.match.any()


def test_expired_contract_never_matches() -> None:
    assert not screen(chain(expiration=[date(2026, 11, 27)], bid=[5.0]), Criteria(), AS_OF).match.iloc[0]


def test_odd_sides_are_normalized() -> None:
    result = screen(chain(side=[" Put", "CALL", "straddle", None], strike=[90.0, 120.0, 100.0, 101.0]),
                    Criteria(side="both"), AS_OF)
    assert result.side.tolist()[:2] == ["call", "put"]
    assert result.side.iloc[2:].isna().all()
    for column in ("collateral", "break_even", "otm_pct"):  # they rest on the side
        assert result[column].iloc[2:].isna().all(), column


def test_empty_and_columnless_input() -> None:
    for frame in (pd.DataFrame(columns=list(CHAIN_COLUMNS)), pd.DataFrame()):
        result = screen(frame, Criteria(), AS_OF)
        assert tuple(result.columns) == RESULT_COLUMNS and result.empty
        assert result.match.dtype == bool


def test_missing_delta_column_uses_iv() -> None:
    frame = chain(iv=[0.4]).drop(columns=["delta"])
    assert screen(frame, Criteria(), AS_OF).delta.notna().all()


def test_criteria_round_trip_and_request() -> None:
    criteria = Criteria(side="both", weeks=6, call_delta_table=((5, 0.1), (30, 0.3)))
    data = json.loads(json.dumps(criteria.to_dict()))
    assert Criteria.from_dict(data) == criteria
    assert criteria.sides == ("put", "call")
    assert Criteria().sides == ("put",) and Criteria(side="call").sides == ("call",)
    assert criteria.chain_request(AS_OF) == ChainRequest(sides=("put", "call"), weeks=6, strike_limit=15, as_of=AS_OF)
    assert Criteria.from_dict({"side": " Call ", "weeks": "3", "min_put_annualized": "25"}) == \
        Criteria(side="call", weeks=3, min_put_annualized=25.0)


@pytest.mark.parametrize(("data", "message"), [
    ({"side": "straddle"}, "side must be one of"),
    ({"weeks": 0}, "weeks must be between 1 and 52"),
    ({"weeks": 53}, "weeks must be between 1 and 52"),
    ({"weeks": 2.5}, "weeks must be a whole number"),
    ({"weeks": True}, "weeks must be a number"),
    ({"strike_limit": 51}, "strike_limit must be between 1 and 50"),
    ({"min_put_annualized": float("nan")}, "min_put_annualized must be a finite number"),
    ({"min_call_annualized": "lots"}, "min_call_annualized must be a number"),
    ({"put_delta_floor": 0.2}, "put_delta_floor must be between"),
    ({"call_delta_table": [[14, 0.2], [7, 0.3]]}, "strictly increasing"),
    ({"call_delta_table": [[7]]}, "call_delta_table must be a list of"),
    ({"call_delta_table": []}, "at least one"),
    ({"colour": "red"}, "unknown criteria field"),
])
def test_criteria_validation(data: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Criteria.from_dict(data)


ATTACK_SYMBOLS = ["=cmd|' /C calc'!A0", "+1+1", "@SUM(A1)", "\r=1+1", "\n=1+1", "－1+1", "AAPL261218P200"]


def test_rows_whose_ticker_or_option_symbol_has_no_known_shape_are_unusable(aapl: pd.DataFrame) -> None:
    chain = aapl.copy()
    bad = len(ATTACK_SYMBOLS) + 1
    chain.loc[: len(ATTACK_SYMBOLS) - 1, "option_symbol"] = ATTACK_SYMBOLS
    chain.loc[len(ATTACK_SYMBOLS), "ticker"] = "=HYPERLINK(\"http://x\")"
    chain.loc[len(ATTACK_SYMBOLS) + 1, "option_symbol"] = "AAPL  230526P00110000"  # Schwab's padded root: kept
    result = screen(chain, Criteria(side="both"), AAPL_QUOTE_DATE)
    dropped = result[unusable(result)]
    assert len(dropped) == bad
    assert set(dropped["reason"]) == {"unusable row: malformed ticker or option symbol"}
    assert not dropped["match"].any()
    assert result[~unusable(result)]["option_symbol"].str.fullmatch(r"AAPL *\d{6}[CP]\d{8}").all()
