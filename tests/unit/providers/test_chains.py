"""The shared chain steps: numpy `nearest_otm` against a plain pandas statement of the same rule, and
MarketData's `chain_frame` on junk payloads."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from scanner.providers.chains import nearest_otm
from scanner.providers.marketdata import chain_frame
from scanner.schema import CHAIN_COLUMNS, SIDES


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
    assert (texts == texts.str.lower()).all() and (frame["ticker"].dropna() == frame["ticker"].dropna().str.upper()).all()
    occ = frame["option_symbol"] == "AAPL230616P00165000"
    assert frame.loc[occ, "side"].isin(SIDES).all() and frame.loc[occ, "strike"].notna().all()  # read from the symbol
    assert frame.loc[occ, "expiration"].notna().all() and frame.loc[occ, "ticker"].notna().all()
