"""Two scans compared by option symbol: over every screened contract, or over each scan's matches only."""

from __future__ import annotations

import pandas as pd

from scanner.results.compare import compare
from tests.support.rows import known_rows


def _pair() -> tuple[pd.DataFrame, pd.DataFrame]:
    """``before``: known rows (matches: the AAPL 200 and MSFT 400 puts). ``after``: the AAPL 200 put no longer
    matches, the AAPL 195 put now does, a non-match's bid moved, and a zero-bid contract appeared."""
    before, after = known_rows(), known_rows()
    after.loc[0, "match"] = False
    after.loc[1, "match"] = True
    after.loc[4, "bid"] = 0.6
    junk = after.iloc[[5]].assign(option_symbol="NVDA  261224P00100000", strike=100.0, bid=0.0, match=False)
    return pd.concat([after, junk], ignore_index=True), before


def test_over_matches_a_contract_counts_where_it_passed_its_scans_rules() -> None:
    after, before = _pair()
    result = compare(after, before, matches_only=True)
    assert result.new["option_symbol"].tolist() == ["AAPL  261211P00195000"]  # screened both times, a match now
    assert result.dropped["option_symbol"].tolist() == ["AAPL  261204P00200000"]  # still screened, no longer a match
    assert result.changed.empty  # the moved bid is a non-match's


def test_over_every_contract_by_default() -> None:
    after, before = _pair()
    result = compare(after, before)
    assert result.new["option_symbol"].tolist() == ["NVDA  261224P00100000"]
    assert result.dropped.empty
    assert result.changed["option_symbol"].tolist() == ["NVDA  261218P00120000"]
    assert result.changed[["bid_before", "bid_after"]].iloc[0].tolist() == [0.8, 0.6]


def test_a_match_whose_values_moved_is_changed_over_matches() -> None:
    before, after = known_rows(), known_rows()
    after.loc[2, "delta"] = -0.25
    result = compare(after, before, matches_only=True)
    assert result.changed["option_symbol"].tolist() == ["MSFT  261204P00400000"]
    assert result.changed[["delta_before", "delta_after"]].iloc[0].tolist() == [-0.19, -0.25]


def test_the_tables_carry_the_decision_columns_and_the_changed_one_its_before_and_after_pairs() -> None:
    after, before = _pair()
    result = compare(after, before)
    assert result.new.columns.tolist() == ["ticker", "side", "expiration", "strike", "option_symbol", "dte", "bid",
                                           "annualized_return_pct", "delta", "open_interest", "spread_pct", "match"]
    assert result.changed.columns.tolist() == [
        "ticker", "side", "expiration", "strike", "bid_before", "bid_after", "annualized_return_pct_before",
        "annualized_return_pct_after", "delta_before", "delta_after", "option_symbol"]
