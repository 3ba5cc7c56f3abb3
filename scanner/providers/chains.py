"""Normalizing steps the real-data sources share: the requested slice of a chain, and deltas from IV.

Live APIs filter server-side (MarketData's `range=otm`, `strikeLimit`), but yfinance and snapshot files
hold whole chains, so the same slice is cut here for all of them: the requested sides, out of the money,
the `strike_limit` strikes nearest the money per side and expiration. Deltas missing from a source are
derived from IV here alone (`deltas_from_iv`): providers with the configured rate and dividend yield
(`fill_delta`), screening's fallback for a source that skipped that step with the defaults.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from scanner.market import blackscholes
from scanner.scan.watchlist import SYMBOL
from scanner.schema import CHAIN_COLUMNS, Kind, Role, names

NUMERIC_COLUMNS = names(roles=(Role.CHAIN,), kinds=(Kind.FLOAT, Kind.INT))  # coerced to float by the providers
OPTION_SYMBOL = re.compile(SYMBOL.pattern + r"( *\d{6}[CP]\d{8}|_\d{6}[CP]\d+(\.\d+)?)")
"""OCC's shape: the root (Schwab pads it to six with spaces), expiration YYMMDD, C or P, strike × 1000 in 8 digits;
or TD Ameritrade's older ``SPY_012920P322.5`` (root, MMDDYY, side, strike)."""


OCC_PARTS = re.compile(r"(?P<root>[A-Z0-9.]+?) *(?P<expiration>\d{6})(?P<side>[CP])(?P<strike>\d{8})")


def occ_parts(symbols: pd.Series) -> pd.DataFrame:
    """Expiration (a date), side ("put"/"call") and strike read from OCC option symbols, for a source whose
    contracts carry nothing else (Cboe's); NaN/None where a symbol lacks OCC's shape."""
    parts = symbols.astype("string").str.strip().str.extract(f"^{OCC_PARTS.pattern}$")
    return pd.DataFrame({
        "expiration": pd.to_datetime(parts["expiration"], format="%y%m%d", errors="coerce").dt.date,
        "side": parts["side"].map({"C": "call", "P": "put"}),
        "strike": pd.to_numeric(parts["strike"], errors="coerce").astype(float) / 1000,
    }, index=symbols.index)


def empty_chain() -> pd.DataFrame:
    return pd.DataFrame(columns=list(CHAIN_COLUMNS))


def normalized(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` as CHAIN_COLUMNS: missing columns added as NaN, numbers coerced (junk strings, "NaN", None -> NaN)."""
    out = frame.reindex(columns=list(CHAIN_COLUMNS))
    for name in NUMERIC_COLUMNS:
        out[name] = pd.to_numeric(out[name], errors="coerce").astype(float)
    out["side"] = out["side"].astype("string").str.strip().str.lower()
    out["ticker"] = out["ticker"].astype("string").str.strip().str.upper()
    return out


def positive_number(value: Any) -> float | None:
    """``value`` as a positive float, else None: sources send None, 0 or strings for a missing price."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def malformed_symbols(ticker: pd.Series | None, option_symbol: pd.Series | None, n: int) -> np.ndarray:
    """Rows whose ticker is not a watch-list symbol or whose option symbol lacks OCC's shape (either may be
    missing or empty). Every source's rows pass here on their way to screening, so a cell a spreadsheet would run
    (``=cmd|...``) never reaches a table, whose own "Download as CSV" writes values raw."""
    malformed = np.zeros(n, dtype=bool)
    for values, shape in ((ticker, SYMBOL), (option_symbol, OPTION_SYMBOL)):
        if values is not None:
            malformed |= _unlike(values, shape)
    return malformed


def _unlike(values: pd.Series, shape: re.Pattern[str]) -> np.ndarray:
    """Rows whose value, as text, is not empty and not of ``shape``; missing values pass. Each distinct value is
    matched once (a chain repeats its ticker on every row): pandas' vectorized regex costs more than the
    matching for a chain's hundred rows."""
    codes, distinct = pd.factorize(values.to_numpy(dtype=object), use_na_sentinel=True)
    unlike = [text != "" and shape.fullmatch(text) is None for text in map(str, distinct)]
    return np.array([*unlike, False], dtype=bool)[codes]  # code -1 (missing) reads the last entry


def _sort_codes(values: np.ndarray) -> tuple[np.ndarray, list[Any]]:
    """Integer codes that sort as `values` do (missing last, where sort_values puts them), and the
    distinct values they stand for, the missing value last."""
    codes, uniques = pd.factorize(values, sort=True)
    return np.where(codes < 0, len(uniques), codes), [*uniques, None]


def _group_starts(keys: tuple[np.ndarray, ...]) -> np.ndarray:
    """For rows sorted by `keys`, the position at which each row's group of equal keys begins."""
    n = len(keys[0])
    first = np.zeros(n, dtype=bool)
    first[:1] = True
    for key in keys:
        first[1:] |= key[1:] != key[:-1]
    return np.maximum.accumulate(np.where(first, np.arange(n), 0))


def nearest_otm_positions(ticker: np.ndarray, side: np.ndarray, expiration: np.ndarray, strike: np.ndarray,
                          spot: np.ndarray, sides: tuple[str, ...], strike_limit: int) -> np.ndarray:
    """Positions of the rows `nearest_otm` keeps, in its order. Plain numpy on integer codes: a scan
    cuts hundreds of small chains, and pandas' cost per call (groupby, rank, sort_values) made this
    step slower than fetching the chain."""
    side_code, side_names = _sort_codes(side)
    names = np.array(side_names, dtype=object)
    is_put, is_call = (names == "put")[side_code], (names == "call")[side_code]
    wanted = np.isin(names, sides)[side_code]
    with np.errstate(invalid="ignore"):
        otm = (is_put & (strike < spot)) | (is_call & (strike > spot)) | np.isnan(spot)
    rows = np.flatnonzero(otm & wanted)
    keys = (_sort_codes(ticker[rows])[0], side_code[rows], _sort_codes(expiration[rows])[0])
    distance = np.abs(strike[rows] - spot[rows])
    nearest_first = np.lexsort((distance, *reversed(keys)))  # stable: ties keep the source order; NaN last
    places = np.arange(len(rows)) - _group_starts(tuple(key[nearest_first] for key in keys))  # 0 = nearest
    kept = np.sort(nearest_first[np.isnan(distance[nearest_first]) | (places < strike_limit)])
    return rows[kept[np.lexsort((strike[rows][kept], *(key[kept] for key in reversed(keys))))]]


def nearest_otm(frame: pd.DataFrame, sides: tuple[str, ...], strike_limit: int) -> pd.DataFrame:
    """The requested sides' OTM rows, at most `strike_limit` strikes per (ticker, side, expiration),
    nearest the money first; sorted by ticker, side, expiration, strike.

    Rows without an underlying price cannot be placed against the money and are kept as they are.
    """
    positions = nearest_otm_positions(
        frame["ticker"].to_numpy(), frame["side"].to_numpy(), frame["expiration"].to_numpy(),
        frame["strike"].to_numpy(dtype=float), frame["underlying_price"].to_numpy(dtype=float), sides, strike_limit)
    return frame.take(positions).reset_index(drop=True)


def days_to_expiry(frame: pd.DataFrame, as_of: date) -> np.ndarray:
    """Calendar days from `as_of` to each row's expiration (NaN where it is unreadable)."""
    expiration = pd.to_datetime(frame["expiration"], errors="coerce").to_numpy().astype("datetime64[D]")
    days = (expiration - np.datetime64(as_of, "D")).astype(float)
    days[np.isnat(expiration)] = np.nan
    return days


def deltas_from_iv(delta: np.ndarray, side: np.ndarray, spot: np.ndarray, strike: np.ndarray, dte: np.ndarray,
                   iv: np.ndarray, rate: float = blackscholes.DEFAULT_RATE, dividend_yield: float = 0.0) -> np.ndarray:
    """`delta` with each missing entry computed by Black-Scholes on the row's IV, T = blackscholes.year_fraction(dte)
    (`dte` in days, NaN when unknown). An IV outside (0, MAX_TRUSTED_IV] gives no delta, so such a row can never
    match; bad spot, strike, side or DTE give NaN. `delta` itself is returned when there is nothing to derive."""
    derive = np.isnan(delta) & (iv > 0) & (iv <= blackscholes.MAX_TRUSTED_IV)
    if not derive.any():
        return delta
    filled = delta.copy()
    filled[derive] = blackscholes.delta(side[derive], spot[derive], strike[derive],
                                        blackscholes.year_fraction(dte[derive]), iv[derive], rate, dividend_yield)
    return filled


def fill_delta(frame: pd.DataFrame, as_of: date, rate: float, dividend_yield: float,
               iv_from_mid: bool = True) -> pd.DataFrame:
    """A normalized chain (numeric columns already floats) with its missing deltas from `deltas_from_iv`.

    With `iv_from_mid`, a row with a positive bid and ask but no IV first gets the IV its mid implies.
    """
    missing = frame["delta"].isna().to_numpy()
    if not missing.any():
        return frame
    out = frame.copy()
    dte = days_to_expiry(out, as_of)
    side, spot, strike = out["side"].to_numpy(dtype=str), out["underlying_price"].to_numpy(), out["strike"].to_numpy()
    iv = out["iv"].to_numpy(dtype=float, copy=True)
    if iv_from_mid:
        bid, ask = out["bid"].to_numpy(), out["ask"].to_numpy()
        solve = np.isnan(iv) & (bid > 0) & (ask >= bid)
        if solve.any():
            mid = (bid[solve] + ask[solve]) / 2
            iv[solve] = blackscholes.implied_vol(side[solve], mid, spot[solve], strike[solve],
                                                 blackscholes.year_fraction(dte[solve]), rate, dividend_yield)
            out["iv"] = iv
    out["delta"] = deltas_from_iv(out["delta"].to_numpy(dtype=float), side, spot, strike, dte, iv, rate, dividend_yield)
    return out
