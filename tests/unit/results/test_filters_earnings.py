"""The page's "contracts through earnings" filter: show, hide or only, unknown counted as not through, in the URL."""

from __future__ import annotations

import pandas as pd

from scanner.results.filters import Filters, ThroughEarnings


def _rows() -> pd.DataFrame:
    return pd.DataFrame({"ticker": ["A", "A", "B"], "option_symbol": ["A1", "A2", "B1"], "match": [True] * 3,
                         "side": ["put"] * 3, "earnings_in_window": pd.array([True, False, None], dtype="boolean")})


def test_hide_drops_contracts_through_earnings_and_keeps_unknown_ones() -> None:
    assert Filters(earnings=ThroughEarnings.HIDE).apply(_rows())["option_symbol"].tolist() == ["A2", "B1"]


def test_only_keeps_contracts_through_earnings_and_show_keeps_all() -> None:
    assert Filters(earnings=ThroughEarnings.ONLY).apply(_rows())["option_symbol"].tolist() == ["A1"]
    assert len(Filters().apply(_rows())) == 3


def test_the_choice_round_trips_through_the_url_and_a_bad_one_is_noted() -> None:
    defaults = Filters()
    query = Filters(earnings=ThroughEarnings.HIDE).to_query(defaults)
    assert query == {"earnings": "hide"}
    assert Filters.from_query(query, defaults)[0].earnings is ThroughEarnings.HIDE
    kept, notes = Filters.from_query({"earnings": "maybe"}, defaults)
    assert kept.earnings is ThroughEarnings.SHOW
    assert notes == ["Ignored earnings='maybe': not one of show, hide, only."]
