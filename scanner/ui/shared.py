"""What every session of one dashboard process shares: a scan's rows and views built once per scan version, and its
tables converted to Arrow once, however many viewers rerun on them.

Fifty viewers of a running scan rerun on their own timers; the scan's version moves with every ticker, so nearly
each rerun finds a version no session has read yet. ``NewestVersion`` keeps one value per key (a scan; a scan and
its filters) for the newest version built, and drops the older one as soon as a newer one is built: keyed on the
version in ``st.cache_resource``, the older versions' frames stayed until the entry limit pushed them out (16 rows
and 32 views of a running scan). A session that read an older version a moment before another read a newer one
gets the newer value (a scan's versions only add rows) instead of building the older one again, and sessions
asking for a key being built wait for that build instead of repeating it. A running scan's rows may also be
served for ``reuse_within`` seconds after they were built although newer ones exist: fifty viewers on their own
timers otherwise each find a new version and decode the whole running scan again (89 decodes of it in a 38 s scan,
a whole core, bench/bench_viewers.py).

``arrow_table`` is the one conversion of a table to Arrow: ``st.dataframe`` converts a DataFrame on every call, 56
tables a rerun on the main page, which was most of a rerun's time; given the Arrow table it only copies the bytes.
It converts each frame object once while that object lives (the views keep theirs, so every session reuses them);
``select`` gives the same object for the same columns (and first rows) of a frame, for tables that show part of
a view's frame.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

import pandas as pd
import pyarrow as pa

T = TypeVar("T")
Version = Any  # a scan's version, or a tuple starting with it: ordered, newer is greater


class NewestVersion(Generic[T]):
    """One value per key, for the newest version built; at most ``max_keys`` keys, the least recently used
    dropped."""

    def __init__(self, max_keys: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_keys = max_keys
        self.clock = clock  # monotonic seconds: when a value was built, for ``reuse_within``
        self._entries: OrderedDict[Hashable, tuple[Version, T, float]] = OrderedDict()  # version, value, built at
        self._building: dict[Hashable, threading.Lock] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, version: Version, build: Callable[[], T]) -> T:
        """The value of ``key`` at ``version`` or newer: the stored one, else ``build()`` (once, whoever else asks
        meanwhile), which then replaces the older version ``key`` held."""
        return self.held(key, version, build)[1]

    def held(self, key: Hashable, version: Version, build: Callable[[], T],
             reuse_within: float = 0.0) -> tuple[Version, T]:
        """``get``, with the version of the value returned; an older one built less than ``reuse_within`` seconds
        ago is returned as it is."""
        with self._lock:
            if (found := self._current(key, version, reuse_within)) is not None:
                return found
            building = self._building.setdefault(key, threading.Lock())
        with building:
            with self._lock:
                if (found := self._current(key, version, reuse_within)) is not None:
                    return found
            value = build()
            with self._lock:
                if (found := self._current(key, version)) is not None:  # a newer one came in meanwhile
                    return found
                self._entries[key] = (version, value, self.clock())
                self._entries.move_to_end(key)
                while len(self._entries) > self.max_keys:
                    dropped, _ = self._entries.popitem(last=False)
                    self._building.pop(dropped, None)
        return version, value

    def _current(self, key: Hashable, version: Version, reuse_within: float = 0.0) -> tuple[Version, T] | None:
        """The stored version and value of ``key`` if it is of ``version`` or newer, or built within
        ``reuse_within`` seconds."""
        entry = self._entries.get(key)
        if entry is None or (entry[0] < version and self.clock() - entry[2] >= reuse_within):
            return None
        self._entries.move_to_end(key)
        return entry[0], entry[1]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


class _PerFrame(Generic[T]):
    """Values derived from a frame object, kept while that object lives (frames are unhashable: keyed by id, with
    a weak reference telling a live frame from a new one at a reused id)."""

    def __init__(self) -> None:
        self._values: dict[tuple[int, Hashable], tuple[weakref.ref, T]] = {}

    def get(self, frame: pd.DataFrame, what: Hashable, make: Callable[[], T]) -> T:
        key = (id(frame), what)
        found = self._values.get(key)
        if found is not None and found[0]() is frame:
            return found[1]
        value = make()
        self._values[key] = (weakref.ref(frame, lambda _ref: self._values.pop(key, None)), value)
        return value


_TABLES: _PerFrame[pa.Table] = _PerFrame()
_SELECTIONS: _PerFrame[pd.DataFrame] = _PerFrame()


def arrow_table(frame: pd.DataFrame) -> pa.Table:
    """``frame`` as Arrow, without its index (the tables hide it; a pick is a row position), converted once."""
    return _TABLES.get(frame, None, lambda: pa.Table.from_pandas(frame, preserve_index=False))


def select(frame: pd.DataFrame, columns: tuple[str, ...], head: int | None = None) -> pd.DataFrame:
    """``frame``'s ``columns`` (its first ``head`` rows when given): the same object each time while ``frame``
    lives, so its Arrow conversion is shared too."""
    return _SELECTIONS.get(frame, (columns, head),
                           lambda: (frame if head is None else frame.head(head))[list(columns)])
