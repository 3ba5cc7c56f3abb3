"""The normalized option-chain row every provider returns, and the screened columns added to it."""

from __future__ import annotations

SIDES = ("put", "call")

# What a provider hands the screener (delta may be NaN: it is then computed from iv).
CHAIN_COLUMNS = (
    "ticker",
    "side",
    "expiration",
    "strike",
    "bid",
    "ask",
    "last",
    "volume",
    "open_interest",
    "iv",
    "delta",
    "underlying_price",
    "quote_date",
    "option_symbol",
)

# What screening adds to every row.
METRIC_COLUMNS = (
    "dte",
    "mid",
    "spread_pct",
    "premium",
    "collateral",
    "break_even",
    "prob_otm",
    "annualized_return_pct",
    "change_pct",
    "match",
)

RESULT_COLUMNS = CHAIN_COLUMNS + METRIC_COLUMNS
