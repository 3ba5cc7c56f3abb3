"""The trader's book (issue 18): stock holdings, open short options and the cash set aside for puts.

Everything that enters a book (a form, the CLI's words, a CSV row, the stored JSON) goes through one set of rules
here: a refusal names every bad entry (``PositionsError``) and nothing is built from a half-valid input. A short
option is held by its OCC symbol, from which its ticker, side, expiration and strike are read.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from scanner.errors import SettingsError, first_ten
from scanner.results.formulas import neutral_text
from scanner.scan.watchlist import SYMBOL
from scanner.schema import BY_NAME, Column, Display, Kind, Role, Side

SHARES_PER_CONTRACT = 100
MAX_SHARES = 10**9
MAX_CONTRACTS = 10**6
MAX_PRICE = 10**6  # a share or a premium per share, in dollars
MAX_CASH = 10**12

OCC_SYMBOL = re.compile(r"(?P<root>[A-Z0-9][A-Z0-9.\-]{0,5}) *(?P<expiry>\d{6})(?P<side>[CP])(?P<strike>\d{8})")
"""OCC's option symbol: root (1-6, Schwab pads it with spaces), expiration YYMMDD, C or P, strike × 1000 (8 digits)."""


TABLE_COLUMNS: dict[str, Column] = {column.name: column for column in (
    # the book's and the rolls' own table columns (a page's, never stored), beside the schema's (BY_NAME)
    Column("shares", Kind.INT, Role.VIEW, "Shares", Display.COUNT),
    Column("cost_basis", Kind.FLOAT, Role.VIEW, "Cost basis", Display.MONEY, "Paid per share"),
    Column("calls_written", Kind.INT, Role.VIEW, "Calls written", Display.COUNT,
           "Open short calls on the ticker, in contracts"),
    Column("calls_free", Kind.INT, Role.VIEW, "Calls free", Display.COUNT,
           "floor(shares / 100) − calls written: contracts the shares can still cover"),
    Column("best_call", Kind.TEXT, Role.VIEW, "Best call", Display.TEXT,
           "The last scan's matching call on the holding with the highest score"),
    Column("contracts", Kind.INT, Role.VIEW, "Contracts", Display.COUNT),
    Column("premium", Kind.FLOAT, Role.VIEW, "Premium", Display.MONEY, "Received per share when sold"),
    Column("opened_on", Kind.DATE, Role.VIEW, "Opened on", Display.DATE),
    Column("stock", Kind.FLOAT, Role.VIEW, "Stock", Display.MONEY, "The underlying's price in the last scan"),
    Column("expired", Kind.BOOL, Role.VIEW, "Expired", Display.FLAG, "Past its expiration: record how it ended"),
    Column("tested", Kind.BOOL, Role.VIEW, "Tested", Display.FLAG,
           "The stock within the alert % of the strike (SCANNER_ROLL_ALERT_PCT), or past it"),
    Column("days_added", Kind.INT, Role.VIEW, "Days added", Display.COUNT,
           "The new expiration − the open contract's, in days"),
    Column("net_credit", Kind.FLOAT, Role.VIEW, "Net credit", Display.MONEY,
           "New bid − current ask of the open contract, per share; negative: a debit"),
    Column("annualized_net_credit_pct", Kind.FLOAT, Role.VIEW, "Net credit / yr", Display.PERCENT,
           "net credit / new strike × 365 / days added × 100"),
)}


def table_column(name: str) -> Column:
    """How a book or roll table shows column `name`: the schema's entry, else the tables' own."""
    return BY_NAME.get(name) or TABLE_COLUMNS[name]


class PositionsError(SettingsError):
    """Positions input refused; ``bad`` lists every offending entry and nothing was saved."""

    def __init__(self, bad: list[str]) -> None:
        self.bad = bad
        super().__init__(f"refused: {first_ten(bad)}")


@dataclass(frozen=True)
class Contract:
    """What an OCC symbol says."""

    ticker: str
    side: Side
    expiration: date
    strike: float

    @property
    def option_symbol(self) -> str:
        """OCC's symbol, unpadded (``AAPL261218P00150000``), as sources that quote by symbol take it."""
        return f"{self.ticker}{self.expiration:%y%m%d}{self.side.value[0].upper()}{round(self.strike * 1000):08d}"


def parse_option_symbol(text: str) -> Contract:
    """The contract an OCC symbol names; ValueError saying what is wrong."""
    match = OCC_SYMBOL.fullmatch(str(text).strip().upper())
    if match is None:
        raise ValueError(f"option symbol {text!r} is not OCC's ROOT + YYMMDD + C/P + strike×1000 in 8 digits "
                         "(e.g. AAPL261218P00150000)")
    try:
        expiration = datetime.strptime(match["expiry"], "%y%m%d").date()
    except ValueError:
        raise ValueError(f"option symbol {text!r} has no real expiration date ({match['expiry']})") from None
    strike = int(match["strike"]) / 1000
    if strike <= 0:
        raise ValueError(f"option symbol {text!r} has a strike of 0")
    return Contract(match["root"], Side.CALL if match["side"] == "C" else Side.PUT, expiration, strike)


def _number(name: str, value: Any, low: float, high: float, *, whole: bool = False, above_low: bool = False) -> float:
    """`value` read as a finite number in [low, high] ((low, high] with `above_low`); ValueError in words."""
    if isinstance(value, bool):
        raise ValueError(f"{name} {value!r} is not a number")
    try:
        number = float(str(value).strip().replace(",", "")) if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} {value!r} is not a number") from None
    if not math.isfinite(number):
        raise ValueError(f"{name} {value!r} is not a finite number")
    if whole and not number.is_integer():
        raise ValueError(f"{name} {value!r} is not a whole number")
    if number < low or number > high or (above_low and number == low):
        bound = f"above {low:g}" if above_low else f"at least {low:g}"
        raise ValueError(f"{name} {value!r} must be {bound} and at most {high:g}")
    return number


def _checked(*reads: Callable[[], Any]) -> list[Any]:
    """Every read's value; ValueError naming every read that failed, so one refusal says all that is wrong."""
    values, bad = [], []
    for read in reads:
        try:
            values.append(read())
        except ValueError as exc:
            bad.append(str(exc))
    if bad:
        raise ValueError("; ".join(bad))
    return values


def _ticker(value: Any) -> str:
    symbol = str(value or "").strip().upper()
    if not SYMBOL.fullmatch(symbol):
        raise ValueError(f"ticker {value!r} is not a symbol (1-10 of A-Z, 0-9, '.', '-', the first a letter or digit)")
    return symbol


def _opened(value: Any) -> date | None:
    if value is None or isinstance(value, date) or not str(value).strip():
        return value or None
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise ValueError(f"opened on {value!r} is not a date YYYY-MM-DD") from None


@dataclass(frozen=True)
class Holding:
    """Shares held and what each cost (the basis covered calls are written above)."""

    ticker: str
    shares: int
    cost_basis: float

    @classmethod
    def of(cls, ticker: Any, shares: Any, cost_basis: Any) -> Holding:
        """From untrusted values; ValueError naming every bad one."""
        symbol, count, basis = _checked(
            lambda: _ticker(ticker), lambda: int(_number("shares", shares, 0, MAX_SHARES, whole=True, above_low=True)),
            lambda: _number("cost basis", cost_basis, 0, MAX_PRICE, above_low=True))
        return cls(symbol, count, basis)

    @property
    def lots(self) -> int:
        """How many calls the shares cover."""
        return self.shares // SHARES_PER_CONTRACT

    def to_dict(self) -> dict[str, Any]:
        return {"ticker": self.ticker, "shares": self.shares, "cost_basis": self.cost_basis}


@dataclass(frozen=True)
class ShortOption:
    """An option sold and still open: its OCC symbol, how many, the premium received per share."""

    option_symbol: str
    contracts: int
    premium: float
    opened_on: date | None = None

    @classmethod
    def of(cls, option_symbol: Any, contracts: Any, premium: Any, opened_on: Any = None) -> ShortOption:
        """From untrusted values; ValueError naming every bad one. The symbol is kept without root padding."""
        _, count, paid, opened = _checked(
            lambda: parse_option_symbol(str(option_symbol or "")),
            lambda: int(_number("contracts", contracts, 0, MAX_CONTRACTS, whole=True, above_low=True)),
            lambda: _number("premium", premium, 0, MAX_PRICE), lambda: _opened(opened_on))
        return cls(re.sub(r" +", "", str(option_symbol).strip().upper()), count, paid, opened)

    @property
    def contract(self) -> Contract:
        return parse_option_symbol(self.option_symbol)

    @property
    def collateral(self) -> float:
        """The cash a short put ties up (strike × 100 per contract); a call is covered by shares: 0."""
        contract = self.contract
        return contract.strike * SHARES_PER_CONTRACT * self.contracts if contract.side is Side.PUT else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"option_symbol": self.option_symbol, "contracts": self.contracts, "premium": self.premium,
                "opened_on": self.opened_on.isoformat() if self.opened_on else None}


@dataclass(frozen=True)
class Book:
    """One trader's positions; each holding by ticker and each option by symbol at most once."""

    holdings: tuple[Holding, ...] = ()
    options: tuple[ShortOption, ...] = ()
    cash: float | None = None  # None: not set (puts are then not sized)

    # ---- reading ----
    def holding(self, ticker: str) -> Holding | None:
        return next((h for h in self.holdings if h.ticker == ticker), None)

    def calls_written(self, ticker: str) -> int:
        return sum(o.contracts for o in self.options if o.contract.ticker == ticker and o.contract.side is Side.CALL)

    def calls_free(self, ticker: str) -> int:
        """floor(shares / 100) − calls already written on them, never below 0."""
        holding = self.holding(ticker)
        return max((holding.lots if holding else 0) - self.calls_written(ticker), 0)

    @property
    def put_collateral(self) -> float:
        return sum(option.collateral for option in self.options)

    @property
    def free_cash(self) -> float | None:
        """Cash left for new puts: the cash set minus the collateral of the open short puts."""
        return None if self.cash is None else self.cash - self.put_collateral

    @property
    def covered_tickers(self) -> tuple[str, ...]:
        """Tickers with at least 100 shares: their calls are screened against the holding."""
        return tuple(h.ticker for h in self.holdings if h.lots)

    def sides_for(self, ticker: str) -> frozenset[Side]:
        """The sides the book needs fetched for `ticker`: calls on shares held, each open option's side (rolls)."""
        sides = {o.contract.side for o in self.options if o.contract.ticker == ticker}
        return frozenset(sides | ({Side.CALL} if ticker in self.covered_tickers else set()))

    @property
    def tickers(self) -> tuple[str, ...]:
        """Every ticker the book needs scanned, in first-listed order."""
        listed = [h.ticker for h in self.holdings if h.lots] + [o.contract.ticker for o in self.options]
        return tuple(dict.fromkeys(listed))

    @property
    def empty(self) -> bool:
        return not self.holdings and not self.options and self.cash is None

    # ---- changing (each returns a new book) ----
    def with_holding(self, holding: Holding) -> Book:
        """The holding added, or replacing the ticker's."""
        kept = [h for h in self.holdings if h.ticker != holding.ticker]
        return replace(self, holdings=(*kept, holding))

    def with_option(self, option: ShortOption) -> Book:
        kept = [o for o in self.options if o.option_symbol != option.option_symbol]
        return replace(self, options=(*kept, option))

    def with_cash(self, cash: Any) -> Book:
        return replace(self, cash=None if cash is None else _number("cash", cash, 0, MAX_CASH))

    def find(self, symbol: str) -> Holding | ShortOption | None:
        """The holding of a ticker or the option of an OCC symbol (padding ignored)."""
        wanted = re.sub(r" +", "", str(symbol).strip().upper())
        return next((p for p in (*self.holdings, *self.options)
                     if (p.ticker if isinstance(p, Holding) else p.option_symbol) == wanted), None)

    def without(self, symbol: str) -> Book:
        """The ticker's holding or the option removed; PositionsError when the book has neither."""
        found = self.find(symbol)
        if found is None:
            raise PositionsError([f"{symbol!r} is neither a holding nor an open option of this book"])
        return replace(self, holdings=tuple(h for h in self.holdings if h is not found),
                       options=tuple(o for o in self.options if o is not found))

    def assigned(self, option_symbol: str) -> Book:
        """The option recorded as assigned: a put becomes 100 shares per contract at a cost basis of strike − premium
        (averaged into shares already held); a call's shares are called away."""
        option = self.find(option_symbol)
        if not isinstance(option, ShortOption):
            raise PositionsError([f"{option_symbol!r} is not an open option of this book"])
        contract, shares = option.contract, option.contracts * SHARES_PER_CONTRACT
        book = self.without(option.option_symbol)
        held = book.holding(contract.ticker)
        if contract.side is Side.PUT:
            basis = contract.strike - option.premium
            if held:
                basis = (held.shares * held.cost_basis + shares * basis) / (held.shares + shares)
            return book.with_holding(Holding(contract.ticker, shares + (held.shares if held else 0), max(basis, 0.01)))
        if held is None:
            return book
        left = held.shares - shares
        return book.with_holding(replace(held, shares=left)) if left > 0 else book.without(held.ticker)

    # ---- JSON (the stored form and each scan's record) ----
    def to_dict(self) -> dict[str, Any]:
        return {"holdings": [h.to_dict() for h in self.holdings], "options": [o.to_dict() for o in self.options],
                "cash": self.cash}

    @classmethod
    def from_dict(cls, raw: Any) -> Book:
        """A book from its JSON form; PositionsError naming every bad entry."""
        if not isinstance(raw, Mapping):
            return cls() if raw in (None, {}) else _refuse(["a book is an object of holdings, options and cash"])
        holdings = [_entry(item, lambda i: Holding.of(i.get("ticker"), i.get("shares"), i.get("cost_basis")))
                    for item in _list(raw.get("holdings"))]
        options = [_entry(item, lambda i: ShortOption.of(i.get("option_symbol"), i.get("contracts"), i.get("premium"),
                                                         i.get("opened_on")))
                   for item in _list(raw.get("options"))]
        cash: Any = raw.get("cash")
        bad: list[str] = [entry for entry in (*holdings, *options) if isinstance(entry, str)]
        if cash is not None:
            try:
                cash = _number("cash", cash, 0, MAX_CASH)
            except ValueError as exc:
                bad.append(str(exc))
        return _book(holdings, options, cash, bad)


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [] if value is None else [value]


def _entry(item: Any, build: Callable[[Mapping[str, Any]], Holding | ShortOption]) -> Holding | ShortOption | str:
    """The entry built from `item`, or the words of its refusal."""
    if not isinstance(item, Mapping):
        return f"{item!r} is not an entry"
    try:
        return build(item)
    except ValueError as exc:
        return str(exc)


def _book(holdings: list[Any], options: list[Any], cash: float | None, bad: list[str]) -> Book:
    """The book of the valid entries, or PositionsError with `bad` and every duplicate."""
    built_holdings = [h for h in holdings if isinstance(h, Holding)]
    built_options = [o for o in options if isinstance(o, ShortOption)]
    for label, keys in (("ticker", [h.ticker for h in built_holdings]),
                        ("option", [o.option_symbol for o in built_options])):
        bad += [f"{label} {key} listed twice" for key in sorted({k for k in keys if keys.count(k) > 1})]
    if bad:
        _refuse(bad)
    return Book(tuple(built_holdings), tuple(built_options), cash)


def _refuse(bad: list[str]) -> Any:
    raise PositionsError(bad)


# ---- CSV: one row per position, `type,symbol,quantity,price,opened_on` ----
class RowType(StrEnum):
    STOCK = "stock"
    OPTION = "option"
    CASH = "cash"


CSV_HEADER = ("type", "symbol", "quantity", "price", "opened_on")
CSV_HELP = ("rows type,symbol,quantity,price,opened_on: 'stock,AAPL,200,150.25' (shares, cost basis per share), "
            "'option,AAPL261218C00200000,1,3.10,2026-11-02' (contracts, premium per share, opened on), "
            "'cash,,,25000' (cash for puts); a header row is optional")


def parse_csv(data: bytes | str) -> Book:
    """A book from a CSV file; PositionsError naming every bad row (by its line), so nothing is half-imported."""
    try:
        text = data.decode("utf-8-sig") if isinstance(data, bytes) else data.lstrip("\ufeff")
        rows = list(csv.reader(io.StringIO(text)))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise PositionsError([f"not a readable CSV file ({type(exc).__name__})"]) from None
    holdings: list[Any] = []
    options: list[Any] = []
    cash: float | None = None
    bad: list[str] = []
    for line, row in enumerate(rows, start=1):
        cells = [cell.strip() for cell in row] + [""] * (len(CSV_HEADER) - len(row))
        kind = cells[0].lower()
        if not any(cells) or (line == 1 and kind == "type"):
            continue
        try:
            if kind == RowType.STOCK:
                holdings.append(Holding.of(cells[1], cells[2], cells[3]))
            elif kind == RowType.OPTION:
                options.append(ShortOption.of(cells[1], cells[2], cells[3], cells[4]))
            elif kind == RowType.CASH:
                if cash is not None:
                    raise ValueError("cash given twice")
                cash = _number("cash", cells[3], 0, MAX_CASH)
            else:
                raise ValueError(f"type {cells[0]!r} is not stock, option or cash")
        except ValueError as exc:
            bad.append(f"line {line}: {exc}")
    return _book(holdings, options, cash, bad)


def to_csv(book: Book) -> str:
    """The export, which parse_csv reads back; a cell a spreadsheet would run is neutralized all the same."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    writer.writerows([RowType.STOCK, neutral_text(h.ticker), h.shares, repr(h.cost_basis), ""] for h in book.holdings)
    writer.writerows([RowType.OPTION, neutral_text(o.option_symbol), o.contracts, repr(o.premium),
                      o.opened_on.isoformat() if o.opened_on else ""] for o in book.options)
    if book.cash is not None:
        writer.writerow([RowType.CASH, "", "", repr(book.cash), ""])
    return out.getvalue()


def merged(current: Book, imported: Book) -> Book:
    """`imported` over `current`: its holdings and options replace those of the same ticker or symbol, its cash
    (when set) the cash."""
    book = current
    for holding in imported.holdings:
        book = book.with_holding(holding)
    for option in imported.options:
        book = book.with_option(option)
    return book if imported.cash is None else replace(book, cash=imported.cash)


def describe(items: Iterable[Holding | ShortOption]) -> str:
    """Positions in a line: 'AAPL 200 sh @ 150.00, AAPL261218C00200000 ×1'."""
    return ", ".join(f"{i.ticker} {i.shares} sh @ {i.cost_basis:.2f}" if isinstance(i, Holding)
                     else f"{i.option_symbol} ×{i.contracts}" for i in items)
