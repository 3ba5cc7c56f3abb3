"""The column schema: every column a scan stores, once (DESIGN "Layout": one owner of the column schema).

Each ``Column`` names its kind (how it is coerced, stored in Arrow and exported), its label, how a page shows it
and its help text. Everything else derives from ``COLUMNS``: the chain columns providers return, the screened
columns the store keeps, the Arrow schema of the row codec, screening's coercion groups, the pages'
``st.column_config`` and the exports' order. Adding a column is one entry here plus its formula in screening.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, StrEnum


class Side(StrEnum):
    PUT = "put"
    CALL = "call"


SIDES: tuple[str, ...] = tuple(side.value for side in Side)


class Kind(Enum):
    """How a column's values are held: coercion in screening, the Arrow type, export formatting."""

    FLOAT = "float"
    INT = "int"  # whole numbers, missing kept missing (nullable Int64)
    TEXT = "text"
    DATE = "date"  # a New York calendar date (datetime64[s] midnight)
    BOOL = "bool"


class Display(Enum):
    """How a page shows a column's values."""

    TEXT = "text"
    MONEY = "money"  # $1,234.56
    PERCENT = "percent"  # a number already in percent: 36.50%
    FRACTION = "fraction"  # a fraction shown as a percent: 0.83 -> 83%
    DELTA = "delta"  # three decimals
    COUNT = "count"  # whole number
    DATE = "date"
    FLAG = "flag"  # a checkbox
    NUMBER = "number"


class Role(Enum):
    """Where a column comes from."""

    CHAIN = "chain"  # a provider's normalized row (DESIGN "Data sources")
    METRIC = "metric"  # computed by screening
    BOOK = "book"  # computed against the trader's book after screening (scanner.scan.book), stored
    TICKER = "ticker"  # one value per ticker from its history and closes, after screening (scan.volatility), stored
    VIEW = "view"  # computed by a page for what is on screen, never stored


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind
    role: Role
    label: str
    display: Display
    help: str = ""


COLUMNS: tuple[Column, ...] = (
    Column("ticker", Kind.TEXT, Role.CHAIN, "Ticker", Display.TEXT),
    Column("side", Kind.TEXT, Role.CHAIN, "Side", Display.TEXT, "put or call"),
    Column("expiration", Kind.DATE, Role.CHAIN, "Expiration", Display.DATE),
    Column("strike", Kind.FLOAT, Role.CHAIN, "Strike", Display.MONEY),
    Column("bid", Kind.FLOAT, Role.CHAIN, "Bid", Display.MONEY),
    Column("ask", Kind.FLOAT, Role.CHAIN, "Ask", Display.MONEY),
    Column("last", Kind.FLOAT, Role.CHAIN, "Last", Display.MONEY),
    Column("volume", Kind.INT, Role.CHAIN, "Volume", Display.COUNT),
    Column("open_interest", Kind.INT, Role.CHAIN, "Open int.", Display.COUNT),
    Column("iv", Kind.FLOAT, Role.CHAIN, "IV", Display.FRACTION, "Implied volatility of the contract"),
    Column("delta", Kind.FLOAT, Role.CHAIN, "Delta", Display.DELTA,
           "From the source; from Black-Scholes on the IV where the source has none"),
    Column("underlying_price", Kind.FLOAT, Role.CHAIN, "Underlying", Display.MONEY),
    Column("quote_date", Kind.DATE, Role.CHAIN, "Quote date", Display.DATE, "The date DTE counts from"),
    Column("option_symbol", Kind.TEXT, Role.CHAIN, "Contract", Display.TEXT),
    Column("dte", Kind.INT, Role.METRIC, "DTE", Display.COUNT, "Calendar days from the quote date to expiration"),
    Column("mid", Kind.FLOAT, Role.METRIC, "Mid", Display.MONEY, "(bid + ask) / 2"),
    Column("spread_pct", Kind.FLOAT, Role.METRIC, "Spread", Display.PERCENT, "(ask − bid) / mid × 100"),
    Column("premium", Kind.FLOAT, Role.METRIC, "Premium", Display.MONEY, "bid × 100: what one contract pays"),
    Column("collateral", Kind.FLOAT, Role.METRIC, "Collateral", Display.MONEY,
           "The capital one contract ties up: puts (cash-secured) strike × 100; calls (covered, on 100 shares "
           "bought at the underlying price) underlying × 100"),
    Column("break_even", Kind.FLOAT, Role.METRIC, "Break-even", Display.MONEY,
           "The stock price below which the seller loses: puts strike − bid; calls (covered) underlying − bid"),
    Column("prob_otm", Kind.FLOAT, Role.METRIC, "P(OTM)", Display.FRACTION,
           "1 − |delta|: the market's rough odds the contract expires out of the money"),
    Column("annualized_return_pct", Kind.FLOAT, Role.METRIC, "Annualized", Display.PERCENT,
           "The original rule (bid / strike), which decides matches (calls too): "
           "bid / strike / max(DTE, 1) × 365 × 100"),
    Column("change_pct", Kind.FLOAT, Role.METRIC, "Change", Display.PERCENT,
           "Change (original: (S−K)/K): (underlying − strike) / strike × 100, not the day's move"),
    Column("otm_pct", Kind.FLOAT, Role.METRIC, "OTM", Display.PERCENT,
           "% out of the money: puts (underlying − strike) / underlying × 100, calls (strike − underlying) / "
           "underlying × 100"),
    Column("period_return_pct", Kind.FLOAT, Role.METRIC, "Return on capital", Display.PERCENT,
           "Return on net capital for the contract's life: puts bid / (strike − bid) × 100; calls (covered) "
           "bid / (underlying − bid) × 100; empty where that capital is ≤ 0"),
    Column("annualized_period_return_pct", Kind.FLOAT, Role.METRIC, "Annualized on capital", Display.PERCENT,
           "Return on net capital, annualized: return × 365 / max(DTE, 1)"),
    Column("if_called_return_pct", Kind.FLOAT, Role.METRIC, "If called", Display.PERCENT,
           "Calls (covered), shares called away at the strike: (bid + strike − underlying) / (underlying − bid) "
           "× 100; empty for puts"),
    Column("pop_pct", Kind.FLOAT, Role.METRIC, "POP", Display.PERCENT,
           "Probability of profit: the odds the stock ends above the break-even, N(d2) × 100 with "
           "d2 = (ln(underlying / break-even) + (r − q − iv²/2) T) / (iv √T), T = (DTE + 1) / 365, the row's IV "
           "(empty when the IV is not in (0, 5])"),
    Column("atm_iv", Kind.FLOAT, Role.METRIC, "ATM IV", Display.FRACTION,
           "The expiration's at-the-money IV: the mean IV of its nearest out-of-the-money put and call in the scan "
           "(the one present when one side was fetched)"),
    Column("expected_move", Kind.FLOAT, Role.METRIC, "Exp. move", Display.MONEY,
           "One standard deviation of the stock by expiration: underlying × ATM IV × √T, T = (DTE + 1) / 365"),
    Column("score", Kind.FLOAT, Role.METRIC, "Score", Display.NUMBER,
           "Ranks matches: annualized return on net capital × POP / 100 × (1 − spread / 100), the spread taken "
           "between 0 and 100 %; empty for a row that does not match or lacks one of them"),
    Column("match", Kind.BOOL, Role.METRIC, "Match", Display.FLAG, "Passes the scan's rules"),
    Column("reason", Kind.TEXT, Role.METRIC, "Why not", Display.TEXT,
           "The first rule the contract fails, in this order: unusable row, delta, annualized, earnings, open "
           "interest, volume, bid, spread; empty for a match"),
    Column("rules_failed", Kind.INT, Role.METRIC, "Rules failed", Display.COUNT,
           "How many of the rules the contract fails (0 for a match; 1 with a miss is a near miss)"),
    Column("miss_pct", Kind.FLOAT, Role.METRIC, "Miss", Display.PERCENT,
           "How far the contract misses the rule its reason names, relative to that rule's threshold: "
           "|value − threshold| / |threshold| × 100; empty for a match, a missing value or a threshold of 0"),
    Column("earnings_date", Kind.DATE, Role.METRIC, "Earnings", Display.DATE,
           "The ticker's next earnings report not yet out at the quote; empty when the source does not say"),
    Column("earnings_time", Kind.TEXT, Role.METRIC, "Earnings time", Display.TEXT,
           "bmo before the open, amc after the close, dmh during market hours, unknown not announced"),
    Column("earnings_in_window", Kind.BOOL, Role.METRIC, "Earnings in life", Display.FLAG,
           "The report falls inside the contract's life: quote date ≤ earnings ≤ expiration (a bmo report on the "
           "quote date is already out); empty when the source does not cover the dates through the expiration"),
    Column("ex_dividend_date", Kind.DATE, Role.METRIC, "Ex-dividend", Display.DATE,
           "The ticker's next ex-dividend date; empty when the source does not say"),
    Column("dividend", Kind.FLOAT, Role.METRIC, "Dividend", Display.MONEY, "The dividend per share going ex"),
    Column("ex_dividend_in_window", Kind.BOOL, Role.METRIC, "Ex-div in life", Display.FLAG,
           "quote date < ex-dividend ≤ the first NYSE session after expiration (the day before is the last "
           "cum-dividend day); empty when the source does not cover the dates"),
    Column("assignment_risk", Kind.BOOL, Role.METRIC, "Early assignment", Display.FLAG,
           "Calls: ex-dividend in the contract's life, in the money (strike < underlying) and extrinsic value "
           "bid − (underlying − strike) below the dividend, so a holder may exercise early; empty for puts and "
           "when it cannot be told"),
    Column("if_called_basis_return_pct", Kind.FLOAT, Role.BOOK, "If called (basis)", Display.PERCENT,
           "Calls on shares the book holds, called away at the strike: (bid + strike − cost basis) / cost basis × 100; "
           "empty for other rows"),
    Column("contracts_fit", Kind.INT, Role.BOOK, "Fits", Display.COUNT,
           "Puts: how many contracts the book's free cash secures, floor((cash − collateral of open short puts) / "
           "(strike × 100)), empty without cash set; calls on 100+ shares held: floor(shares / 100) − calls written"),
    Column("iv30", Kind.FLOAT, Role.TICKER, "IV30", Display.FRACTION,
           "The ticker's 30-day implied volatility: total variance σ²T of the expirations' ATM IV interpolated "
           "linearly in T = (DTE + 1) / 365 around 31/365, the first or last expiration's σ held flat beyond the "
           "chain; a source's own IV30 as is (Cboe)"),
    Column("iv_rank", Kind.FLOAT, Role.TICKER, "IV rank", Display.NUMBER,
           "(IV30 − min) / (max − min) × 100 over the last 252 sessions of the ticker's IV30 history, today "
           "included; empty below 20 sessions or on a flat history"),
    Column("iv_percentile", Kind.FLOAT, Role.TICKER, "IV percentile", Display.PERCENT,
           "% of the other sessions of the window with a lower IV30; empty below 20 sessions"),
    Column("iv_rank_days", Kind.INT, Role.TICKER, "IV rank days", Display.COUNT,
           "How many sessions of history the IV rank and percentile rest on (at most 252)"),
    Column("hv20", Kind.FLOAT, Role.TICKER, "HV20", Display.FRACTION,
           "Historical volatility: √252 × the sample standard deviation of the last 20 daily close-to-close log "
           "returns of completed sessions"),
    Column("hv60", Kind.FLOAT, Role.TICKER, "HV60", Display.FRACTION, "As HV20, over the last 60 returns"),
    Column("iv_hv_ratio", Kind.FLOAT, Role.TICKER, "IV/HV", Display.NUMBER,
           "IV30 / HV20: above 1 the options price more movement than the stock has shown"),
    Column("events", Kind.TEXT, Role.VIEW, "Events", Display.TEXT,
           "🔴 earnings: the ticker's next report falls inside the contract's life; ex-div: an ex-dividend date "
           "inside it (calls), with early assignment when the call is in the money and its extrinsic value is below "
           "the dividend; empty when nothing is known inside it"),
    Column("new", Kind.BOOL, Role.VIEW, "New", Display.FLAG, "Not in the previous completed scan"),
)

BY_NAME: dict[str, Column] = {column.name: column for column in COLUMNS}


def names(*, roles: tuple[Role, ...] = (Role.CHAIN, Role.METRIC, Role.BOOK),
          kinds: tuple[Kind, ...] | None = None) -> tuple[str, ...]:
    """Column names in schema order, of the given roles (stored ones by default) and kinds."""
    return tuple(c.name for c in COLUMNS if c.role in roles and (kinds is None or c.kind in kinds))


CHAIN_COLUMNS = names(roles=(Role.CHAIN,))  # what a provider hands the screener (delta may be NaN)
METRIC_COLUMNS = names(roles=(Role.METRIC,))  # what screening adds to every row
RESULT_COLUMNS = CHAIN_COLUMNS + METRIC_COLUMNS  # what screen() returns per contract
BOOK_COLUMNS = names(roles=(Role.BOOK,))  # what the book adds after screening (scanner.scan.book)
TICKER_COLUMNS = names(roles=(Role.TICKER,))  # a ticker's volatility figures (scanner.scan.volatility)
STORED_COLUMNS = RESULT_COLUMNS + BOOK_COLUMNS + TICKER_COLUMNS  # what the store keeps per contract
