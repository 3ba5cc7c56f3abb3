"""Ticker symbols: the default watch-list, the one validation rule every input goes through, and the
watch-list's rows and CSV form (stored by ``settings_store``)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from scanner.errors import InvalidCsv, InvalidSymbols, first_ten
from scanner.results.formulas import neutral_text

DEFAULT_TICKERS = (
    "AAPL ADBE AMZN ANET ASML AVGO CRM CRWD DDOG DUOL GOOGL JPM MA META MSFT NFLX NOW NVDA PANW PLTR "
    "PYPL SHOP SPGI SPOT UBER V"
).split()

SYMBOL = re.compile(r"[A-Z0-9][A-Z0-9.\-]{0,9}")  # a leading "-" or "." is no symbol, and a spreadsheet formula
_SEPARATORS = re.compile(r"[\s,;]+")


def parse_symbols(entries: str | Iterable[str]) -> list[str]:
    """Upper-cased, de-duplicated symbols in first-seen order; raises InvalidSymbols listing every bad one."""
    if isinstance(entries, str):
        entries = _SEPARATORS.split(entries)
    seen: dict[str, None] = {}
    bad: list[str] = []
    for entry in entries:
        symbol = str(entry).strip().upper()
        if not symbol:
            continue
        if SYMBOL.fullmatch(symbol):
            seen.setdefault(symbol)
        else:
            bad.append(str(entry).strip())
    if bad:
        raise InvalidSymbols(bad)
    return list(seen)


MAX_SYMBOLS = 1000  # a scan of more would run for hours; a paste that long is a mistake
_TRUE = ("", "1", "true", "yes", "y", "on", "active")
_FALSE = ("0", "false", "no", "n", "off", "inactive")
_HEADERS = ("symbol", "ticker")


@dataclass(frozen=True)
class Entry:
    """One watch-list row: an inactive symbol stays listed but is not scanned."""

    symbol: str
    active: bool = True

    def to_dict(self) -> dict[str, str | bool]:
        return {"symbol": self.symbol, "active": self.active}


def default_entries() -> list[Entry]:
    return [Entry(symbol) for symbol in DEFAULT_TICKERS]


def entries_from_json(raw: Any) -> list[Entry]:
    """The stored list, keeping only well-formed entries (the store is written validated; this guards edits by hand)."""
    if not isinstance(raw, list):
        return []
    entries: dict[str, Entry] = {}
    for item in raw:
        if not isinstance(item, dict) or not isinstance(item.get("symbol"), str):
            continue
        symbol = item["symbol"].strip().upper()
        if SYMBOL.fullmatch(symbol):
            entries.setdefault(symbol, Entry(symbol, item.get("active", True) is not False))
    return list(entries.values())


def _active_flag(raw: str) -> bool | None:
    value = raw.strip().lower()
    return True if value in _TRUE else False if value in _FALSE else None


def parse_csv(data: bytes | str) -> list[Entry]:
    """Rows ``symbol[,active]`` (a ``symbol``/``ticker`` header optional, other columns ignored); duplicates
    collapse to the first. Raises InvalidCsv listing every bad row, so nothing is half-imported."""
    try:
        text = data.decode("utf-8-sig") if isinstance(data, bytes) else data.lstrip("\ufeff")
        rows = [row for row in csv.reader(io.StringIO(text)) if any(cell.strip() for cell in row)]
    except (UnicodeDecodeError, csv.Error) as exc:
        raise InvalidCsv(f"not a readable CSV file ({type(exc).__name__})") from None
    symbol_col, active_col = 0, 1
    if rows and rows[0][0].strip().lower() in _HEADERS:
        header = [cell.strip().lower() for cell in rows.pop(0)]
        symbol_col = next(i for i, name in enumerate(header) if name in _HEADERS)
        active_col = header.index("active") if "active" in header else -1
    entries: dict[str, Entry] = {}
    bad: list[str] = []
    for row in rows:
        raw_symbol = row[symbol_col].strip() if symbol_col < len(row) else ""
        raw_active = row[active_col] if 0 <= active_col < len(row) else ""
        symbol, active = raw_symbol.upper(), _active_flag(raw_active)
        if not SYMBOL.fullmatch(symbol):
            bad.append(raw_symbol or ",".join(row))
        elif active is None:
            bad.append(f"{raw_symbol} (active={raw_active.strip()!r})")
        else:
            entries.setdefault(symbol, Entry(symbol, active))
    if bad:
        raise InvalidCsv("rows that are not 'symbol[,active]' (symbol: 1-10 of A-Z, 0-9, '.', '-', the first a letter "
                         f"or digit): {first_ten(bad)}",
                         bad)
    return list(entries.values())


def to_csv(entries: Iterable[Entry]) -> str:
    """The export format, which parse_csv reads back; a cell a spreadsheet would run is neutralized all the same."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["symbol", "active"])
    writer.writerows([neutral_text(entry.symbol), str(entry.active).lower()] for entry in entries)
    return out.getvalue()
