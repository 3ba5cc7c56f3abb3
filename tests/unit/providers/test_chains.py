"""The shared chain steps: numpy `nearest_otm` against a plain pandas statement of the same rule, deltas from IV
(one owner for providers and screening), and MarketData's `chain_frame` on junk payloads."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanner.market import blackscholes
from scanner.providers.chains import fill_delta, nearest_otm, normalized, occ_parts
from scanner.providers.marketdata import chain_frame
from scanner.scan.criteria import Criteria
from scanner.scan.screening import screen
from scanner.schema import CHAIN_COLUMNS, SIDES

AS_OF = date(2026, 11, 30)


def nearest_otm_by_pandas(frame: pd.DataFrame, sides: tuple[str, ...], strike_limit: int) -> pd.DataFrame:
    """The rule as groupby, rank and sort_values say it (what nearest_otm did before it was numpy)."""
    spot, strike, side = frame["underlying_price"], frame["strike"], frame["side"]
    otm = ((side == "put") & (strike < spot)) | ((side == "call") & (strike > spot)) | spot.isna()
    rows = frame[otm.fillna(False).astype(bool) & side.isin(sides).fillna(False).astype(bool)]
    distance = (rows["strike"] - rows["underlying_price"]).abs()
    rank = distance.groupby([rows["ticker"], rows["side"], rows["expiration"]], dropna=False).rank(method="first")
    kept = rows[rank.isna() | (rank <= strike_limit)]
    return kept.sort_values(["ticker", "side", "expiration", "strike"], ignore_index=True, kind="stable")


@st.composite
def chains(draw: st.DrawFn) -> pd.DataFrame:
    """Few distinct values, so groups, equal distances and duplicate strikes are common."""
    rows = draw(st.integers(0, 40))

    def pick(values: list) -> list:
        return [draw(st.sampled_from(values)) for _ in range(rows)]

    return pd.DataFrame({
        "ticker": pd.Series(pick(["AAPL", "MSFT", None]), dtype="string"),
        "side": pd.Series(pick(["put", "call", None, "straddle"]), dtype="string"),
        "expiration": np.array(pick([date(2026, 12, 4), date(2026, 12, 11), None]), dtype=object),
        "strike": pick([95.0, 97.5, 99.0, 100.0, 101.0, 102.5, 105.0, np.nan]),
        "underlying_price": pick([99.5, 100.0, np.nan]),
        "row": range(rows),
    })


@settings(max_examples=400, deadline=None)
@given(chains(), st.sampled_from([("put",), ("call",), SIDES]), st.integers(1, 5))
def test_nearest_otm_keeps_and_orders_rows_as_the_pandas_statement_of_the_rule(
        frame: pd.DataFrame, sides: tuple[str, ...], strike_limit: int) -> None:
    kept = nearest_otm(frame, sides, strike_limit)
    assert kept["row"].tolist() == nearest_otm_by_pandas(frame, sides, strike_limit)["row"].tolist()
    assert list(kept.columns) == list(frame.columns) and kept.index.equals(pd.RangeIndex(len(kept)))


def chain_without_deltas() -> pd.DataFrame:
    """A normalized chain 18 days out: two rows to derive a delta for, one with a junk IV, one with a delta."""
    return normalized(pd.DataFrame({
        "ticker": "XYZ", "side": ["put", "call", "put", "put"], "expiration": date(2026, 12, 18),
        "strike": [100.0, 120.0, 95.0, 90.0], "bid": 1.0, "ask": 1.1, "iv": [0.4, 0.35, 7.0, 0.3],
        "delta": [np.nan, np.nan, np.nan, -0.05], "underlying_price": 110.0, "quote_date": AS_OF,
        "option_symbol": ["P100", "C120", "P95", "P90"]}))


def test_fill_delta_uses_the_configured_rate_and_dividend_yield() -> None:
    filled = fill_delta(chain_without_deltas(), AS_OF, rate=0.05, dividend_yield=0.01, iv_from_mid=False)
    t = blackscholes.year_fraction(18)
    assert filled.delta.iloc[0] == pytest.approx(blackscholes.delta("put", 110, 100, t, 0.4, 0.05, 0.01), rel=1e-12)
    assert filled.delta.iloc[1] == pytest.approx(blackscholes.delta("call", 110, 120, t, 0.35, 0.05, 0.01), rel=1e-12)
    assert np.isnan(filled.delta.iloc[2]) and filled.delta.iloc[3] == -0.05  # junk IV: none; a given one is kept


def test_screening_keeps_a_providers_deltas_and_derives_missing_ones_as_fill_delta_does_at_the_default_rate() -> None:
    chain = chain_without_deltas()
    by_symbol = screen(chain, Criteria(side="both"), AS_OF).set_index("option_symbol").delta
    default = fill_delta(chain, AS_OF, blackscholes.DEFAULT_RATE, 0.0, iv_from_mid=False).set_index("option_symbol")
    pd.testing.assert_series_equal(by_symbol.sort_index(), default.delta.sort_index(), check_exact=True)
    configured = fill_delta(chain, AS_OF, rate=0.05, dividend_yield=0.01, iv_from_mid=False)
    assert (configured.delta.to_numpy()[:2] != default.delta.to_numpy()[:2]).all()  # the rate shows in the deltas
    rescreened = screen(configured, Criteria(side="both"), AS_OF).set_index("option_symbol").delta
    pd.testing.assert_series_equal(rescreened.sort_index(), configured.set_index("option_symbol").delta.sort_index(),
                                   check_exact=True)


JUNK = st.one_of(st.none(), st.just(float("nan")), st.text(max_size=4), st.integers(-10**6, 10**6),
                 st.floats(allow_nan=False), st.lists(st.integers(), max_size=2), st.booleans())


@st.composite
def payloads(draw: st.DrawFn) -> dict:
    """A MarketData chain whose fields hold junk entries, or lists of the wrong length."""
    n = draw(st.integers(0, 8))
    fields = ["underlying", "side", "expiration", "strike", "bid", "ask", "last", "volume", "openInterest", "iv",
              "delta", "underlyingPrice", "updated"]
    payload: dict = {"s": "ok", "optionSymbol": [draw(st.one_of(st.just("AAPL230616P00165000"), JUNK))
                                                  for _ in range(n)]}
    for field in draw(st.sets(st.sampled_from(fields))):
        length = draw(st.sampled_from([n, n, n + 1]))
        payload[field] = [draw(st.one_of(st.sampled_from(["put", "Call", "aapl", 1700000000, 165.0]), JUNK))
                          for _ in range(length)]
    return payload


@settings(max_examples=300, deadline=None)
@given(payloads())
def test_chain_frame_reads_any_junk_as_normalized_rows(payload: dict) -> None:
    frame = chain_frame(payload, "AAPL")
    assert tuple(frame.columns) == CHAIN_COLUMNS and len(frame) == len(payload["optionSymbol"])
    assert all(frame[name].dtype == np.float64 for name in ("strike", "bid", "ask", "iv", "delta", "underlying_price"))
    texts = frame["side"].dropna()
    tickers = frame["ticker"].dropna()
    assert (texts == texts.str.lower()).all() and (tickers == tickers.str.upper()).all()
    occ = frame["option_symbol"] == "AAPL230616P00165000"
    assert frame.loc[occ, "side"].isin(SIDES).all() and frame.loc[occ, "strike"].notna().all()  # read from the symbol
    assert frame.loc[occ, "expiration"].notna().all() and frame.loc[occ, "ticker"].notna().all()


def test_occ_parts_read_expiration_side_and_strike_and_leave_other_shapes_empty() -> None:
    symbols = pd.Series(["AAPL261204P00190000", "SPXW  261218C05000500", "BRK.B261204C00480000", "AAPL261204X00190000",
                         "=cmd|x", None])
    parts = occ_parts(symbols)
    assert parts.iloc[:3].to_dict("records") == [
        {"expiration": date(2026, 12, 4), "side": "put", "strike": 190.0},
        {"expiration": date(2026, 12, 18), "side": "call", "strike": 5000.5},
        {"expiration": date(2026, 12, 4), "side": "call", "strike": 480.0}]
    assert parts.iloc[3:].isna().all().all()
