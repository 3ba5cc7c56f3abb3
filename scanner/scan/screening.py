"""The screening arithmetic: per-contract metrics and the put/call match rules (DESIGN "Screening").

Every number the dashboard shows about a contract is computed here, once, so a provider's quirks
(strings for numbers, nulls, missing greeks) are absorbed in one place. The original app let a null
delta pass the put filter; here a missing delta can never match.

A scan screens one ticker at a time, 60 to 5,000 rows. What makes that fast is coercing each input
column once to a numpy array; after that every metric and rule is one plain whole-column expression.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from pandas.api.extensions import ExtensionArray
from pandas.api.internals import create_dataframe_from_blocks
from scipy.special import ndtr

from scanner.market import blackscholes
from scanner.market import events as market_events
from scanner.market.calendar import NY
from scanner.market.events import EarningsTime, TickerEvents
from scanner.providers.chains import deltas_from_iv, malformed_symbols
from scanner.scan.criteria import Criteria, EarningsRule
from scanner.schema import CHAIN_COLUMNS, RESULT_COLUMNS, SIDES, Kind, Role, names

_FLOAT_INPUTS = names(roles=(Role.CHAIN,), kinds=(Kind.FLOAT,))
_COUNT_INPUTS = names(roles=(Role.CHAIN,), kinds=(Kind.INT,))
_DATE_INPUTS = names(roles=(Role.CHAIN,), kinds=(Kind.DATE,))
_TEXT_INPUTS = tuple(name for name in names(roles=(Role.CHAIN,), kinds=(Kind.TEXT,)) if name != "side")  # side: _sides
_SIDE_ORDER = tuple(sorted(SIDES))  # output sort order of sides: call, put
_CALL, _PUT, _NO_SIDE = _SIDE_ORDER.index("call"), _SIDE_ORDER.index("put"), len(_SIDE_ORDER)
_NAT = np.datetime64("NaT", "D")
_TEXT = pd.StringDtype(na_value=np.nan)  # pandas' "str"
_RESULT_INDEX = pd.Index(RESULT_COLUMNS)


def _texts(values: np.ndarray) -> ExtensionArray:
    """Python strings (None where missing) as a "str" column, handed to Arrow directly: pandas' own conversion
    inspects every value first and costs three times as much on a chain."""
    return pd.arrays.ArrowStringArray(pa.array(values, type=pa.large_string()), dtype=_TEXT)


def _text_copy(column: pd.Series) -> ExtensionArray:
    """A text input column copied as the output keeps it: "str" as it is; another dtype (object) as pandas infers it,
    "str" for a column of strings, and for an empty one (an empty chain's object column would stay pandas'
    NumpyExtensionArray, which Arrow refuses to store)."""
    values = column.array.copy()
    if values.dtype == _TEXT:
        return values
    return pd.Series(values).array if len(values) else pd.array([], dtype=_TEXT)


def _frame(columns: Mapping[str, Any], n: int) -> pd.DataFrame:
    """The RESULT_COLUMNS frame, built once: the numpy columns of each dtype stacked into one block (a copy), the
    extension arrays (text, nullable counts and flags) one block each. pandas' dict constructor spends ~10 µs on
    every column, which made it the largest part of screening a chain of a hundred rows."""
    arrays = [columns[name] for name in RESULT_COLUMNS]
    same_dtype: dict[np.dtype, list[int]] = {}
    blocks: list[tuple[Any, np.ndarray]] = []
    for position, values in enumerate(arrays):
        if isinstance(values, np.ndarray):
            same_dtype.setdefault(values.dtype, []).append(position)
        else:
            blocks.append((values, np.array([position])))
    blocks += [(np.array([arrays[p] for p in positions]), np.array(positions)) for positions in same_dtype.values()]
    return create_dataframe_from_blocks(blocks, pd.RangeIndex(n), _RESULT_INDEX)


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
    if column.dtype == np.float64:  # NaN already marks the missing: no mask to apply (a view, copied below)
        values = column.to_numpy()
    else:
        if not pd.api.types.is_numeric_dtype(column.dtype):
            column = pd.to_numeric(column.astype(object), errors="coerce")
        values = column.to_numpy(dtype=float, na_value=np.nan)
    return np.where(np.isinf(values), np.nan, values)


def _counts(column: pd.Series | None, n: int) -> tuple[pd.arrays.IntegerArray, np.ndarray]:
    """Whole numbers, missing kept missing (a volume of 1070.0 reads like a price); and as floats, NaN for missing,
    for the rules."""
    if column is not None and pd.api.types.is_signed_integer_dtype(column.dtype):  # int64 or Int64: kept exact
        counts = column.array.astype("Int64")
        return counts, counts.to_numpy(dtype=float, na_value=np.nan)
    values = _floats(column, n)
    missing = ~(np.abs(values) < 2.0**53)  # NaN, and values no int64 holds exactly
    whole = np.where(missing, 0, np.round(values)).astype(np.int64)
    return pd.arrays.IntegerArray(whole, missing), np.where(missing, np.nan, whole)


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
    codes, distinct = column.array.factorize()
    uniques = distinct.tolist()  # read twice: an Arrow array makes a Python value at every step
    cleaned = [value.strip().lower() if isinstance(value, str) else None for value in uniques]
    lookup = np.array([_SIDE_ORDER.index(side) if side in _SIDE_ORDER else _NO_SIDE for side in cleaned] + [_NO_SIDE])
    side_index = lookup[codes]
    if (codes >= 0).all() and all(value in SIDES for value in uniques):
        return side_index, _text_copy(column)
    return side_index, pd.array([*_SIDE_ORDER, None], dtype="str")[side_index]


def _ticker_rank(column: pd.Series | None, n: int) -> np.ndarray:
    """Per row, its ticker's place in text order; missing tickers last."""
    if column is None:
        return np.zeros(n, dtype=np.intp)
    codes, uniques = column.array.factorize()
    texts = [str(value) for value in uniques]
    place = {text: rank for rank, text in enumerate(sorted(set(texts)))}
    return np.array([place[text] for text in texts] + [len(uniques)])[codes]


def _select(conditions: list[np.ndarray], choices: list[Any], default: float = np.nan) -> np.ndarray:
    """np.select as nested np.where (the first condition that holds picks its choice): np.select's own checks cost
    more than the arithmetic on a chain of a hundred rows."""
    selected: Any = default
    for condition, choice in zip(reversed(conditions), reversed(choices), strict=True):
        selected = np.where(condition, choice, selected)
    return selected


def _metrics(side_index: np.ndarray, strike: np.ndarray, bid: np.ndarray, ask: np.ndarray, delta: np.ndarray,
             spot: np.ndarray, dte: np.ndarray) -> dict[str, np.ndarray]:
    """The float metric columns that rest on one row alone. A put (cash-secured) rests on its strike K, a call
    (covered, on shares bought at the underlying price S) on S; a row of neither side gets no collateral,
    break-even, returns or OTM %. K and S are NaN where missing or <= 0, so what rests on them is too; the
    annualized return (the original rule, on K for both sides) is NaN where the DTE is unknown; a quote far out of
    scale overflows to inf, which `unusable` catches. Returns on net capital are empty where that capital
    (puts K − bid, calls S − bid) is <= 0 (DESIGN "Screening")."""
    with np.errstate(all="ignore"):
        k = np.where(strike > 0, strike, np.nan)
        s = np.where(spot > 0, spot, np.nan)
        is_put, is_call = side_index == _PUT, side_index == _CALL
        sides = [is_put, is_call]
        mid = (bid + ask) / 2
        days = np.maximum(dte, 1)  # annualizing: a 0-DTE contract counts one day
        net_capital = _select(sides, [k - bid, s - bid])
        capital = np.where(net_capital > 0, net_capital, np.nan)
        period_return = bid / capital * 100
        return {
            "mid": mid,
            "spread_pct": np.where(mid > 0, (ask - bid) / mid * 100, np.nan),
            "premium": bid * 100,
            "collateral": _select(sides, [k * 100, s * 100]),
            "break_even": net_capital,  # puts K − bid, calls S − bid: the same figure as the capital at risk
            "prob_otm": 1 - np.abs(delta),
            "annualized_return_pct": np.maximum(bid, 0.0) / k / days * 365 * 100,
            "change_pct": (spot - k) / k * 100,
            "otm_pct": _select(sides, [(s - k) / s * 100, (k - s) / s * 100]),
            "period_return_pct": period_return,
            "annualized_period_return_pct": period_return * 365 / days,
            "if_called_return_pct": np.where(is_call, (bid + k - s) / capital * 100, np.nan),
        }


def _usable_iv(iv: np.ndarray) -> np.ndarray:
    """Where an IV can be used (DESIGN: 0 < iv <= 5); NaN compares false."""
    with np.errstate(invalid="ignore"):
        return (iv > 0) & (iv <= blackscholes.MAX_TRUSTED_IV)


def _pop_pct(spot: np.ndarray, break_even: np.ndarray, iv: np.ndarray, t_years: np.ndarray, rate: float,
             dividend_yield: float) -> np.ndarray:
    """N(d2) × 100, the odds the stock ends above the break-even; NaN without a usable IV, S or break-even > 0."""
    sigma = np.where(_usable_iv(iv), iv, np.nan)
    with np.errstate(all="ignore"):
        ratio = np.where((spot > 0) & (break_even > 0), spot / break_even, np.nan)
        d2 = (np.log(ratio) + (rate - dividend_yield - sigma**2 / 2) * t_years) / (sigma * np.sqrt(t_years))
    return ndtr(d2) * 100


def _first_per_group(group: np.ndarray, candidates: np.ndarray, distance: np.ndarray, values: np.ndarray,
                     groups: int) -> np.ndarray:
    """Per group, `values` at its candidate row of the smallest `distance` (NaN for a group without one)."""
    out = np.full(groups, np.nan)
    rows = np.flatnonzero(candidates)
    if rows.size:
        rows = rows[np.lexsort((distance[rows], group[rows]))]
        first = np.r_[True, group[rows][1:] != group[rows][:-1]]
        out[group[rows][first]] = values[rows][first]
    return out


def _atm_iv(group: np.ndarray, side_index: np.ndarray, strike: np.ndarray, spot: np.ndarray,
            iv: np.ndarray) -> np.ndarray:
    """Per row, its (ticker, expiration)'s ATM IV: the mean IV of the nearest-OTM put (highest put strike below S
    with a usable IV) and nearest-OTM call (lowest call strike above S with one), or the one present."""
    groups = int(group.max()) + 1 if group.size else 0
    usable = _usable_iv(iv)
    with np.errstate(invalid="ignore"):
        put = _first_per_group(group, (side_index == _PUT) & usable & (strike < spot), -strike, iv, groups)
        call = _first_per_group(group, (side_index == _CALL) & usable & (strike > spot), strike, iv, groups)
    both = np.where(np.isnan(put), call, np.where(np.isnan(call), put, (put + call) / 2))
    return both[group]


def _expiration_groups(ticker_rank: np.ndarray, expiration: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row, a code shared by the rows of its ticker and expiration (0, 1, ...), and one row of each group."""
    days = expiration.view(np.int64)
    rows = np.lexsort((days, ticker_rank))  # the rows of each group next to each other
    starts = np.ones(len(rows), dtype=bool)
    starts[1:] = (days[rows][1:] != days[rows][:-1]) | (ticker_rank[rows][1:] != ticker_rank[rows][:-1])
    group = np.empty(len(rows), dtype=np.intp)
    group[rows] = np.cumsum(starts) - 1
    return group, rows[starts]


def _delta_text(value: float) -> str:
    """A delta as traders write it: two decimals, up to four when they matter (-0.25, -0.2034)."""
    text = f"{value:.4f}"  # finite: a missing delta has its own words
    return text[:-2] if text.endswith("00") else text[:-1] if text.endswith("0") else text


@dataclass(frozen=True)
class _Rule:
    """One rule's outcome on every row: where it fails, how far it misses relative to its threshold (NaN where
    that cannot be measured), and the reason's words for the rows at given positions."""

    fails: np.ndarray
    miss: np.ndarray
    words: Callable[[np.ndarray], list[str]]


def _cases(masks: list[np.ndarray], texts: list[Callable[[int], str]]) -> Callable[[np.ndarray], list[str]]:
    """Words for rows at given positions: the text of the first of `masks` that holds at each."""
    def words(positions: np.ndarray) -> list[str]:
        case = np.argmax(np.array([mask[positions] for mask in masks]), axis=0)
        return [texts[c](p) for c, p in zip(case.tolist(), positions.tolist(), strict=True)]
    return words


def _relative(gap: np.ndarray, threshold: np.ndarray | float) -> np.ndarray:
    """gap / |threshold|, NaN where the threshold is 0."""
    with np.errstate(all="ignore"):
        return np.where(np.asarray(threshold) != 0, gap / np.abs(threshold), np.nan)


def _minimum_rule(name: str, values: np.ndarray, minimum: float | None, shown: Callable[[float], str]) -> _Rule | None:
    """`values` >= `minimum` (a missing value fails), or None when the criterion is off."""
    if minimum is None:
        return None
    missing = np.isnan(values)
    with np.errstate(invalid="ignore"):
        fails = missing | (values < minimum)
    return _Rule(fails, _relative(minimum - values, minimum), _cases(
        [missing, np.ones_like(missing)],
        [lambda _: f"{name} missing", lambda p: f"{name} {shown(values[p])} < {shown(minimum)}"]))


def _rules(criteria: Criteria, malformed: np.ndarray, side_index: np.ndarray, strike: np.ndarray, bid: np.ndarray,
           delta: np.ndarray, dte: np.ndarray, spot: np.ndarray, metrics: dict[str, np.ndarray],
           open_interest: np.ndarray, volume: np.ndarray, earnings: _Rule | None) -> list[_Rule]:
    """The match rules in DESIGN's reason order: unusable row, delta, annualized, earnings, open interest, volume,
    bid, spread. Off criteria add none."""
    n = len(side_index)
    is_put, is_call = side_index == _PUT, side_index == _CALL
    annualized, spread = metrics["annualized_return_pct"], metrics["spread_pct"]
    with np.errstate(invalid="ignore"):
        no_side = side_index == _NO_SIDE
        other_side = ~np.array([side in criteria.sides for side in _SIDE_ORDER] + [True])[side_index]
        no_expiration = np.isnan(dte)
        expired = dte < 0
        no_strike = ~(strike > 0)
        no_bid = ~(bid >= 0)
        no_capital = np.isnan(metrics["period_return_pct"]) & ((is_put & (bid >= strike)) | (is_call & (bid >= spot)))
        out_of_scale = np.isinf(metrics["premium"]) | np.isinf(annualized)
        row_cases = [malformed, no_side, other_side, no_expiration, expired, no_strike, no_bid, no_capital,
                     out_of_scale]
        side_names = np.array(_SIDE_ORDER + ("",))[side_index]
        unusable_row = _Rule(np.logical_or.reduce(row_cases), np.full(n, np.nan), _cases(row_cases, [
            lambda _: "unusable row: malformed ticker or option symbol",
            lambda _: "unusable row: no side",
            lambda p: f"unusable row: {side_names[p]}s not screened (side {criteria.side})",
            lambda _: "unusable row: no expiration",
            lambda _: "unusable row: expired",
            lambda _: "unusable row: no strike",
            lambda _: "unusable row: no bid",
            lambda p: (f"unusable row: bid {bid[p]:.2f} ≥ strike {strike[p]:.2f}" if is_put[p]
                       else f"unusable row: bid {bid[p]:.2f} ≥ underlying {spot[p]:.2f}"),
            lambda _: "unusable row: quote out of scale",
        ]))

        floor, ceiling = criteria.put_delta_floor, criteria.put_delta_ceiling
        call_limit = call_delta_limit(dte, criteria)
        missing = np.isnan(delta)
        below_floor = is_put & (delta < floor)
        above_ceiling = is_put & (delta > ceiling) if ceiling is not None else np.zeros(n, dtype=bool)
        above_table = is_call & (delta > call_limit)
        delta_cases = [missing, below_floor, above_ceiling, above_table]
        delta_miss = _select(delta_cases[1:], [_relative(floor - delta, floor),
                                               _relative(delta - (ceiling or 0.0), ceiling or 0.0),
                                               _relative(delta - call_limit, call_limit)])
        # each threshold's words once, not once per row: a chain's rows mostly fail
        floor_text, ceiling_text = _delta_text(floor), "" if ceiling is None else _delta_text(ceiling)
        table_texts = [f"{_delta_text(limit)} (DTE ≤ {bound})" for bound, limit in criteria.call_delta_table]
        table_texts.append(f"{_delta_text(criteria.call_delta_beyond)} (DTE > {criteria.call_delta_table[-1][0]})")
        table_row = np.searchsorted([bound for bound, _ in criteria.call_delta_table], dte).tolist()  # as the limit
        deltas = delta.tolist()  # words read single values: Python floats are read and formatted faster
        delta_rule = _Rule(np.logical_or.reduce(delta_cases), delta_miss, _cases(delta_cases, [
            lambda _: "delta missing",
            lambda p: f"delta {_delta_text(deltas[p])} < {floor_text}",
            lambda p: f"delta {_delta_text(deltas[p])} > {ceiling_text} (ceiling)",
            lambda p: f"delta {_delta_text(deltas[p])} > {table_texts[table_row[p]]}",
        ]))

        minimum = _select([is_put, is_call], [criteria.min_put_annualized, criteria.min_call_annualized])
        minimum_texts = (f"{criteria.min_call_annualized:g}", f"{criteria.min_put_annualized:g}")  # by is_put
        annualized_values, puts = annualized.tolist(), is_put.tolist()
        annualized_rule = _Rule(~(annualized >= minimum), _relative(minimum - annualized, minimum), _cases(
            [np.ones(n, dtype=bool)],
            [lambda p: f"annualized {annualized_values[p]:.2f}% < {minimum_texts[puts[p]]}%"]))

        spread_rule = None
        if criteria.max_spread_pct is not None:
            top = criteria.max_spread_pct
            spread_missing = np.isnan(spread)
            spread_rule = _Rule(~(spread <= top), _relative(spread - top, top), _cases(
                [spread_missing, ~spread_missing],
                [lambda _: "spread missing", lambda p: f"spread {spread[p]:.2f}% > {top:g}%"]))

    optional = [earnings,
                _minimum_rule("open interest", open_interest, criteria.min_open_interest, lambda v: f"{v:,.0f}"),
                _minimum_rule("volume", volume, criteria.min_volume, lambda v: f"{v:,.0f}"),
                _minimum_rule("bid", bid, criteria.min_bid, lambda v: f"${v:,.2f}"),
                spread_rule]
    return [unusable_row, delta_rule, annualized_rule, *(rule for rule in optional if rule is not None)]


def _earnings_rule(criteria: Criteria, in_window: pd.arrays.BooleanArray,
                   columns: market_events.EventColumns) -> _Rule | None:
    """With `earnings` = exclude, a contract whose life holds the report fails ("earnings 2026-12-10 after close,
    inside the contract's life"); unknown never fails. Not measurable, so never a near miss."""
    if criteria.earnings is not EarningsRule.EXCLUDE:
        return None
    fails = in_window.to_numpy(dtype=bool, na_value=False)
    day, time = columns.earnings_date, columns.earnings_time
    return _Rule(fails, np.full(len(fails), np.nan), _cases([fails], [
        lambda p: f"earnings {day[p]} {EarningsTime(time[p]).words}, inside the contract's life"]))


def _event_metrics(chain_tickers: pd.Series | None, groups: tuple[np.ndarray, np.ndarray],
                   events: Mapping[str, TickerEvents], as_of: date, expiration: np.ndarray, side_index: np.ndarray,
                   strike: np.ndarray, spot: np.ndarray, bid: np.ndarray) -> tuple[dict[str, Any],
                                                                                   market_events.EventColumns]:
    """The event columns of every row (DESIGN "Screening": Events), and the per-row events they rest on. All but
    the assignment risk depend on the row's ticker and expiration alone: they are worked out on one row of each
    (`groups`: _expiration_groups; a chain has a handful) and broadcast. A source without events (nothing known,
    no coverage) makes every flag empty: no window to work out."""
    group, first = groups
    tickers = None if chain_tickers is None else chain_tickers.to_numpy(dtype=object)[first]
    per_group = market_events.event_columns(tickers, len(first), events, as_of)
    columns = per_group.take(group)
    if per_group.knows_nothing():
        earnings, ex_dividend = (pd.arrays.BooleanArray(np.zeros(len(group), bool), np.ones(len(group), bool))
                                 for _ in range(2))
    else:
        earnings = market_events.earnings_in_window(as_of, expiration[first], per_group)[group]
        ex_dividend = market_events.ex_dividend_in_window(as_of, expiration[first], per_group)[group]
    return {
        "earnings_date": columns.earnings_date.astype("datetime64[s]"),
        "earnings_time": _texts(np.where(columns.earnings_time == "", None, columns.earnings_time)),
        "earnings_in_window": earnings,
        "ex_dividend_date": columns.ex_dividend_date.astype("datetime64[s]"),
        "dividend": columns.dividend,
        "ex_dividend_in_window": ex_dividend,
        "assignment_risk": market_events.assignment_risk(side_index == _CALL, strike, spot, bid, columns.dividend,
                                                         ex_dividend),
    }, columns


def _verdicts(rules: list[_Rule]) -> dict[str, Any]:
    """`match`, `reason` (the first failing rule's words), `rules_failed` and `miss_pct` from the rules."""
    fails = np.array([rule.fails for rule in rules])
    failing = fails.any(axis=0)
    first = np.argmax(fails, axis=0)
    reason = np.full(fails.shape[1], "", dtype=object)
    for index, rule in enumerate(rules):
        positions = np.flatnonzero(failing & (first == index))
        if positions.size:
            reason[positions] = rule.words(positions)
    miss = np.array([rule.miss for rule in rules])[first, np.arange(fails.shape[1])] * 100
    return {"match": ~failing, "reason": _texts(reason),
            "rules_failed": pd.arrays.IntegerArray(fails.sum(axis=0).astype(np.int64), np.zeros(len(first), bool)),
            "miss_pct": np.where(failing, miss, np.nan)}


def _score(matches: np.ndarray, metrics: dict[str, np.ndarray]) -> np.ndarray:
    """annualized return on net capital × POP / 100 × (1 − spread / 100), spread clipped to 0-100 %; NaN for a
    row that does not match or lacks an input (README "Ranking")."""
    spread = np.clip(metrics["spread_pct"], 0.0, 100.0)
    score = metrics["annualized_period_return_pct"] * metrics["pop_pct"] / 100 * (1 - spread / 100)
    return np.where(matches, score, np.nan)


def screen(chain: pd.DataFrame, criteria: Criteria, as_of: date, *, rate: float = blackscholes.DEFAULT_RATE,
           dividend_yield: float = 0.0, events: Mapping[str, TickerEvents] | None = None) -> pd.DataFrame:
    """Every contract of `chain` with its metrics, `match` and why not, as RESULT_COLUMNS.

    `events` holds each ticker's earnings and dividends (market.events); a ticker it lacks has them empty
    (unknown, never false), so its contracts cannot fail the earnings rule.

    DTE counts calendar days from `as_of` (the provider's quote date). Black-Scholes time (`pop_pct`,
    `expected_move`, deltas from IV) is T = (DTE + 1) / 365 at `rate` and `dividend_yield`; annualizing divides
    by max(DTE, 1) days. Output conventions: expiration and quote_date are datetime64[s] midnights of the New
    York date; side is "put", "call" or missing; volume, open_interest, dte and rules_failed are nullable Int64;
    a missing delta is derived from the IV (chains.deltas_from_iv at the default rate, when the provider has not
    done so with its configured one); rows are sorted by ticker, side (call before put), expiration (unknown
    first), strike, ties in input order. The result shares no writable memory with `chain`: every column is a
    new array, the text ones copied.
    """
    n = len(chain)
    source = {name: chain[name] for name in CHAIN_COLUMNS if name in chain}  # each column fetched once
    numbers = {name: _floats(source.get(name), n) for name in _FLOAT_INPUTS}
    dates = {name: _dates(source.get(name), n) for name in _DATE_INPUTS}
    counts: dict[str, pd.arrays.IntegerArray] = {}
    as_floats: dict[str, np.ndarray] = {}
    for name in _COUNT_INPUTS:
        counts[name], as_floats[name] = _counts(source.get(name), n)
    side_index, side = _sides(source.get("side"), n)
    ticker_rank = _ticker_rank(source.get("ticker"), n)
    expiration = dates["expiration"]
    dte_days = (expiration - np.datetime64(as_of, "D")).astype(np.int64)
    expiration_known = ~np.isnat(expiration)
    dte = np.where(expiration_known, dte_days, np.nan)

    spot, strike, bid, iv = numbers["underlying_price"], numbers["strike"], numbers["bid"], numbers["iv"]
    side_names = np.array([*_SIDE_ORDER, ""])[side_index]  # as Black-Scholes reads them: "" gets no delta
    delta = numbers["delta"] = deltas_from_iv(numbers["delta"], side_names, spot, strike, dte, iv)
    metrics = _metrics(side_index, strike, bid, numbers["ask"], delta, spot, dte)
    t_years = blackscholes.year_fraction(np.where(dte >= 0, dte, np.nan))
    metrics["pop_pct"] = _pop_pct(spot, metrics["break_even"], iv, t_years, rate, dividend_yield)
    groups = _expiration_groups(ticker_rank, expiration)
    metrics["atm_iv"] = _atm_iv(groups[0], side_index, strike, spot, iv)
    with np.errstate(all="ignore"):
        metrics["expected_move"] = np.where(spot > 0, spot, np.nan) * metrics["atm_iv"] * np.sqrt(t_years)
    malformed = malformed_symbols(source.get("ticker"), source.get("option_symbol"), n)
    event_metrics, event_columns = _event_metrics(source.get("ticker"), groups, events or {}, as_of, expiration,
                                                  side_index, strike, spot, bid)
    earnings = _earnings_rule(criteria, event_metrics["earnings_in_window"], event_columns)
    verdicts = _verdicts(_rules(criteria, malformed, side_index, strike, bid, delta, dte, spot, metrics,
                                as_floats["open_interest"], as_floats["volume"], earnings))
    columns: dict[str, Any] = {
        **{name: _text_copy(source[name]) if name in source else pd.array([None] * n, dtype="str")
           for name in _TEXT_INPUTS},
        **numbers,
        **{name: values.astype("datetime64[s]") for name, values in dates.items()},
        **counts,
        "side": side,
        "dte": pd.arrays.IntegerArray(np.where(expiration_known, dte_days, 0), ~expiration_known),
        **metrics,
        **event_metrics,
        **verdicts,
        "score": _score(verdicts["match"], metrics),
    }
    # NaT is the smallest int64 (unknown expirations first); lexsort puts NaN strikes last.
    order = np.lexsort((strike, expiration.view(np.int64), side_index, ticker_rank))
    if not np.array_equal(order, np.arange(n)):  # providers send chains in this order: nothing to gather then
        columns = {name: values[order] for name, values in columns.items()}
    return _frame(columns, n)


def near_misses(rows: pd.DataFrame) -> pd.DataFrame:
    """The screened `rows` that fail exactly one rule by a measurable amount, nearest first (smallest `miss_pct`;
    ties keep the rows' order): a page's "near misses", each with its `reason`. Rows of scans stored before
    `rules_failed` existed are never near misses."""
    failed = rows["rules_failed"].to_numpy(dtype=float, na_value=np.nan)
    miss = rows["miss_pct"].to_numpy(dtype=float, na_value=np.nan)
    near = rows[(failed == 1) & ~np.isnan(miss)]
    return near.sort_values("miss_pct", kind="stable")


def unusable(screened: pd.DataFrame) -> np.ndarray:
    """Rows no analyst can act on: a malformed ticker or option symbol (chains.malformed_symbols), no side, no
    expiration, no positive strike, a missing or negative bid, or a quote so far out of scale (a bid of 1e308) that
    its premium or annualized return overflows.

    The scan drops them before storing and counts them on the scan (``invalid_rows``).
    """
    if screened.empty:
        return np.zeros(0, dtype=bool)
    side = screened["side"].isin(SIDES).to_numpy(dtype=bool)
    dated = screened["expiration"].notna().to_numpy(dtype=bool)
    strike, bid, premium, annualized = (screened[name].to_numpy(dtype="float64", na_value=np.nan)
                                        for name in ("strike", "bid", "premium", "annualized_return_pct"))
    with np.errstate(invalid="ignore"):
        return malformed_symbols(screened["ticker"], screened["option_symbol"], len(screened)) | ~(
            side & dated & (strike > 0) & (bid >= 0) & ~np.isinf(premium) & ~np.isinf(annualized))
