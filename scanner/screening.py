"""The screening arithmetic: per-contract metrics and the put/call match rules (DESIGN "Screening").

Every number the dashboard shows about a contract is computed here, once, vectorized, so a
provider's quirks (strings for numbers, nulls, missing greeks) are absorbed in one place. The
original app let a null delta pass the put filter; here a missing delta can never match.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any, Mapping

import numpy as np
import pandas as pd

from scanner import blackscholes
from scanner.market_hours import NY
from scanner.providers.base import ChainRequest
from scanner.schema import RESULT_COLUMNS, SIDES

SIDE_CHOICES = ("put", "call", "both")
_FLOAT_INPUTS = ("strike", "bid", "ask", "last", "iv", "delta", "underlying_price")
_DATE_COLUMNS = ("expiration", "quote_date")
_DATE_DTYPE = "datetime64[s]"
_SIDE_ORDER = tuple(sorted(SIDES))  # output sort order of sides: call, put
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
    """The highest call delta that matches at each DTE (the table's row for the first bound >= dte)."""
    days = np.array([d for d, _ in criteria.call_delta_table], dtype=float)
    limits = np.array([v for _, v in criteria.call_delta_table] + [criteria.call_delta_beyond])
    dte = np.asarray(dte, dtype=float)
    return np.where(np.isnan(dte), np.nan, limits[np.searchsorted(days, dte, side="left")])


def _float_column(chain: pd.DataFrame, name: str) -> np.ndarray:
    """The column as float64 with NaN for anything missing, non-numeric or infinite."""
    if name not in chain:
        return np.full(len(chain), np.nan)
    column = chain[name]
    if not (pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_bool_dtype(column.dtype)):
        column = pd.to_numeric(column.astype(object), errors="coerce")
    values = column.to_numpy(dtype=float, na_value=np.nan)
    return np.where(np.isfinite(values), values, np.nan)


def _one_date(value: Any) -> np.datetime64:
    """One expiration-like value (date, datetime, ISO string, unix seconds) as its New York date."""
    try:
        if isinstance(value, str):
            value = value.strip()
            try:
                value = float(value)
            except ValueError:
                value = pd.Timestamp(value)
        if isinstance(value, (bool, np.bool_)) or value is None or value is pd.NaT:
            return np.datetime64("NaT")
        if isinstance(value, (int, float, np.integer, np.floating)):
            return np.datetime64(datetime.fromtimestamp(float(value), NY).date()) if math.isfinite(value) \
                else np.datetime64("NaT")
        if isinstance(value, datetime):
            return np.datetime64(value.astimezone(NY).date() if value.tzinfo else value.date())
        if isinstance(value, date):
            return np.datetime64(value)
    except (ValueError, OverflowError, OSError, TypeError):
        pass
    return np.datetime64("NaT")


def _date_column(chain: pd.DataFrame, name: str) -> np.ndarray:
    """The column as datetime64[s] midnights of New York calendar dates, NaT where unreadable.

    Naive datetime64 columns are taken as already in New York time and only truncated to the day;
    anything else is converted once per distinct value (a chain has a handful of expirations).
    """
    if name not in chain:
        return np.full(len(chain), np.datetime64("NaT"), dtype=_DATE_DTYPE)
    column = chain[name]
    if pd.api.types.is_datetime64_dtype(column.dtype):  # naive only: tz-aware dtypes are not np dtypes
        return column.to_numpy().astype("datetime64[D]").astype(_DATE_DTYPE)
    codes, uniques = pd.factorize(column)
    days = np.array([_one_date(u) for u in uniques] + [np.datetime64("NaT")], dtype=_DATE_DTYPE)
    return days[codes]  # code -1 (missing) picks the trailing NaT


def _counts(values: np.ndarray) -> pd.arrays.IntegerArray:
    """Whole numbers with missing values kept missing (a float 1070.0 volume reads as a price)."""
    missing = np.isnan(values)
    return pd.arrays.IntegerArray(np.where(missing, 0, np.round(values)).astype(np.int64), missing)


def _sort_rank(codes: np.ndarray, uniques: pd.Index) -> np.ndarray:
    """Per-row rank of its factorized value in text order; missing values (code -1) rank last."""
    _, rank = np.unique(np.array([str(u) for u in uniques], dtype=object), return_inverse=True)
    return np.append(rank, len(uniques))[codes]


def _side_index(chain: pd.DataFrame) -> np.ndarray:
    """Per row, the position of its side in _SIDE_ORDER ("Put " reads as put), len(_SIDE_ORDER) if unknown."""
    if "side" not in chain:
        return np.full(len(chain), len(_SIDE_ORDER))
    codes, uniques = pd.factorize(chain["side"])
    names = [u.strip().lower() if isinstance(u, str) else None for u in uniques]
    lookup = [_SIDE_ORDER.index(name) if name in _SIDE_ORDER else len(_SIDE_ORDER) for name in names]
    return np.array(lookup + [len(_SIDE_ORDER)], dtype=np.int64)[codes]


def screen(chain: pd.DataFrame, criteria: Criteria, as_of: date) -> pd.DataFrame:
    """Every contract of `chain` with its metrics and `match`, as RESULT_COLUMNS.

    DTE counts calendar days from `as_of` (the provider's quote date). Output conventions:
    expiration and quote_date are datetime64[s] midnights of the New York date; side is normalized
    to "put"/"call"; volume, open_interest and dte are nullable Int64; metrics that divide by the
    strike are NaN where the strike is missing or <= 0; rows sorted by ticker, side, expiration,
    strike. Only the criteria's sides can match, never an expired contract (dte < 0), a missing
    delta, a missing or non-positive strike, or a negative bid.
    """
    n = len(chain)
    strike, bid, ask, last, iv, delta, spot = (_float_column(chain, c) for c in _FLOAT_INPUTS)
    volume, open_interest = (_float_column(chain, c) for c in ("volume", "open_interest"))
    expiration, quote_date = (_date_column(chain, c) for c in _DATE_COLUMNS)

    side_index = _side_index(chain)
    is_call, is_put = side_index == _SIDE_ORDER.index("call"), side_index == _SIDE_ORDER.index("put")
    wanted_put, wanted_call = ("put" in criteria.sides) & is_put, ("call" in criteria.sides) & is_call

    exp_days = expiration.astype("datetime64[D]")
    dte = np.where(np.isnat(exp_days), np.nan, (exp_days - np.datetime64(as_of, "D")).astype(np.int64))
    strike_ok = strike > 0
    k = np.where(strike_ok, strike, np.nan)

    need_delta = np.isnan(delta) & (iv > 0) & (iv <= _MAX_IV) & strike_ok & (is_put | is_call)
    if need_delta.any():
        rows = np.flatnonzero(need_delta)
        delta = delta.copy()
        delta[rows] = blackscholes.delta(np.where(is_call[rows], "call", "put"), spot[rows], k[rows],
                                         blackscholes.year_fraction(dte[rows]), iv[rows])

    with np.errstate(all="ignore"):
        annualized = np.maximum(bid, 0.0) / k / np.maximum(dte, 1) * 365 * 100  # bid < 0 counts as 0
        mid = (bid + ask) / 2
        metrics = {
            "dte": dte,
            "mid": mid,
            "spread_pct": np.where(mid > 0, (ask - bid) / mid * 100, np.nan),
            "premium": bid * 100,
            "collateral": k * 100,
            "break_even": np.where(is_put, k - bid, np.where(is_call, k + bid, np.nan)),
            "prob_otm": 1 - np.abs(delta),
            "annualized_return_pct": annualized,
            "change_pct": (spot - k) / k * 100,
        }
    tradable = strike_ok & (bid >= 0) & (dte >= 0)
    put_match = wanted_put & (annualized >= criteria.min_put_annualized) & (delta >= criteria.put_delta_floor)
    call_match = (wanted_call & (annualized >= criteria.min_call_annualized)
                  & (delta <= call_delta_limit(dte, criteria)))
    metrics["match"] = tradable & (put_match | call_match)

    ticker = chain["ticker"] if "ticker" in chain else pd.Series([None] * n, dtype=object)
    ticker_codes, ticker_uniques = pd.factorize(ticker)
    exp_key = np.where(np.isnat(exp_days), np.iinfo(np.int64).max, exp_days.astype(np.int64))
    order = np.lexsort((strike, exp_key, side_index, _sort_rank(ticker_codes, ticker_uniques)))

    columns: dict[str, Any] = {
        "ticker": ticker.array.take(order),
        "side": pd.array([*_SIDE_ORDER, None], dtype="str").take(side_index[order]),
        "expiration": expiration[order],
        "strike": strike[order], "bid": bid[order], "ask": ask[order], "last": last[order],
        "volume": _counts(volume[order]), "open_interest": _counts(open_interest[order]),
        "iv": iv[order], "delta": delta[order], "underlying_price": spot[order],
        "quote_date": quote_date[order],
        "option_symbol": (chain["option_symbol"].array.take(order) if "option_symbol" in chain
                          else pd.array([None] * n, dtype="str")),
    }
    columns.update({name: values[order] for name, values in metrics.items()})
    columns["dte"] = _counts(columns["dte"])
    return pd.DataFrame(columns, columns=list(RESULT_COLUMNS), copy=False)

