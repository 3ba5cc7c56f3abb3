"""The screening arithmetic: per-contract metrics and the put/call match rules (DESIGN "Screening").

Every number the dashboard shows about a contract is computed here, once, so a provider's quirks
(strings for numbers, nulls, missing greeks) are absorbed in one place. The original app let a null
delta pass the put filter; here a missing delta can never match.

A scan screens one ticker at a time, 60 to 5,000 rows. What makes that fast is coercing each input
column once to a numpy array; after that every metric and rule is one plain whole-column expression.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.extensions import ExtensionArray

from scanner.market.calendar import NY
from scanner.providers.chains import deltas_from_iv
from scanner.scan.criteria import Criteria
from scanner.schema import CHAIN_COLUMNS, RESULT_COLUMNS, SIDES, Kind, Role, names

_FLOAT_INPUTS = names(roles=(Role.CHAIN,), kinds=(Kind.FLOAT,))
_COUNT_INPUTS = names(roles=(Role.CHAIN,), kinds=(Kind.INT,))
_DATE_INPUTS = names(roles=(Role.CHAIN,), kinds=(Kind.DATE,))
_TEXT_INPUTS = tuple(name for name in names(roles=(Role.CHAIN,), kinds=(Kind.TEXT,)) if name != "side")  # side: _sides
_SIDE_ORDER = tuple(sorted(SIDES))  # output sort order of sides: call, put
_CALL, _PUT, _NO_SIDE = _SIDE_ORDER.index("call"), _SIDE_ORDER.index("put"), len(_SIDE_ORDER)
_NAT = np.datetime64("NaT", "D")


def call_delta_limit(dte: Any, criteria: Criteria) -> np.ndarray:
    """The highest call delta that matches at each DTE: the first table row whose bound is >= dte (NaN for no DTE)."""
    dte = np.asarray(dte, dtype=float)
    row = np.zeros(dte.shape, dtype=np.intp)
    for bound, _ in criteria.call_delta_table:  # one vectorized pass per table row (a handful)
        row += dte > bound
    row[np.isnan(dte)] = len(criteria.call_delta_table) + 1
    limits = [limit for _, limit in criteria.call_delta_table] + [criteria.call_delta_beyond, np.nan]
    return np.array(limits)[row]


def _floats(column: pd.Series | None, n: int) -> np.ndarray:
    """The column as float64, NaN for anything missing, non-numeric or infinite."""
    if column is None:
        return np.full(n, np.nan)
    if not pd.api.types.is_numeric_dtype(column.dtype):
        column = pd.to_numeric(column.astype(object), errors="coerce")
    values = column.to_numpy(dtype=float, na_value=np.nan)
    return np.where(np.isinf(values), np.nan, values)


def _counts(column: pd.Series | None, n: int) -> pd.arrays.IntegerArray:
    """Whole numbers, missing kept missing (a volume of 1070.0 reads like a price)."""
    if column is not None and pd.api.types.is_signed_integer_dtype(column.dtype):  # int64 or Int64: kept exact
        return column.array.astype("Int64")
    values = _floats(column, n)
    missing = ~(np.abs(values) < 2.0**53)  # NaN, and values no int64 holds exactly
    return pd.arrays.IntegerArray(np.where(missing, 0, np.round(values)).astype(np.int64), missing)


def _one_date(value: Any) -> np.datetime64:
    """One expiration-like value (date, datetime, ISO string, unix seconds) as its New York date.

    A naive datetime is taken as already in New York time.
    """
    try:
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                value = pd.Timestamp(value.strip())
        if value is None or value is pd.NaT or isinstance(value, (bool, np.bool_)):
            return _NAT
        if isinstance(value, (int, float, np.integer, np.floating)):
            return np.datetime64(datetime.fromtimestamp(float(value), NY).date())
        if isinstance(value, datetime):
            return np.datetime64(value.astimezone(NY).date() if value.tzinfo else value.date())
        if isinstance(value, date):
            return np.datetime64(value)
    except (ValueError, OverflowError, OSError, TypeError):
        pass
    return _NAT


def _dates(column: pd.Series | None, n: int) -> np.ndarray:
    """The column as New York dates (datetime64[D], NaT where unreadable). Naive datetimes are taken as New York
    time and cut to the day; anything else is converted once per distinct value (a chain has a handful)."""
    if column is None:
        return np.full(n, _NAT)
    if pd.api.types.is_datetime64_dtype(column.dtype):  # naive only: tz-aware dtypes are not numpy dtypes
        return column.to_numpy().astype("datetime64[D]")  # numpy floors to the day, before 1970 too
    codes, uniques = column.array.factorize()
    return np.array([*map(_one_date, uniques), _NAT], dtype="datetime64[D]")[codes]  # code -1 (missing): NaT


def _sides(column: pd.Series | None, n: int) -> tuple[np.ndarray, ExtensionArray]:
    """(per row, the position of its side in _SIDE_ORDER or _NO_SIDE; the output column: "put", "call" or missing).

    Values are normalized once per distinct value (" Put" is a put, "straddle" is neither); a column that
    already holds only "put" and "call" is kept as it is, like the other text columns.
    """
    if column is None:
        return np.full(n, _NO_SIDE), pd.array([None] * n, dtype="str")
    codes, uniques = column.array.factorize()
    cleaned = [value.strip().lower() if isinstance(value, str) else None for value in uniques]
    lookup = np.array([_SIDE_ORDER.index(side) if side in _SIDE_ORDER else _NO_SIDE for side in cleaned] + [_NO_SIDE])
    side_index = lookup[codes]
    if (codes >= 0).all() and all(value in SIDES for value in uniques):
        return side_index, column.array.copy()
    return side_index, pd.array([*_SIDE_ORDER, None], dtype="str")[side_index]


def _ticker_rank(column: pd.Series | None, n: int) -> np.ndarray:
    """Per row, its ticker's place in text order; missing tickers last."""
    if column is None:
        return np.zeros(n, dtype=np.intp)
    codes, uniques = column.array.factorize()
    texts = [str(value) for value in uniques]
    place = {text: rank for rank, text in enumerate(sorted(set(texts)))}
    return np.array([place[text] for text in texts] + [len(uniques)])[codes]


def _metrics(side_index: np.ndarray, strike: np.ndarray, bid: np.ndarray, ask: np.ndarray, delta: np.ndarray,
             spot: np.ndarray, dte: np.ndarray) -> dict[str, np.ndarray]:
    """The float metric columns. A put (cash-secured) rests on its strike K, a call (covered, on shares bought at
    the underlying price S) on S; a row of neither side gets no collateral, break-even or OTM %. K and S are NaN
    where missing or <= 0, so what rests on them is too; the annualized return (the original rule, on K for both
    sides) is NaN where the DTE is unknown; a quote far out of scale overflows to inf, which `unusable` catches."""
    with np.errstate(all="ignore"):
        k = np.where(strike > 0, strike, np.nan)
        s = np.where(spot > 0, spot, np.nan)
        sides = [side_index == _PUT, side_index == _CALL]
        mid = (bid + ask) / 2
        return {
            "mid": mid,
            "spread_pct": np.where(mid > 0, (ask - bid) / mid * 100, np.nan),
            "premium": bid * 100,
            "collateral": np.select(sides, [k * 100, s * 100], np.nan),
            "break_even": np.select(sides, [k - bid, s - bid], np.nan),
            "prob_otm": 1 - np.abs(delta),
            "annualized_return_pct": np.maximum(bid, 0.0) / k / np.maximum(dte, 1) * 365 * 100,
            "change_pct": (spot - k) / k * 100,
            "otm_pct": np.select(sides, [(s - k) / s * 100, (k - s) / s * 100], np.nan),
        }


def _matches(criteria: Criteria, side_index: np.ndarray, strike: np.ndarray, bid: np.ndarray, delta: np.ndarray,
             dte: np.ndarray, annualized: np.ndarray) -> np.ndarray:
    """The put and call rules of the criteria's sides; never a missing delta (NaN compares false), a missing or
    non-positive strike, a negative bid, an expired contract or an unknown expiration (DTE NaN)."""
    wanted = np.zeros(len(side_index), dtype=bool)
    if "put" in criteria.sides:
        wanted |= ((side_index == _PUT) & (annualized >= criteria.min_put_annualized)
                   & (delta >= criteria.put_delta_floor))
    if "call" in criteria.sides:
        wanted |= ((side_index == _CALL) & (annualized >= criteria.min_call_annualized)
                   & (delta <= call_delta_limit(dte, criteria)))
    return wanted & (strike > 0) & (bid >= 0) & (dte >= 0)


def screen(chain: pd.DataFrame, criteria: Criteria, as_of: date) -> pd.DataFrame:
    """Every contract of `chain` with its metrics and `match`, as RESULT_COLUMNS.

    DTE counts calendar days from `as_of` (the provider's quote date). Output conventions:
    expiration and quote_date are datetime64[s] midnights of the New York date; side is "put",
    "call" or missing; volume, open_interest and dte are nullable Int64; a missing delta is derived
    from the IV (chains.deltas_from_iv at the default rate, when the provider has not done so with
    its configured one); rows are sorted by ticker, side (call before put), expiration (unknown
    first), strike, ties in input order. The result shares no writable memory with `chain`: every
    column is a new array, the text ones copied.
    """
    n = len(chain)
    source = {name: chain[name] for name in CHAIN_COLUMNS if name in chain}  # each column fetched once
    numbers = {name: _floats(source.get(name), n) for name in _FLOAT_INPUTS}
    dates = {name: _dates(source.get(name), n) for name in _DATE_INPUTS}
    side_index, side = _sides(source.get("side"), n)
    expiration = dates["expiration"]
    dte_days = (expiration - np.datetime64(as_of, "D")).astype(np.int64)
    expiration_known = ~np.isnat(expiration)
    dte = np.where(expiration_known, dte_days, np.nan)

    spot, strike, bid = numbers["underlying_price"], numbers["strike"], numbers["bid"]
    side_names = np.array([*_SIDE_ORDER, ""])[side_index]  # as Black-Scholes reads them: "" gets no delta
    delta = numbers["delta"] = deltas_from_iv(numbers["delta"], side_names, spot, strike, dte, numbers["iv"])
    metrics = _metrics(side_index, strike, bid, numbers["ask"], delta, spot, dte)
    columns: dict[str, Any] = {
        **{name: source[name].array.copy() if name in source else pd.array([None] * n, dtype="str")
           for name in _TEXT_INPUTS},
        **numbers,
        **{name: values.astype("datetime64[s]") for name, values in dates.items()},
        **{name: _counts(source.get(name), n) for name in _COUNT_INPUTS},
        "side": side,
        "dte": pd.arrays.IntegerArray(np.where(expiration_known, dte_days, 0), ~expiration_known),
        **metrics,
        "match": _matches(criteria, side_index, strike, bid, delta, dte, metrics["annualized_return_pct"]),
    }
    # NaT is the smallest int64 (unknown expirations first); lexsort puts NaN strikes last.
    order = np.lexsort((strike, expiration.view(np.int64), side_index, _ticker_rank(source.get("ticker"), n)))
    if not np.array_equal(order, np.arange(n)):  # providers send chains in this order: nothing to gather then
        columns = {name: values[order] for name, values in columns.items()}
    return pd.DataFrame({name: columns[name] for name in RESULT_COLUMNS}, index=pd.RangeIndex(n), copy=False)


def unusable(screened: pd.DataFrame) -> np.ndarray:
    """Rows no analyst can act on: no side, no expiration, no positive strike, a missing or negative bid, or
    a quote so far out of scale (a bid of 1e308) that its premium or annualized return overflows.

    The scan drops them before storing and counts them on the scan (``invalid_rows``).
    """
    if screened.empty:
        return np.zeros(0, dtype=bool)
    side = screened["side"].isin(SIDES).to_numpy(dtype=bool)
    dated = screened["expiration"].notna().to_numpy(dtype=bool)
    strike, bid, premium, annualized = (screened[name].to_numpy(dtype="float64", na_value=np.nan)
                                        for name in ("strike", "bid", "premium", "annualized_return_pct"))
    with np.errstate(invalid="ignore"):
        return ~(side & dated & (strike > 0) & (bid >= 0) & ~np.isinf(premium) & ~np.isinf(annualized))
