"""The analysts' settings records in Redis: the watch-list and the screening criteria (a key each).

The page and the CLI change them only through this module, which validates everything first: bad input
raises SettingsError with the offending entries and nothing is written. Watch-list edits are read-modify-write
under WATCH, so two analysts editing at once never lose each other's change.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import redis

from scanner.errors import SettingsError
from scanner.scan.criteria import Criteria, validate_criteria
from scanner.scan.watchlist import (
    MAX_SYMBOLS,
    Entry,
    default_entries,
    entries_from_json,
    parse_csv,
    parse_symbols,
    to_csv,
)

log = logging.getLogger(__name__)
P = TypeVar("P")
R = TypeVar("R")

@dataclass(frozen=True)
class Added:
    added: list[str]
    already: list[str]


def _decode(raw: str | None) -> list[Entry]:
    if raw is None:
        return default_entries()
    try:
        return entries_from_json(json.loads(raw))
    except ValueError:
        log.warning("the stored watch-list is not JSON; showing the defaults")
        return default_entries()


def _parsed(parse: Callable[[P], list[R]], data: P, nothing: str) -> list[R]:
    """What `parse` reads from `data`; its ValueError, or nothing read, as a SettingsError."""
    try:
        parsed = parse(data)
    except ValueError as exc:
        raise SettingsError(str(exc)) from None
    if not parsed:
        raise SettingsError(nothing)
    return parsed


def _symbols(entries: str | Iterable[str]) -> list[str]:
    return _parsed(parse_symbols, entries, "no symbols given")


class WatchlistRecord:
    """The watch-list (``Keys.watchlist``): the default 26 until first saved."""

    def __init__(self, client: redis.Redis, key: str) -> None:
        self._client = client
        self._key = key

    def entries(self) -> list[Entry]:
        return _decode(self._client.get(self._key))

    def tickers(self) -> list[str]:
        """The active symbols: what a scan runs on."""
        return [entry.symbol for entry in self.entries() if entry.active]

    def _update(self, change: Callable[[list[Entry]], list[Entry]]) -> list[Entry]:
        """Apply ``change`` to the current list atomically (retried if another edit lands in between)."""

        def transaction(pipe: redis.client.Pipeline) -> list[Entry]:
            entries = change(_decode(pipe.get(self._key)))
            if len(entries) > MAX_SYMBOLS:
                raise SettingsError(f"the watch-list may hold at most {MAX_SYMBOLS} symbols ({len(entries)} given)")
            pipe.multi()
            pipe.set(self._key, json.dumps([entry.to_dict() for entry in entries]))
            return entries

        return self._client.transaction(transaction, self._key, value_from_callable=True)

    def add(self, entries: str | Iterable[str]) -> Added:
        """Add one symbol or a pasted list (active); a listed inactive symbol becomes active again."""
        symbols = _symbols(entries)
        outcome = Added([], [])

        def change(current: list[Entry]) -> list[Entry]:
            listed = {entry.symbol for entry in current}
            outcome.added[:] = [s for s in symbols if s not in listed]
            outcome.already[:] = [s for s in symbols if s in listed]
            wanted = set(symbols)
            return [Entry(e.symbol, True) if e.symbol in wanted else e for e in current] + \
                [Entry(s) for s in outcome.added]

        self._update(change)
        return outcome

    def edit(self, *, activate: str | Iterable[str] = (), deactivate: str | Iterable[str] = (),
             remove: str | Iterable[str] = ()) -> list[Entry]:
        """Switch symbols active/inactive and remove others in one write; an unknown symbol refuses the whole edit."""
        on, off, gone = (set(_symbols(group)) if group else set() for group in (activate, deactivate, remove))
        if not on | off | gone:
            raise SettingsError("no symbols given")

        def change(current: list[Entry]) -> list[Entry]:
            unknown = sorted((on | off | gone) - {entry.symbol for entry in current})
            if unknown:
                raise SettingsError(f"not on the watch-list: {', '.join(unknown)}")
            return [Entry(e.symbol, e.symbol in on or (e.active and e.symbol not in off))
                    for e in current if e.symbol not in gone]

        return self._update(change)

    def import_csv(self, data: bytes | str, *, replace: bool) -> list[Entry]:
        """Merge (imported rows win) or replace the list with a CSV's rows; a bad row refuses the whole file."""
        imported = _parsed(parse_csv, data, "the file holds no symbols")
        if replace:
            return self._update(lambda current: imported)
        by_symbol = {entry.symbol: entry for entry in imported}
        return self._update(lambda current: [by_symbol.pop(e.symbol, e) for e in current] + list(by_symbol.values()))

    def export_csv(self) -> str:
        return to_csv(self.entries())


class CriteriaRecord:
    """The screening criteria (``Keys.criteria``): the defaults until first saved."""

    def __init__(self, client: redis.Redis, key: str) -> None:
        self._client = client
        self._key = key

    def load(self) -> Criteria:
        """The saved criteria, or the defaults (also when the stored value no longer validates)."""
        try:
            raw = json.loads(self._client.get(self._key) or "null")
        except ValueError:
            raw = None
        if not isinstance(raw, dict):
            return Criteria()
        try:
            return validate_criteria(raw)
        except SettingsError:
            log.warning("stored criteria are invalid; using the defaults")
            return Criteria()

    def save(self, changes: Mapping[str, Any]) -> Criteria:
        """Merge ``changes`` into the stored criteria, validate the whole, and save it."""
        criteria = validate_criteria({**self.load().to_dict(), **changes})
        self._client.set(self._key, json.dumps(criteria.to_dict()))
        return criteria

    def reset(self) -> Criteria:
        self._client.delete(self._key)
        return Criteria()
