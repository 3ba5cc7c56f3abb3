"""Option-chain files in a folder (SCANNER_SNAPSHOT_DIR), so an analyst can scan an end-of-day export offline.

Formats, told apart by content: the normalized CSV/Parquet of the DESIGN (CHAIN_COLUMNS; delta may be
absent), MarketData chain JSON, and Schwab/TD Ameritrade chain JSON (`putExpDateMap`/`callExpDateMap`,
IV in percent, greeks as "NaN" strings or -999). Files are read once per scan, on the first fetch.
DTE counts from the snapshot's quote date (the newest in the folder; `scan --as-of` overrides it), and
a ticker found in files of several dates keeps only its newest. Per ticker and side the scan takes the
first `weeks` expirations on or after the quote date (or, with a DTE window, every one in it), OTM,
`strike_limit` strikes nearest the money.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from scanner.config import Settings
from scanner.errors import ConfigError, ProviderError
from scanner.market.calendar import NY
from scanner.market.candles import DailyCloses
from scanner.market.events import TickerEvents
from scanner.providers.base import ChainRequest, Registered
from scanner.providers.chains import empty_chain, fill_delta, nearest_otm, normalized
from scanner.providers.events_file import events_of, read_events
from scanner.providers.marketdata import chain_frame
from scanner.scan.book import quotes_by_symbol
from scanner.scan.positions import Contract

log = logging.getLogger(__name__)

SUFFIXES = (".csv", ".parquet", ".json")
CANDLES_FOLDER = "candles"  # <TICKER>.csv of date,close: what HV rests on
_REQUIRED = ("ticker", "side", "expiration", "strike")
_TD_MALFORMED = "malformed Schwab/TD Ameritrade chain"
_TD_MISSING = -999.0  # TD/Schwab's placeholder for a greek or IV it could not compute
_TD_FIELDS = {  # normalized column <- TD/Schwab contract field
    "option_symbol": "symbol", "side": "putCall", "strike": "strikePrice", "bid": "bid", "ask": "ask",
    "last": "last", "volume": "totalVolume", "open_interest": "openInterest", "iv": "volatility", "delta": "delta",
    "expiration": "expirationDate", "quote_date": "quoteTimeInLong",
}


def _ny_dates_ms(values: pd.Series) -> pd.Series:
    stamps = pd.to_datetime(pd.to_numeric(values, errors="coerce"), unit="ms", utc=True)
    return stamps.dt.tz_convert(NY).dt.date


def td_frame(payload: Mapping[str, Any]) -> pd.DataFrame:
    """A Schwab/TD Ameritrade chain response as normalized rows (IV from percent to a fraction); ValueError when
    its maps do not hold contract objects, so one bad file is skipped rather than failing the scan."""
    try:
        records = [contract
                   for side_map in (payload.get("putExpDateMap") or {}, payload.get("callExpDateMap") or {})
                   for strikes in side_map.values() for contracts in strikes.values() for contract in contracts]
    except (AttributeError, TypeError):
        records = [None]
    if not all(isinstance(contract, dict) for contract in records):
        raise ValueError(f"{_TD_MALFORMED} (expected expirations of strikes, each a list of contract objects)")
    raw = pd.DataFrame.from_records(records).reindex(columns=list(_TD_FIELDS.values()))
    frame = normalized(raw.rename(columns={source: name for name, source in _TD_FIELDS.items()}).assign(
        ticker=payload.get("symbol"), underlying_price=payload.get("underlyingPrice")))
    for name in ("iv", "delta"):
        frame.loc[frame[name] == _TD_MISSING, name] = np.nan
    frame["iv"] = frame["iv"] / 100
    frame["expiration"] = _ny_dates_ms(raw["expirationDate"])
    frame["quote_date"] = _ny_dates_ms(raw["quoteTimeInLong"])
    return frame


def _tabular(frame: pd.DataFrame) -> pd.DataFrame:
    missing = [name for name in _REQUIRED if name not in frame]
    if missing:
        raise ValueError(f"not a chain file (no {', '.join(missing)} column)")
    out = normalized(frame)
    for name in ("expiration", "quote_date"):
        out[name] = pd.to_datetime(out[name], errors="coerce").dt.date
    return out


def read_chain_file(path: Path) -> pd.DataFrame:
    """One snapshot file as normalized rows; ValueError when it is none of the known formats."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _tabular(pd.read_csv(path))
    if suffix == ".parquet":
        return _tabular(pd.read_parquet(path))
    payload = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(payload, dict):
        raise ValueError("not a chain file (JSON is not an object)")
    if "putExpDateMap" in payload or "callExpDateMap" in payload:
        return td_frame(payload)
    if payload.get("s") == "ok" and "optionSymbol" in payload:
        try:
            return chain_frame(payload)
        except ProviderError as exc:
            raise ValueError(str(exc)) from None
    raise ValueError("not a chain file (neither a MarketData nor a Schwab/TD Ameritrade chain)")


@dataclass(frozen=True)
class _Snapshot:
    by_ticker: dict[str, pd.DataFrame]
    quote_date: date | None
    dated: dict[tuple[str, date], pd.DataFrame]  # every ticker's rows per quote date, older files too


class SnapshotProvider(Registered):
    """Chains from files (DESIGN "Data sources": snapshot)."""

    def __init__(self, settings: Settings) -> None:
        if settings.snapshot_dir is None:
            raise ConfigError("SCANNER_SNAPSHOT_DIR is not set: the snapshot source needs a folder of chain files")
        if not settings.snapshot_dir.is_dir():
            raise ConfigError(f"SCANNER_SNAPSHOT_DIR is not a folder: {settings.snapshot_dir}")
        self.folder = settings.snapshot_dir
        self._rate, self._dividend_yield = settings.risk_free_rate, settings.dividend_yield
        self._lock = threading.Lock()
        self._snapshot: _Snapshot | None = None
        self._events: dict[str, TickerEvents] | None = None  # events.csv, read on the first ask

    @property
    def label(self) -> str:
        return f"{super().label} ({self.folder.name})"

    def quote_date(self, request: ChainRequest) -> date:
        if request.as_of:
            return request.as_of
        quote_date = self._load().quote_date
        if quote_date is None:
            raise ConfigError(f"no quote date in the chain files of {self.folder}: pass scan --as-of YYYY-MM-DD")
        return quote_date

    def fetch(self, ticker: str, request: ChainRequest) -> pd.DataFrame:
        symbol = str(ticker).strip().upper()
        rows = self._load().by_ticker.get(symbol)
        if rows is None:
            raise ProviderError(f"{symbol}: not in the snapshot files of {self.folder.name}")
        return self._selected(rows, request, self.quote_date(request))

    def option_quotes(self, option_symbols: list[str], request: ChainRequest) -> pd.DataFrame:
        """Contracts by OCC symbol (an open short option in the money, or of an expiration the scan does not take)
        from the ticker's rows in the files, whatever their moneyness or expiration."""
        quote_date = self.quote_date(request)

        def ticker_rows(ticker: str, _: list[Contract]) -> pd.DataFrame:
            rows = self._load().by_ticker.get(ticker)
            if rows is None:
                raise ProviderError(f"{ticker}: not in the snapshot files of {self.folder.name}")
            return rows.assign(quote_date=rows["quote_date"].fillna(quote_date))

        quotes = quotes_by_symbol(option_symbols, ticker_rows, "snapshot")
        return fill_delta(quotes, quote_date, self._rate, self._dividend_yield) if len(quotes) else quotes

    def quote_dates(self) -> list[date]:
        """Every quote date the folder's files hold, oldest first: what an IV history backfill can read."""
        return sorted({day for _, day in self._load().dated})

    def fetch_dated(self, ticker: str, request: ChainRequest) -> pd.DataFrame:
        """As fetch, from the files of the quote date `request.as_of` (not the ticker's newest); empty when the
        folder holds none of that day for it."""
        symbol = str(ticker).strip().upper()
        rows = self._load().dated.get((symbol, request.as_of))
        return empty_chain() if rows is None else self._selected(rows, request, request.as_of)

    def _selected(self, rows: pd.DataFrame, request: ChainRequest, quote_date: date) -> pd.DataFrame:
        """The request's expirations and OTM strikes of one ticker's rows, deltas filled."""
        rows = rows.assign(quote_date=rows["quote_date"].fillna(quote_date))
        expiration = pd.to_datetime(rows["expiration"])
        upcoming = expiration >= pd.Timestamp(quote_date)
        if request.dte_window is None:
            wanted = np.sort(expiration[upcoming].unique())[:request.weeks]
        else:
            wanted = request.in_window({day.date() for day in expiration[upcoming]}, quote_date)
        rows = rows[upcoming & expiration.isin(pd.to_datetime(wanted))]
        return fill_delta(nearest_otm(rows, request.sides, request.strike_limit), quote_date, self._rate,
                          self._dividend_yield)

    def events(self, ticker: str, as_of: date) -> TickerEvents:
        """From the folder's optional events.csv (providers.events_file), read once per scan."""
        with self._lock:
            if self._events is None:
                self._events = read_events(self.folder)
        return events_of(self._events, ticker, as_of)

    def candles(self, ticker: str, as_of: date) -> DailyCloses:
        """The folder's optional `candles/<TICKER>.csv` (`date,close`); none without it. ProviderError when the file
        is there but unreadable."""
        symbol = str(ticker).strip().upper()
        path = self.folder / CANDLES_FOLDER / f"{symbol}.csv"
        if not path.is_file():
            return DailyCloses()
        try:
            frame = pd.read_csv(path, usecols=["date", "close"], dtype={"date": str})
            days = [date.fromisoformat(text.strip()) for text in frame["date"]]
        except (ValueError, OSError, UnicodeDecodeError, AttributeError) as exc:
            raise ProviderError(f"{symbol}: {CANDLES_FOLDER}/{path.name} unreadable ({exc})") from None
        return DailyCloses.of(zip(days, frame["close"], strict=True), before=as_of)

    def _load(self) -> _Snapshot:
        """Every readable file of the folder, once; unreadable files are logged and skipped."""
        with self._lock:
            if self._snapshot is None:
                self._snapshot = self._read_folder()
            return self._snapshot

    def _read_folder(self) -> _Snapshot:
        frames = []
        for path in sorted(p for p in self.folder.iterdir() if p.suffix.lower() in SUFFIXES and p.is_file()):
            try:
                frames.append(read_chain_file(path))
            except (ValueError, OSError, UnicodeDecodeError) as exc:
                log.warning("snapshot file %s skipped: %s", path.name, exc)
        frames = [frame for frame in frames if len(frame)]
        if not frames:
            return _Snapshot({}, None, {})
        rows = pd.concat(frames, ignore_index=True)
        rows = rows[rows["ticker"].notna()]
        dates = pd.to_datetime(rows["quote_date"])
        dated = {(str(ticker), day.date()): group.reset_index(drop=True)
                 for (ticker, day), group in rows.groupby(["ticker", dates]) if not pd.isna(day)}
        newest = dates.groupby(rows["ticker"]).transform("max")
        rows = rows[newest.isna() | (dates == newest)]  # a ticker's older snapshots give way to its newest
        latest = dates.max()
        return _Snapshot({str(t): group.reset_index(drop=True) for t, group in rows.groupby("ticker")},
                         None if pd.isna(latest) else latest.date(), dated)
