"""The books of positions in Redis (``Keys.positions``: a hash, one field per book).

With login each user's book is the field named by a digest of their e-mail, so nothing a user can type names
another's book (the original app let any logged-in user read and write any campaign by its id); without login, or
from the CLI without ``--user``, the shared book. Every change is validated first (``scanner.scan.positions``) and
written read-modify-write under WATCH: a refusal saves nothing, and two edits at once never lose each other's.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from typing import Any

import redis

from scanner.scan.positions import Book, Holding, PositionsError, ShortOption, merged, parse_csv, to_csv
from scanner.store.keys import Keys

log = logging.getLogger(__name__)
SHARED_BOOK = "shared"


def book_field(user: str | None) -> str:
    """The hash field of a user's book (an e-mail, case and spaces ignored), or the shared book's for None."""
    email = (user or "").strip().lower()
    return f"user:{hashlib.sha256(email.encode()).hexdigest()}" if email else SHARED_BOOK


def _decode(raw: str | None) -> Book:
    if raw is None:
        return Book()
    try:
        return Book.from_dict(json.loads(raw))
    except (ValueError, PositionsError):
        log.warning("a stored book of positions does not validate; showing it empty")
        return Book()


class PositionsRecord:
    """One book: ``user`` (an e-mail) or None for the shared one."""

    def __init__(self, client: redis.Redis, keys: Keys, user: str | None = None) -> None:
        self._client = client
        self._key = keys.positions
        self._field = book_field(user)
        self.user = (user or "").strip().lower() or None

    def load(self) -> Book:
        return _decode(self._client.hget(self._key, self._field))

    def _update(self, change: Callable[[Book], Book]) -> Book:
        """Apply ``change`` to the stored book atomically (retried if another edit lands in between)."""

        def transaction(pipe: redis.client.Pipeline) -> Book:
            book = change(_decode(pipe.hget(self._key, self._field)))
            pipe.multi()
            pipe.hset(self._key, self._field, json.dumps(book.to_dict()))
            return book

        return self._client.transaction(transaction, self._key, value_from_callable=True)

    def add_stock(self, ticker: Any, shares: Any, cost_basis: Any) -> Holding:
        """Add the holding, or replace the ticker's."""
        holding = _valid(lambda: Holding.of(ticker, shares, cost_basis))
        self._update(lambda book: book.with_holding(holding))
        return holding

    def add_option(self, option_symbol: Any, contracts: Any, premium: Any, opened_on: Any = None) -> ShortOption:
        """Add the open short option, or replace the one of the same symbol."""
        option = _valid(lambda: ShortOption.of(option_symbol, contracts, premium, opened_on))
        self._update(lambda book: book.with_option(option))
        return option

    def set_cash(self, amount: Any) -> Book:
        book = _valid(lambda: Book().with_cash(amount))
        return self._update(lambda current: current.with_cash(book.cash))

    def remove(self, symbol: str) -> Book:
        """Remove a ticker's holding or an option (expired worthless, closed); refused when the book has neither."""
        return self._update(lambda book: book.without(symbol))

    def record_assigned(self, option_symbol: str) -> Book:
        return self._update(lambda book: book.assigned(option_symbol))

    def import_csv(self, data: bytes | str, *, replace: bool) -> Book:
        """Merge (imported rows win) or replace the book with a CSV's rows; one bad row refuses the whole file."""
        imported = parse_csv(data)
        if imported.empty:
            raise PositionsError(["the file holds no positions"])
        return self._update(lambda current: imported if replace else merged(current, imported))

    def export_csv(self) -> str:
        return to_csv(self.load())


def _valid(build: Callable[[], Any]) -> Any:
    """What `build` makes, its ValueError as a PositionsError."""
    try:
        return build()
    except PositionsError:
        raise
    except ValueError as exc:
        raise PositionsError([str(exc)]) from None
