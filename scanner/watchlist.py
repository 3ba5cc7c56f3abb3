"""Ticker symbols: the default watch-list and the one validation rule every input goes through."""

from __future__ import annotations

import re
from typing import Iterable

DEFAULT_TICKERS = (
    "AAPL ADBE AMZN ANET ASML AVGO CRM CRWD DDOG DUOL GOOGL JPM MA META MSFT NFLX NOW NVDA PANW PLTR "
    "PYPL SHOP SPGI SPOT UBER V"
).split()

_SYMBOL = re.compile(r"[A-Z0-9.\-]{1,10}")
_SEPARATORS = re.compile(r"[\s,;]+")


class InvalidSymbols(ValueError):
    """Some entries are not symbols; ``bad`` lists them and nothing was accepted."""

    def __init__(self, bad: list[str]) -> None:
        self.bad = bad
        shown = ", ".join(repr(b) for b in bad[:10]) + (f" and {len(bad) - 10} more" if len(bad) > 10 else "")
        super().__init__(f"not a ticker symbol (1-10 of A-Z, 0-9, '.', '-'): {shown}")


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
        if _SYMBOL.fullmatch(symbol):
            seen.setdefault(symbol)
        else:
            bad.append(str(entry).strip())
    if bad:
        raise InvalidSymbols(bad)
    return list(seen)
