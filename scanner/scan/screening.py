"""The screening arithmetic: per-contract metrics and the put/call match rules (DESIGN "Screening").

Every number the dashboard shows about a contract is computed here, once, vectorized, so a
provider's quirks (strings for numbers, nulls, missing greeks) are absorbed in one place. The
original app let a null delta pass the put filter; here a missing delta can never match.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from scanner.market import blackscholes
from scanner.market.calendar import NY
from scanner.scan.criteria import Criteria
from scanner.schema import CHAIN_COLUMNS, RESULT_COLUMNS, SIDES

_FLOAT_INPUTS = ("strike", "bid", "ask", "last", "iv", "delta", "underlying_price")
_DATE_COLUMNS = ("expiration", "quote_date")
# Below this many rows, copying the unchanged columns costs less than pandas' work to share them.
_SHARE_FROM_ROWS = 4096
_TEXT_INPUTS = ("ticker", "option_symbol")
_DATE_DTYPE = "datetime64[s]"
_SIDE_ORDER = tuple(sorted(SIDES))  # output sort order of sides: call, put
_CALL, _PUT = _SIDE_ORDER.index("call"), _SIDE_ORDER.index("put")
_BREAK_EVEN_SIGN = np.array([1.0, -1.0, np.nan])  # by side index: call k + bid, put k - bid, neither NaN
_FLOAT_METRICS = ("mid", "spread_pct", "premium", "collateral", "break_even", "prob_otm", "annualized_return_pct",
                  "change_pct")
_TICKS_PER_DAY = {"s": 86_400, "ms": 86_400_000, "us": 86_400_000_000, "ns": 86_400_000_000_000}
_NAT = np.iinfo(np.int64).min  # NaT as an integer
_BLOCK_ROWS = 16384


def call_delta_limit(dte: Any, criteria: Criteria) -> np.ndarray:
    """The highest call delta that matches at each DTE: the first table row whose bound is >= dte."""
    dte = np.asarray(dte, dtype=float)
    row = np.zeros(dte.shape, dtype=np.intp)
    for bound, _ in criteria.call_delta_table:  # one vectorized pass per table row (a handful)
        row += dte > bound
    row[np.isnan(dte)] = len(criteria.call_delta_table) + 1
    limits = [limit for _, limit in criteria.call_delta_table] + [criteria.call_delta_beyond, np.nan]
    return np.array(limits)[row]


def _call_delta_lookup(criteria: Criteria) -> np.ndarray:
    """call_delta_limit for each whole DTE 0 .. last bound + 1; later DTEs share the last entry (take mode="clip")."""
    return call_delta_limit(np.arange(criteria.call_delta_table[-1][0] + 2), criteria)


def _float_column(column: pd.Series | None, n: int) -> np.ndarray:
    """The column as float64, NaN for anything missing, non-numeric or infinite (a read-only view if it was clean)."""
    if column is None:
        return np.full(n, np.nan)
    coerce = not pd.api.types.is_numeric_dtype(column.dtype)
    if coerce:
        column = pd.to_numeric(column.astype(object), errors="coerce")
    values = column.to_numpy(dtype=float, na_value=np.nan, copy=coerce)  # a coerced copy must be writable
    infinite = np.isinf(values)
    return np.where(infinite, np.nan, values) if infinite.any() else values


def _one_date(value: Any) -> np.datetime64:
    """One expiration-like value (date, datetime, ISO string, unix seconds) as its New York date."""
    try:
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                value = pd.Timestamp(value.strip())
        if value is None or value is pd.NaT or isinstance(value, (bool, np.bool_)):
            return np.datetime64("NaT")
        if isinstance(value, (int, float, np.integer, np.floating)):
            return np.datetime64(datetime.fromtimestamp(float(value), NY).date())
        if isinstance(value, datetime):
            return np.datetime64(value.astimezone(NY).date() if value.tzinfo else value.date())
        if isinstance(value, date):
            return np.datetime64(value)
    except (ValueError, OverflowError, OSError, TypeError):
        pass
    return np.datetime64("NaT")


def _floor_days(ticks: np.ndarray, per_day: int) -> tuple[np.ndarray, bool]:
    """(ticks // per_day, NaT kept as _NAT; whether every tick is a whole day), in cache-sized blocks."""
    days = np.empty(len(ticks), dtype=np.int64)
    missing = ticks == _NAT if len(ticks) and ticks.min() == _NAT else None
    whole_days = True
    for start in range(0, len(ticks), _BLOCK_ROWS):
        rows = slice(start, start + _BLOCK_ROWS)
        block = np.floor_divide(ticks[rows], per_day, out=days[rows])  # by a scalar: fast, unlike divmod
        if whole_days:
            exact = block * per_day == ticks[rows]
            if missing is not None:
                exact |= missing[rows]
            whole_days = bool(exact.all())
    if missing is not None:
        days[missing] = _NAT
    return days, whole_days


def _date_column(column: pd.Series | None, n: int) -> tuple[np.ndarray, np.ndarray, bool]:
    """(the column as New York calendar dates in days since 1970, _NAT where unreadable; the
    datetime64[s] output column; whether that output is the input's own memory).

    Naive datetime64 columns are taken as already in New York time and only truncated to the day
    (a datetime64[s] column of midnights is passed through as it is); anything else is converted
    once per distinct value (a chain has a handful of expirations).
    """
    if column is None:
        days = np.full(n, _NAT)
    elif pd.api.types.is_datetime64_dtype(column.dtype):  # naive only: tz-aware dtypes are not numpy dtypes
        values = column.to_numpy()
        unit, count = np.datetime_data(values.dtype)
        if unit in _TICKS_PER_DAY:
            days, whole_days = _floor_days(values.view(np.int64), _TICKS_PER_DAY[unit] * count)
            if whole_days and values.dtype == _DATE_DTYPE:
                return days, values, True
        else:
            days = values.astype("datetime64[D]").view(np.int64)
    else:
        codes, uniques = pd.factorize(column)
        lookup = np.array([_one_date(u) for u in uniques] + [np.datetime64("NaT")], dtype="datetime64[D]")
        days = lookup.view(np.int64)[codes]  # code -1 (missing) picks the trailing NaT
    return days, days.view("datetime64[D]").astype(_DATE_DTYPE), False


def _date_output(column: pd.Series | None, n: int) -> tuple[np.ndarray, bool]:
    """_date_column's output and shared flag alone; a quote date is usually one value, checked once."""
    if n and column is not None and column.dtype == _DATE_DTYPE:
        values = column.to_numpy()
        ticks = values.view(np.int64)
        first = ticks.min()
        if first != _NAT and first % _TICKS_PER_DAY["s"] == 0 and first == ticks.max():
            return values, True
    _, output, shared = _date_column(column, n)
    return output, shared


def _counts(column: pd.Series | None, n: int) -> pd.arrays.IntegerArray:
    """Whole numbers, missing kept missing (a volume of 1070.0 reads like a price)."""
    if column is not None and pd.api.types.is_signed_integer_dtype(column.dtype):
        if isinstance(column.dtype, np.dtype):  # one copy: the result must not share the input's buffer
            return pd.arrays.IntegerArray(column.to_numpy(dtype=np.int64, copy=True), np.zeros(n, dtype=bool))
        return column.astype("Int64").array.copy()  # astype may reuse the input's buffer
    values = _float_column(column, n)
    missing = ~(np.abs(values) < 2.0**53)  # NaN, and values no int64 holds exactly
    whole = np.round(values)
    whole[missing] = 0
    return pd.arrays.IntegerArray(whole.astype(np.int64), missing)


def _arrow_bools(result: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A pyarrow boolean (chunked) array as numpy bools, null as False, unpacked straight from its bitmaps."""
    if result.null_count:
        result = pc.fill_null(result, False)
    chunks = result.chunks if isinstance(result, pa.ChunkedArray) else [result]
    parts = [np.unpackbits(np.frombuffer(chunk.buffers()[1], dtype=np.uint8), count=chunk.offset + len(chunk),
                           bitorder="little")[chunk.offset:].view(bool) for chunk in chunks if len(chunk)]
    if len(parts) == 1:
        return parts[0]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=bool)


def _arrow_text(column: pd.Series) -> pa.Array | pa.ChunkedArray | None:
    """The pyarrow array behind a pyarrow-backed string column (no copy), else None."""
    dtype = column.dtype
    if isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow":
        return column.array.__arrow_array__()
    return None


def _equals(column: pd.Series, value: str) -> np.ndarray:
    """column == value as numpy bools, missing as False (pyarrow strings compare without pandas' boolean array)."""
    arrow = _arrow_text(column)
    if arrow is not None:
        return _arrow_bools(pc.equal(arrow, value))
    return (column == value).to_numpy(dtype=bool, na_value=False)


def _side_index(column: pd.Series | None, n: int) -> tuple[np.ndarray, bool]:
    """Per row, the position of its side in _SIDE_ORDER (len(_SIDE_ORDER) when neither), and
    whether the column already holds exactly "put"/"call".

    Two vectorized comparisons find the exact values; only the odd rest (" Put", None) is
    normalized value by value.
    """
    index = np.full(n, len(_SIDE_ORDER), dtype=np.int8)
    if column is None:
        return index, False
    matched = 0
    for position, name in enumerate(_SIDE_ORDER):
        found = _equals(column, name)
        np.copyto(index, position, where=found)
        matched += np.count_nonzero(found)
    if matched == n:
        return index, True
    rest = np.flatnonzero(index == len(_SIDE_ORDER))
    if rest.size:
        codes, uniques = pd.factorize(column.iloc[rest])
        names = [u.strip().lower() if isinstance(u, str) else None for u in uniques] + [None]
        lookup = [_SIDE_ORDER.index(n) if n in _SIDE_ORDER else len(_SIDE_ORDER) for n in names]
        index[rest] = np.array(lookup)[codes]
    return index, rest.size == 0


def _ticker_changes(ticker: pd.Series, arrow: pa.Array | pa.ChunkedArray | None) -> np.ndarray:
    """Per adjacent pair of rows, whether the ticker differs (`arrow`: the column's pyarrow array, if any)."""
    if arrow is not None:
        return _arrow_bools(pc.not_equal(arrow.slice(1), arrow.slice(0, len(ticker) - 1)))
    values = ticker.array
    return np.asarray(values[1:] != values[:-1], dtype=bool)


def _already_sorted(ticker: pd.Series, side_index: np.ndarray, exp_key: np.ndarray, strike: np.ndarray) -> bool:
    """True when rows are in (ticker, side, expiration, strike) order, checked on adjacent pairs in a few vector passes.

    Text is compared once on the whole column (where does the ticker change?), and (side,
    expiration) only where either changes; in between, strikes must not fall (NaN never passes,
    as the sort puts it last). Checking only at change points is what makes this cheap next to a sort.
    """
    if len(ticker) < 2:
        return True
    arrow = _arrow_text(ticker)
    if arrow.null_count if arrow is not None else ticker.hasnans:
        return False
    new_ticker = _ticker_changes(ticker, arrow)
    changes = np.flatnonzero(new_ticker)
    values = ticker.array
    try:
        if not np.asarray(values[changes + 1] > values[changes], dtype=bool).all():
            return False
    except TypeError:  # mixed types in an object column
        return False
    new_group = side_index[1:] != side_index[:-1]
    new_group |= exp_key[1:] != exp_key[:-1]
    ordered = strike[1:] >= strike[:-1]
    ordered |= new_group
    ordered |= new_ticker
    if not ordered.all():
        return False
    steps = np.flatnonzero(new_group & ~new_ticker)  # (side, expiration) changes within a ticker: must rise
    side_before, side_after = side_index[steps], side_index[steps + 1]
    return bool(((side_after > side_before) | ((side_after == side_before) & (exp_key[steps + 1] > exp_key[steps]))).all())


def _row_order(ticker: pd.Series, side_index: np.ndarray, exp_key: np.ndarray, strike: np.ndarray) -> np.ndarray | None:
    """Indices sorting rows by ticker, side, expiration, strike; None when they already are.

    Providers send chains in this order, and skipping the sort and the gather of every column is
    a large part of screen()'s speed on big frames.
    """
    if _already_sorted(ticker, side_index, exp_key, strike):
        return None
    codes, uniques = pd.factorize(ticker)
    _, rank = np.unique(np.array([str(u) for u in uniques], dtype=object), return_inverse=True)
    ticker_rank = np.append(rank, len(uniques))[codes]  # missing tickers (code -1) last
    return np.lexsort((strike, exp_key, ticker_rank * (len(_SIDE_ORDER) + 1) + side_index))


def _derived_deltas(delta: np.ndarray, side_index: np.ndarray, strike: np.ndarray, iv: np.ndarray,
                    spot: np.ndarray, dte_days: np.ndarray, no_expiration: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(rows, deltas): Black-Scholes deltas from iv for the rows whose delta is missing and whose iv is usable."""
    rows = np.flatnonzero(np.isnan(delta))
    if rows.size:
        iv_rows = iv[rows]
        rows = rows[(iv_rows > 0) & (iv_rows <= blackscholes.MAX_TRUSTED_IV) & (strike[rows] > 0)
                    & (side_index[rows] < len(_SIDE_ORDER))]
    if not rows.size:
        return rows, np.zeros(0)
    dte = dte_days[rows].astype(float)
    dte[no_expiration[rows]] = np.nan
    return rows, blackscholes.delta(np.where(side_index[rows] == _CALL, "call", "put"), spot[rows], strike[rows],
                                    blackscholes.year_fraction(dte), iv[rows])


def _block_metrics(criteria: Criteria, lookup: np.ndarray, out: dict[str, np.ndarray], side_index: np.ndarray,
                   strike: np.ndarray, bid: np.ndarray, ask: np.ndarray, delta: np.ndarray, spot: np.ndarray,
                   dte_days: np.ndarray, no_expiration: np.ndarray | None) -> None:
    """The metric columns and match of one block of rows, written into `out` (views of the result columns).

    In-place ufuncs evaluate each formula in the same order as the plain expression in its comment,
    so the figures are bit-for-bit those of the expression; the block's few temporaries stay in CPU cache.
    """
    strike_ok = strike > 0
    k = strike if strike_ok.all() else np.where(strike_ok, strike, np.nan)
    mid = np.add(bid, ask, out=out["mid"])  # (bid + ask) / 2
    mid /= 2
    spread = np.subtract(ask, bid, out=out["spread_pct"])  # (ask - bid) / mid * 100 where mid > 0, else NaN
    spread /= mid
    spread *= 100
    np.copyto(spread, np.nan, where=mid <= 0)  # a NaN mid already made the spread NaN
    np.multiply(bid, 100, out=out["premium"])
    np.multiply(k, 100, out=out["collateral"])
    break_even = np.multiply(bid, _BREAK_EVEN_SIGN[side_index], out=out["break_even"])  # call: k + bid, put: k - bid
    break_even += k
    prob_otm = np.abs(delta, out=out["prob_otm"])  # 1 - |delta|
    np.subtract(1, prob_otm, out=prob_otm)
    annualized = np.maximum(bid, 0.0, out=out["annualized_return_pct"])  # max(bid, 0) / k / max(dte, 1) * 365 * 100
    annualized /= k
    annualized /= np.maximum(dte_days, 1)  # whole days: exactly the float DTE
    annualized *= 365
    annualized *= 100
    if no_expiration is not None:
        np.copyto(annualized, np.nan, where=no_expiration)  # an unknown DTE (dte_days holds 0 there)
    change = np.subtract(spot, k, out=out["change_pct"])  # (spot - k) / k * 100
    change /= k
    change *= 100

    match = np.greater_equal(bid, 0, out=out["match"])
    match &= strike_ok
    match &= dte_days >= 0
    if no_expiration is not None:
        match &= ~no_expiration
    wanted = None
    if "put" in criteria.sides:
        wanted = side_index == _PUT
        wanted &= annualized >= criteria.min_put_annualized
        wanted &= delta >= criteria.put_delta_floor
    if "call" in criteria.sides:
        call = side_index == _CALL
        call &= annualized >= criteria.min_call_annualized
        call &= delta <= lookup.take(dte_days, mode="clip")  # a negative or unknown DTE never matches anyway
        wanted = call if wanted is None else np.logical_or(wanted, call, out=wanted)
    match &= wanted


def _metrics(criteria: Criteria, side_index: np.ndarray, strike: np.ndarray, bid: np.ndarray, ask: np.ndarray,
             delta: np.ndarray, derived: tuple[np.ndarray, np.ndarray], spot: np.ndarray, dte_days: np.ndarray,
             no_expiration: np.ndarray | None) -> dict[str, np.ndarray]:
    """The metric columns and match, computed block by block straight into the result columns,
    plus "delta" (`delta` with the `derived` (rows, deltas) put in) when there are derived deltas.

    Each block's temporaries stay in CPU cache, which makes the few dozen elementwise passes far
    cheaper than on whole columns of a million rows, and no block result is copied afterwards.
    """
    n = len(side_index)
    rows, deltas = derived
    names = _FLOAT_METRICS + (("delta",) if rows.size else ())
    # One allocation for all the float columns: the kernel backs it with far fewer page faults
    # (huge pages) than a dozen separate ones, and first-touching fresh memory is a large part of the cost.
    out = dict(zip(names, np.empty((len(names), n))))
    filled = out.pop("delta", None)
    out["match"] = np.empty(n, dtype=bool)
    lookup = _call_delta_lookup(criteria)
    with np.errstate(all="ignore"):
        for start in range(0, n, _BLOCK_ROWS):
            block = slice(start, start + _BLOCK_ROWS)
            block_delta = delta[block]
            if filled is not None:
                np.copyto(filled[block], block_delta)
                block_delta = filled[block]
                first, last = np.searchsorted(rows, (start, start + _BLOCK_ROWS))
                block_delta[rows[first:last] - start] = deltas[first:last]
            _block_metrics(criteria, lookup, {name: values[block] for name, values in out.items()}, side_index[block],
                           strike[block], bid[block], ask[block], block_delta, spot[block], dte_days[block],
                           None if no_expiration is None else no_expiration[block])
    if filled is not None:
        out["delta"] = filled
    return out


def screen(chain: pd.DataFrame, criteria: Criteria, as_of: date) -> pd.DataFrame:
    """Every contract of `chain` with its metrics and `match`, as RESULT_COLUMNS.

    DTE counts calendar days from `as_of` (the provider's quote date). Output conventions:
    expiration and quote_date are datetime64[s] midnights of the New York date; side is "put",
    "call" or missing; volume, open_interest and dte are nullable Int64; the metrics that divide by
    the strike are NaN where it is missing or <= 0; rows are sorted by ticker, side (call before
    put), expiration, strike. Only the criteria's sides can match, and never an expired contract
    (dte < 0), a missing delta, a missing or non-positive strike, or a negative bid. The result
    shares no writable memory with `chain` (a large chain's unchanged columns are shared copy-on-write).
    """
    n = len(chain)
    source = {name: chain[name] for name in CHAIN_COLUMNS if name in chain}  # each column fetched once
    numbers = {name: _float_column(source.get(name), n) for name in _FLOAT_INPUTS}
    days, expiration, expiration_shared = _date_column(source.get("expiration"), n)
    quote_date, quote_date_shared = _date_output(source.get("quote_date"), n)
    side_index, side_canonical = _side_index(source.get("side"), n)
    no_expiration = days == _NAT
    any_missing = bool(no_expiration.any())
    as_of_days = (np.datetime64(as_of, "D") - np.datetime64(0, "D")).astype(np.int64)
    if any_missing:
        exp_key = days  # NaT is the smallest int64: missing expirations sort first
        dte_days = days - as_of_days
        dte_days[no_expiration] = 0
    else:  # days is private: turn it into DTEs in place, which also order rows as the dates do
        exp_key = dte_days = np.subtract(days, as_of_days, out=days)

    derived = _derived_deltas(numbers["delta"], side_index, numbers["strike"], numbers["iv"],
                              numbers["underlying_price"], dte_days, no_expiration)
    metrics = _metrics(criteria, side_index, numbers["strike"], numbers["bid"], numbers["ask"], numbers["delta"],
                       derived, numbers["underlying_price"], dte_days, no_expiration if any_missing else None)
    columns: dict[str, Any] = {
        **{name: source[name].array if name in source else pd.array([None] * n, dtype="str") for name in _TEXT_INPUTS},
        **numbers,
        "side": source["side"].array if side_canonical else pd.array([*_SIDE_ORDER, None], dtype="str").take(side_index),
        "expiration": expiration,
        "quote_date": quote_date,
        "volume": _counts(source.get("volume"), n),
        "open_interest": _counts(source.get("open_interest"), n),
        "dte": pd.arrays.IntegerArray(dte_days, no_expiration),
        **metrics,
    }
    ticker = source["ticker"] if "ticker" in source else pd.Series(columns["ticker"])
    order = _row_order(ticker, side_index, exp_key, numbers["strike"])
    if order is None and n < _SHARE_FROM_ROWS:
        order = np.arange(n)
    if order is not None:
        return pd.DataFrame({name: columns[name][order] for name in RESULT_COLUMNS}, copy=False)
    # Columns taken unchanged from `chain` are passed as its Series so copy-on-write shares them.
    shared = {name for name in _TEXT_INPUTS if name in source} | ({"side"} if side_canonical else set())
    shared |= {name for name in _FLOAT_INPUTS if name in source and np.may_share_memory(columns[name], source[name].to_numpy())}
    shared |= {name for name, same in zip(_DATE_COLUMNS, (expiration_shared, quote_date_shared)) if same}
    index = chain.index
    if not (isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1):
        source = {name: source[name].reset_index(drop=True) for name in shared}
    return pd.DataFrame({name: source[name] if name in shared else columns[name] for name in RESULT_COLUMNS},
                        copy=False)


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
