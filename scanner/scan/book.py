"""Screening against the trader's book (issue 18), applied to each ticker's rows after ``screen()``.

A scan records the book it ran with (``BookPlan.record``); per ticker it fetches the sides the book needs too
(calls on shares held, an open option's side for its rolls), and after screening:

- calls on a ticker with at least 100 shares match only at strikes ≥ the cost basis (≥ basis − the call's bid with
  ``call_strike_below_basis_by_bid``) and only while shares are free: ``contracts_fit`` = floor(shares / 100) −
  calls already written, the call ``if_called_basis_return_pct = (bid + K − basis) / basis × 100``;
- puts with cash set: ``contracts_fit = floor((cash − collateral of open short puts) / (K × 100))``;
- rows of a side fetched only for the book's rolls never match.

Whole-column numpy over the ticker's rows, like screening itself.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from scanner.errors import ProviderError
from scanner.providers.base import ChainRequest, Provider
from scanner.providers.chains import empty_chain
from scanner.scan.criteria import Criteria
from scanner.scan.positions import SHARES_PER_CONTRACT, Book, Contract, PositionsError, parse_option_symbol
from scanner.schema import BOOK_COLUMNS, Side

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BookPlan:
    """The book a scan runs with: whose (``book``: the store's field, never an e-mail), its positions, and the
    tickers only the book asked for (not on the watch-list: scanned for the book's sides alone)."""

    book: Book = field(default_factory=Book)
    owner: str = ""
    added_tickers: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        """No holding, option, cash or added ticker: the scan ran as if without a book."""
        book = self.book
        return not (book.holdings or book.options or book.cash is not None or self.added_tickers)

    def record(self) -> dict[str, Any]:
        """What the scan's hash keeps (``ScanMeta.positions``)."""
        return {"owner": self.owner, **self.book.to_dict(), "added_tickers": list(self.added_tickers)}

    @classmethod
    def of_scan(cls, record: Mapping[str, Any]) -> BookPlan:
        """The plan a scan recorded; a scan stored before books existed (or a record that no longer validates)
        runs with an empty book."""
        if not record:
            return cls()
        try:
            book = Book.from_dict({name: record.get(name) for name in ("holdings", "options", "cash")})
        except PositionsError:
            log.warning("the scan's recorded book does not validate; scanning without it")
            return cls()
        return cls(book, str(record.get("owner") or ""), tuple(map(str, record.get("added_tickers") or ())))

    @classmethod
    def for_scan(cls, book: Book, owner: str, tickers: list[str]) -> tuple[BookPlan, list[str]]:
        """The plan and the scan's tickers: `tickers` then those only the book holds."""
        added = tuple(t for t in book.tickers if t not in tickers)
        return cls(book, owner, added), [*tickers, *added]

    def sides(self, ticker: str, criteria: Criteria) -> tuple[str, ...]:
        """The sides to fetch and screen for `ticker`: the criteria's (unless only the book asked for it) and the
        book's."""
        wanted = set(self.book.sides_for(ticker)) | (set() if ticker in self.added_tickers else set(criteria.sides))
        return tuple(sorted(wanted)) or criteria.sides

    def request(self, ticker: str, request: ChainRequest, criteria: Criteria) -> ChainRequest:
        sides = self.sides(ticker, criteria)
        return request if sides == request.sides else replace(request, sides=sides)

    def hidden_from_others(self, rows: pd.DataFrame, sides: tuple[str, ...]) -> np.ndarray:
        """Which of a scan's `rows` (screened for the scan's `sides`) a viewer other than its starter does not see
        (``others_view``): those only this book asked for and the calls it screened against held shares. The
        scan counts them as it writes, so that other viewers read its counts without them."""
        if self.empty or rows.empty:
            return np.zeros(len(rows), dtype=bool)
        tickers, side = rows["ticker"].to_numpy(dtype=object), rows["side"].to_numpy(dtype=object)
        held = [h.ticker for h in self.book.holdings if h.lots]
        hidden = (np.isin(tickers, list(self.added_tickers)) | ~np.isin(side, sides)
                  | ((side == Side.CALL.value) & np.isin(tickers, held)))
        for option in self.book.options:
            hidden |= _quote_mask(rows, option.contract)
        return hidden

    def criteria_for(self, ticker: str, criteria: Criteria) -> Criteria:
        """The criteria `ticker` is screened with: the scan's, on the sides fetched for it (``sides``); the book's
        rules then apply on the scan's own criteria (``apply_book``)."""
        sides = self.sides(ticker, criteria)
        return replace(criteria, side=sides[0] if len(sides) == 1 else "both")


def with_open_quotes(chain: pd.DataFrame, book: Book, ticker: str, provider: Provider,
                     request: ChainRequest) -> pd.DataFrame:
    """`chain` plus the quotes of the book's open contracts on `ticker` it lacks (an open contract gone in the money
    is outside an OTM chain; an expired one is not asked for), fetched by option symbol from a source that offers
    ``option_quotes``; without one, or when it fails, the chain as it is (the roll then shows no quote for it)."""
    quotes: Callable[[list[str], ChainRequest], pd.DataFrame] | None = getattr(provider, "option_quotes", None)
    if quotes is None:
        return chain
    quote_date = provider.quote_date(request)
    symbols = [o.option_symbol for o in book.options  # an expired contract has no quote: it asks to be recorded
               if o.contract.ticker == ticker and o.contract.expiration >= quote_date]
    if not symbols:
        return chain
    present = set(zip(chain["side"], pd.to_datetime(chain["expiration"]).dt.date,
                      pd.to_numeric(chain["strike"], errors="coerce"), strict=True)) if len(chain) else set()
    contracts = {o.option_symbol: o.contract for o in book.options}
    missing = [s for s in symbols
               if (contracts[s].side.value, contracts[s].expiration, contracts[s].strike) not in present]
    if not missing:
        return chain
    try:
        fetched = quotes(missing, request)
    except ProviderError as exc:
        log.warning("quotes of %s not fetched: %s", ", ".join(missing), exc)
        return chain
    return pd.concat([chain, fetched], ignore_index=True) if len(fetched) else chain


ContractRows = Callable[[str, list[Contract]], pd.DataFrame]  # (ticker, its contracts) -> rows holding them


def quotes_by_symbol(option_symbols: list[str], rows_of: ContractRows, source: str) -> pd.DataFrame:
    """The quotes of the contracts `option_symbols` name (an open option ``option_quotes`` is asked for), picked
    from the normalized rows `rows_of` gives per ticker (a source's whole file, or the expirations asked for) by
    ticker, side, expiration and strike, as sources pad and spell roots differently. Never raises for a contract:
    an unreadable symbol, a ticker whose rows fail (ProviderError) and a contract absent or without a bid and an
    ask are left out, each said in one warning naming `source` and why, so the roll shows "no quote" for it."""
    contracts: dict[str, list[tuple[str, Contract]]] = {}
    for text in option_symbols:
        try:
            contract = parse_option_symbol(text)
        except ValueError as exc:
            log.warning("%s: no quote asked: %s", source, exc)
            continue
        contracts.setdefault(contract.ticker, []).append((text, contract))
    found = []
    for ticker, named in contracts.items():
        try:
            rows = rows_of(ticker, [contract for _, contract in named])
        except ProviderError as exc:
            log.warning("%s: open contracts %s not quoted: %s", source, ", ".join(text for text, _ in named), exc)
            continue
        for text, contract in named:
            quote = _quote_row(rows, contract)
            if quote is None:
                log.warning("%s: no quote for the open contract %s (not listed, or no bid and ask)", source, text)
            else:
                found.append(quote)
    return pd.concat(found, ignore_index=True) if found else empty_chain()


def _quote_mask(rows: pd.DataFrame, contract: Contract) -> np.ndarray:
    """Which of `rows` are `contract` (ticker, side, expiration and strike)."""
    expiration = pd.to_datetime(rows["expiration"], errors="coerce").dt.date
    return ((rows["ticker"] == contract.ticker).to_numpy(dtype=bool, na_value=False)
            & (rows["side"] == contract.side.value).to_numpy(dtype=bool, na_value=False)
            & (expiration == contract.expiration).to_numpy(dtype=bool)
            & np.isclose(_floats(rows, "strike"), contract.strike))


def _quote_row(rows: pd.DataFrame, contract: Contract) -> pd.DataFrame | None:
    """The first row of `rows` that is `contract` with a bid ≥ 0 and an ask > 0, as a one-row frame; None."""
    if rows.empty:
        return None
    with np.errstate(invalid="ignore"):
        same = _quote_mask(rows, contract) & (_floats(rows, "bid") >= 0) & (_floats(rows, "ask") > 0)
    at = np.flatnonzero(same)
    return rows.iloc[at[:1]] if len(at) else None


def _floats(rows: pd.DataFrame, name: str) -> np.ndarray:
    return rows[name].to_numpy(dtype=float, na_value=np.nan)


def apply_book(rows: pd.DataFrame, book: Book, criteria: Criteria) -> pd.DataFrame:
    """The screened `rows` of one ticker with the book's rules and columns (see the module's docstring)."""
    rows = rows.copy()
    n = len(rows)
    side = rows["side"].to_numpy(dtype=object, na_value="")
    tickers = rows["ticker"].to_numpy(dtype=object, na_value="")
    strike, bid = _floats(rows, "strike"), _floats(rows, "bid")
    is_call, is_put = side == Side.CALL.value, side == Side.PUT.value
    holdings = {h.ticker: h for h in book.holdings if h.lots}
    codes, distinct = pd.factorize(tickers)  # a batch's few tickers, each looked up once, not once per row
    basis = np.array([holdings[t].cost_basis if t in holdings else np.nan for t in distinct] + [np.nan])[codes]
    free_calls = np.array([book.calls_free(t) for t in distinct] + [0.0], dtype=float)[codes]
    covered = is_call & ~np.isnan(basis)
    match = rows["match"].to_numpy(dtype=bool, na_value=False)
    with np.errstate(all="ignore"):
        floor = basis - (np.maximum(bid, 0) if criteria.call_strike_below_basis_by_bid else 0)
        below_basis = covered & (strike < floor)
        no_shares = covered & ~below_basis & (free_calls < 1)
        fetched_for_rolls = ~np.isin(side, criteria.sides) & ~covered
        if_called = np.where(covered, (bid + strike - basis) / basis * 100, np.nan)
        free_cash = book.free_cash
        put_fit = (np.floor(free_cash / (strike * SHARES_PER_CONTRACT)) if free_cash is not None
                   else np.full(n, np.nan))
        fit = np.where(is_put, np.maximum(put_fit, 0), np.where(covered, free_calls, np.nan))
    basis_words = "cost basis − bid" if criteria.call_strike_below_basis_by_bid else "cost basis"
    fails = below_basis | no_shares | fetched_for_rolls
    words = [
        f"fetched for the book's rolls ({side[i]}s not screened, side {criteria.side})" if fetched_for_rolls[i]
        else f"strike {strike[i]:.2f} < {basis_words} {floor[i]:.2f}" if below_basis[i]
        else f"no shares free to cover: {holdings[tickers[i]].lots} lots, {book.calls_written(tickers[i])} "
             "calls written"
        for i in np.flatnonzero(fails & match)]
    reason = rows["reason"].to_numpy(dtype=object, na_value="")
    reason[fails & match] = words
    rules_failed = rows["rules_failed"].to_numpy(dtype=float, na_value=np.nan) + fails
    miss = _floats(rows, "miss_pct")
    with np.errstate(all="ignore"):
        miss = np.where(below_basis & match, (floor - strike) / floor * 100, np.where(fails & match, np.nan, miss))
    rows["reason"] = pd.array(reason, dtype="str")
    rows["rules_failed"] = pd.array(np.where(np.isnan(rules_failed), None, rules_failed), dtype="Int64")
    rows["miss_pct"] = miss
    rows["match"] = match & ~fails
    rows["score"] = np.where(rows["match"].to_numpy(), _floats(rows, "score"), np.nan)
    rows["if_called_basis_return_pct"] = if_called
    rows["contracts_fit"] = pd.array(np.where(np.isnan(fit), None, fit), dtype="Int64")
    return rows


def others_view(rows: pd.DataFrame, positions: Mapping[str, Any], criteria: Mapping[str, Any]) -> pd.DataFrame:
    """A scan's `rows` as a viewer other than its starter sees them: none of the starter's book (`positions`, what
    the scan recorded). Left out: the rows that exist only for the book (tickers only it asked for, sides fetched
    for its rolls, its open contracts quoted by symbol) and the calls it screened (on tickers with 100+ shares
    held: their verdicts and reasons are the book's); blanked on the rest: the book's columns (puts sized by its
    cash). Rows of a scan run with an empty book are returned as they are."""
    plan = BookPlan.of_scan(positions)
    if rows.empty or plan.empty:
        return rows
    kept = rows[~plan.hidden_from_others(rows, Criteria.of_scan(criteria).sides)].copy()
    for name in BOOK_COLUMNS:
        if name in kept:
            kept[name] = rows[name].iloc[0:0].reindex(kept.index)  # missing, in the column's own dtype
    return kept


BEST_CALL_COLUMNS = ("ticker", "shares", "cost_basis", "calls_written", "calls_free", "best_call", "strike", "bid",
                     "if_called_basis_return_pct", "score")


def best_calls(book: Book, rows: pd.DataFrame) -> pd.DataFrame:
    """Per holding: shares, cost basis, calls already written and free, and the best matching call of `rows` (a
    scan's) by score (empty when none matches)."""
    summary = []
    calls = rows[(rows["side"] == Side.CALL.value) & rows["match"].fillna(False).astype(bool)] if len(rows) else rows
    for holding in book.holdings:
        mine = calls[calls["ticker"] == holding.ticker] if len(calls) else calls
        best = mine.sort_values("score", ascending=False, kind="stable").head(1) if len(mine) else mine
        found = best.iloc[0] if len(best) else None
        summary.append({
            "ticker": holding.ticker, "shares": holding.shares, "cost_basis": holding.cost_basis,
            "calls_written": book.calls_written(holding.ticker), "calls_free": book.calls_free(holding.ticker),
            "best_call": found["option_symbol"] if found is not None else None,
            **{name: found.get(name) if found is not None else None
               for name in ("strike", "bid", "if_called_basis_return_pct", "score")}})
    return pd.DataFrame(summary, columns=list(BEST_CALL_COLUMNS))


def collateral_note(rows: pd.DataFrame, plan: BookPlan | None) -> str:
    """The total collateral of the puts among `rows` (what the filters show), beside the free cash of the book the
    scan ran with: "12 puts shown tie up $1,234,000.00 at one contract each; the book's free cash: $50,000.00".
    `plan` None: the scan ran with someone else's book, whose cash is not shown."""
    puts = rows[(rows["side"] == Side.PUT.value).to_numpy(dtype=bool, na_value=False)] if len(rows) else rows
    total = float(puts["collateral"].sum()) if len(puts) else 0.0
    free = None if plan is None else plan.book.free_cash
    cash = ("the scan ran with another book than yours" if plan is None
            else "no cash set in the book the scan ran with" if free is None else f"the book's free cash: ${free:,.2f}")
    return f"{len(puts):,} puts shown tie up ${total:,.2f} at one contract each; {cash}."
