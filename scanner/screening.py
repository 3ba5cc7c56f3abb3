"""The screening arithmetic: per-contract metrics and the put/call match rules (DESIGN "Screening").

Every number the dashboard shows about a contract is computed here, once, vectorized, so a
provider's quirks (strings for numbers, nulls, missing greeks) are absorbed in one place. The
original app let a null delta pass the put filter; here a missing delta can never match.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from datetime import date, datetime
from functools import partial
from typing import Any, Callable, Mapping

import numpy as np
import pandas as pd

from scanner import blackscholes
from scanner.market_hours import NY
from scanner.providers.base import ChainRequest
from scanner.schema import RESULT_COLUMNS, SIDES

SIDE_CHOICES = ("put", "call", "both")
_FLOAT_INPUTS = ("strike", "bid", "ask", "last", "iv", "delta", "underlying_price")
_DATE_COLUMNS = ("expiration", "quote_date")
_TEXT_INPUTS = ("ticker", "option_symbol")
_DATE_DTYPE = "datetime64[s]"
_SIDE_ORDER = tuple(sorted(SIDES))  # output sort order of sides: call, put
_BLOCK_ROWS = 65536
_MAX_IV = 5.0  # 500 %: above this a provider's IV is junk (or in percent), too unreliable to derive delta


@dataclass(frozen=True)
class Criteria:
    """What to fetch and what counts as a match; the defaults are the original app's rules."""

    side: str = "put"
    weeks: int = 4
    strike_limit: int = 15
    min_put_annualized: float = 30.0
    put_delta_floor: float = -0.20
    min_call_annualized: float = 20.0
    call_delta_table: tuple[tuple[int, float], ...] = ((7, 0.20), (14, 0.24), (21, 0.28), (28, 0.32))
    call_delta_beyond: float = 0.36

    def __post_init__(self) -> None:
        _check(self.side in SIDE_CHOICES, f"side must be one of {', '.join(SIDE_CHOICES)}, got {self.side!r}")
        _check_int("weeks", self.weeks, 1, 52)
        _check_int("strike_limit", self.strike_limit, 1, 50)
        for name in ("min_put_annualized", "min_call_annualized"):
            _check_float(name, getattr(self, name), -math.inf, math.inf)
        _check_float("put_delta_floor", self.put_delta_floor, -1.0, 0.0)
        _check_float("call_delta_beyond", self.call_delta_beyond, 0.0, 1.0)
        _check(len(self.call_delta_table) > 0, "call_delta_table must have at least one (dte, delta) row")
        for dte, limit in self.call_delta_table:
            _check_int("call_delta_table dte", dte, 0, 3650)
            _check_float("call_delta_table delta", limit, 0.0, 1.0)
        days = [dte for dte, _ in self.call_delta_table]
        _check(days == sorted(set(days)), f"call_delta_table days must be strictly increasing, got {days}")

    @property
    def sides(self) -> tuple[str, ...]:
        """The option sides to fetch and match."""
        return SIDES if self.side == "both" else (self.side,)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict (the table as lists) that from_dict reads back."""
        out = asdict(self)
        out["call_delta_table"] = [list(row) for row in self.call_delta_table]
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Criteria":
        """Criteria from untrusted input (a form, Redis, the CLI); ValueError names the bad field."""
        unknown = set(data) - set(cls.__dataclass_fields__)
        _check(not unknown, f"unknown criteria field(s): {', '.join(sorted(map(str, unknown)))}")
        kwargs: dict[str, Any] = {}
        for name, value in data.items():
            if name == "side":
                kwargs[name] = str(value).strip().lower()
            elif name in ("weeks", "strike_limit"):
                kwargs[name] = _as_int(name, value)
            elif name == "call_delta_table":
                try:
                    kwargs[name] = tuple((_as_int("call_delta_table dte", d), _as_float("call_delta_table delta", v))
                                         for d, v in value)
                except (TypeError, ValueError) as exc:
                    raise ValueError(f"call_delta_table must be a list of [dte, delta] pairs: {exc}") from None
            else:
                kwargs[name] = _as_float(name, value)
        return cls(**kwargs)

    def chain_request(self, as_of: date | None = None) -> ChainRequest:
        """What to ask a provider for, for one ticker."""
        return ChainRequest(sides=self.sides, weeks=self.weeks, strike_limit=self.strike_limit, as_of=as_of)


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise ValueError(message)


def _check_int(name: str, value: Any, low: int, high: int) -> None:
    _check(isinstance(value, int) and not isinstance(value, bool), f"{name} must be a whole number, got {value!r}")
    _check(low <= value <= high, f"{name} must be between {low} and {high}, got {value}")


def _check_float(name: str, value: Any, low: float, high: float) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    _check(ok, f"{name} must be a finite number, got {value!r}")
    _check(low <= value <= high, f"{name} must be between {low} and {high}, got {value}")


def _as_float(name: str, value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a number, got {value!r}")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None


def _as_int(name: str, value: Any) -> int:
    number = _as_float(name, value)
    _check(number.is_integer(), f"{name} must be a whole number, got {value!r}")
    return int(number)


def call_delta_limit(dte: Any, criteria: Criteria) -> np.ndarray:
    """The highest call delta that matches at each DTE: the first table row whose bound is >= dte."""
    dte = np.asarray(dte, dtype=float)
    row = np.zeros(dte.shape, dtype=np.intp)
    for bound, _ in criteria.call_delta_table:  # one vectorized pass per table row (a handful)
        row += dte > bound
    row[np.isnan(dte)] = len(criteria.call_delta_table) + 1
    limits = [limit for _, limit in criteria.call_delta_table] + [criteria.call_delta_beyond, np.nan]
    return np.array(limits)[row]


def _float_column(chain: pd.DataFrame, name: str) -> np.ndarray:
    """The column as float64, NaN for anything missing, non-numeric or infinite (a read-only view if it was clean)."""
    if name not in chain:
        return np.full(len(chain), np.nan)
    column = chain[name]
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


def _date_column(chain: pd.DataFrame, name: str) -> np.ndarray:
    """The column as datetime64[D] New York calendar dates, NaT where unreadable.

    Naive datetime64 columns are taken as already in New York time and only truncated to the day;
    anything else is converted once per distinct value (a chain has a handful of expirations).
    """
    if name not in chain:
        return np.full(len(chain), np.datetime64("NaT"), dtype="datetime64[D]")
    column = chain[name]
    if pd.api.types.is_datetime64_dtype(column.dtype):  # naive only: tz-aware dtypes are not numpy dtypes
        return column.to_numpy().astype("datetime64[D]")
    codes, uniques = pd.factorize(column)
    days = np.array([_one_date(u) for u in uniques] + [np.datetime64("NaT")], dtype="datetime64[D]")
    return days[codes]  # code -1 (missing) picks the trailing NaT


def _counts(chain: pd.DataFrame, name: str) -> pd.arrays.IntegerArray:
    """Whole numbers, missing kept missing (a volume of 1070.0 reads like a price)."""
    if name in chain and pd.api.types.is_signed_integer_dtype(chain[name].dtype):
        return chain[name].astype("Int64").array
    values = _float_column(chain, name)
    missing = ~(np.abs(values) < 2.0**53)  # NaN, and values no int64 holds exactly
    whole = np.round(values)
    whole[missing] = 0
    return pd.arrays.IntegerArray(whole.astype(np.int64), missing)


def _side_index(chain: pd.DataFrame) -> tuple[np.ndarray, bool]:
    """Per row, the position of its side in _SIDE_ORDER (len(_SIDE_ORDER) when neither), and
    whether the column already holds exactly "put"/"call".

    Two vectorized comparisons find the exact values; only the odd rest (" Put", None) is
    normalized value by value.
    """
    index = np.full(len(chain), len(_SIDE_ORDER), dtype=np.int8)
    if "side" not in chain:
        return index, False
    column = chain["side"]
    for position, name in enumerate(_SIDE_ORDER):
        np.copyto(index, position, where=(column == name).to_numpy(dtype=bool, na_value=False))
    rest = np.flatnonzero(index == len(_SIDE_ORDER))
    if rest.size:
        codes, uniques = pd.factorize(column.iloc[rest])
        names = [u.strip().lower() if isinstance(u, str) else None for u in uniques] + [None]
        lookup = [_SIDE_ORDER.index(n) if n in _SIDE_ORDER else len(_SIDE_ORDER) for n in names]
        index[rest] = np.array(lookup)[codes]
    return index, rest.size == 0


def _already_sorted(ticker: pd.Series, keys: tuple[np.ndarray, ...]) -> bool:
    """True when rows are in (ticker, *keys) order, checked on adjacent pairs in a few vector passes.

    Text is compared once on the whole column (where does the ticker change?) and then only at
    those change points, which is what makes the check cheap next to a sort.
    """
    if len(ticker) < 2:
        return True
    if ticker.hasnans:
        return False
    values = ticker.array
    changes = np.flatnonzero(np.asarray(values[1:] != values[:-1], dtype=bool))
    try:
        if not np.asarray(values[changes + 1] > values[changes], dtype=bool).all():
            return False
    except TypeError:  # mixed types in an object column
        return False
    ordered = np.zeros(len(ticker) - 1, dtype=bool)
    ordered[changes] = True
    tied = ~ordered
    for key in keys:
        later, earlier = key[1:], key[:-1]
        ordered |= tied & (later > earlier)
        tied &= later == earlier
    return bool((ordered | tied).all())


def _row_order(ticker: pd.Series, side_index: np.ndarray, exp_key: np.ndarray, strike: np.ndarray) -> np.ndarray | None:
    """Indices sorting rows by ticker, side, expiration, strike; None when they already are.

    Providers send chains in this order, and skipping the sort and the gather of every column is
    a large part of screen()'s speed on big frames.
    """
    if _already_sorted(ticker, (side_index, exp_key, strike)):
        return None
    codes, uniques = pd.factorize(ticker)
    _, rank = np.unique(np.array([str(u) for u in uniques], dtype=object), return_inverse=True)
    ticker_rank = np.append(rank, len(uniques))[codes]  # missing tickers (code -1) last
    return np.lexsort((strike, exp_key, ticker_rank * (len(_SIDE_ORDER) + 1) + side_index))


def _blockwise(func: Callable[..., dict[str, np.ndarray]], *arrays: np.ndarray) -> dict[str, np.ndarray]:
    """func over row blocks of `arrays`, concatenated.

    A block's temporaries stay in CPU cache, which makes the dozens of elementwise passes about
    twice as fast as on whole columns of a million rows.
    """
    n = len(arrays[0])
    if n <= _BLOCK_ROWS:
        return func(*arrays)
    out: dict[str, np.ndarray] = {}
    for start in range(0, n, _BLOCK_ROWS):
        block = func(*(a[start:start + _BLOCK_ROWS] for a in arrays))
        for name, values in block.items():
            out.setdefault(name, np.empty(n, dtype=values.dtype))[start:start + _BLOCK_ROWS] = values
    return out


def _metrics(criteria: Criteria, side_index: np.ndarray, strike: np.ndarray, bid: np.ndarray, ask: np.ndarray,
             iv: np.ndarray, delta: np.ndarray, spot: np.ndarray, dte: np.ndarray) -> dict[str, np.ndarray]:
    """Delta (filled from iv where missing), the metric columns and match, for one block of rows."""
    is_call, is_put = side_index == _SIDE_ORDER.index("call"), side_index == _SIDE_ORDER.index("put")
    strike_ok = strike > 0
    k = np.where(strike_ok, strike, np.nan)
    rows = np.flatnonzero(np.isnan(delta))
    rows = rows[(iv[rows] > 0) & (iv[rows] <= _MAX_IV) & strike_ok[rows] & (side_index[rows] < len(_SIDE_ORDER))]
    if rows.size:
        delta = delta.copy()
        delta[rows] = blackscholes.delta(np.where(is_call[rows], "call", "put"), spot[rows], k[rows],
                                         blackscholes.year_fraction(dte[rows]), iv[rows])
    with np.errstate(all="ignore"):
        annualized = np.maximum(bid, 0.0) / k / np.maximum(dte, 1) * 365 * 100  # bid < 0 counts as 0
        mid = (bid + ask) / 2
        out = {
            "delta": delta,
            "mid": mid,
            "spread_pct": np.where(mid > 0, (ask - bid) / mid * 100, np.nan),
            "premium": bid * 100,
            "collateral": k * 100,
            "break_even": k + bid * np.array([1.0, -1.0, np.nan])[side_index],  # call: k + bid, put: k - bid
            "prob_otm": 1 - np.abs(delta),
            "annualized_return_pct": annualized,
            "change_pct": (spot - k) / k * 100,
        }
    put_match = ("put" in criteria.sides) & is_put & (annualized >= criteria.min_put_annualized) \
        & (delta >= criteria.put_delta_floor)
    call_match = ("call" in criteria.sides) & is_call & (annualized >= criteria.min_call_annualized) \
        & (delta <= call_delta_limit(dte, criteria))
    out["match"] = (put_match | call_match) & strike_ok & (bid >= 0) & (dte >= 0)
    return out


def screen(chain: pd.DataFrame, criteria: Criteria, as_of: date) -> pd.DataFrame:
    """Every contract of `chain` with its metrics and `match`, as RESULT_COLUMNS.

    DTE counts calendar days from `as_of` (the provider's quote date). Output conventions:
    expiration and quote_date are datetime64[s] midnights of the New York date; side is "put",
    "call" or missing; volume, open_interest and dte are nullable Int64; the metrics that divide by
    the strike are NaN where it is missing or <= 0; rows are sorted by ticker, side (call before
    put), expiration, strike. Only the criteria's sides can match, and never an expired contract
    (dte < 0), a missing delta, a missing or non-positive strike, or a negative bid. The result
    shares no writable memory with `chain` (unchanged columns are shared copy-on-write).
    """
    n = len(chain)
    numbers = {name: _float_column(chain, name) for name in _FLOAT_INPUTS}
    expiration, quote_date = (_date_column(chain, name) for name in _DATE_COLUMNS)
    side_index, side_canonical = _side_index(chain)
    exp_key = expiration.view(np.int64)  # days since 1970; NaT is the smallest int64
    no_expiration = np.isnat(expiration)
    dte_days = np.where(no_expiration, 0, exp_key - (np.datetime64(as_of, "D") - np.datetime64(0, "D")).astype(np.int64))
    dte = np.where(no_expiration, np.nan, dte_days)

    metrics = _blockwise(partial(_metrics, criteria), side_index, numbers["strike"], numbers["bid"], numbers["ask"],
                         numbers["iv"], numbers["delta"], numbers["underlying_price"], dte)
    columns: dict[str, Any] = {
        **{name: chain[name].array if name in chain else pd.array([None] * n, dtype="str") for name in _TEXT_INPUTS},
        **numbers,
        "side": chain["side"].array if side_canonical else pd.array([*_SIDE_ORDER, None], dtype="str").take(side_index),
        "expiration": expiration.astype(_DATE_DTYPE),
        "quote_date": quote_date.astype(_DATE_DTYPE),
        "volume": _counts(chain, "volume"),
        "open_interest": _counts(chain, "open_interest"),
        "dte": pd.arrays.IntegerArray(dte_days, no_expiration),
        **metrics,
    }
    ticker = chain["ticker"] if "ticker" in chain else pd.Series(columns["ticker"])
    order = _row_order(ticker, side_index, exp_key, numbers["strike"])
    if order is not None:
        return pd.DataFrame({name: columns[name][order] for name in RESULT_COLUMNS}, copy=False)
    # Columns taken unchanged from `chain` are passed as its Series so copy-on-write shares them.
    shared = {name for name in _TEXT_INPUTS if name in chain} | ({"side"} if side_canonical else set())
    shared |= {name for name in _FLOAT_INPUTS if name in chain and np.may_share_memory(columns[name], chain[name].to_numpy())}
    return pd.DataFrame({name: chain[name].reset_index(drop=True) if name in shared else columns[name]
                         for name in RESULT_COLUMNS}, copy=False)
