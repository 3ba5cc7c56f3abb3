"""The page's "minimum IV rank" and "minimum IV/HV" filters (issue 17): a ticker without the figure fails them, both
in the URL."""

from __future__ import annotations

import numpy as np
import pandas as pd

from scanner.results.filters import Filters


def _rows() -> pd.DataFrame:
    return pd.DataFrame({"ticker": ["A", "A", "B", "C"], "option_symbol": ["A1", "A2", "B1", "C1"],
                         "match": [True] * 4, "side": ["put"] * 4, "iv_rank": [64.0, 64.0, 30.0, np.nan],
                         "iv_hv_ratio": [1.3, 1.3, 0.9, 1.5]})


def test_minimum_iv_rank_keeps_tickers_at_or_above_it_and_none_without_a_rank() -> None:
    assert Filters(min_iv_rank=30).apply(_rows())["option_symbol"].tolist() == ["A1", "A2", "B1"]
    assert Filters(min_iv_rank=50).apply(_rows())["option_symbol"].tolist() == ["A1", "A2"]
    assert len(Filters().apply(_rows())) == 4


def test_minimum_iv_hv_keeps_rich_premium() -> None:
    assert Filters(min_iv_hv=1.0).apply(_rows())["option_symbol"].tolist() == ["A1", "A2", "C1"]


def test_both_round_trip_through_the_url_and_bad_values_are_noted() -> None:
    defaults = Filters()
    query = Filters(min_iv_rank=50.0, min_iv_hv=1.2).to_query(defaults)
    assert query == {"min_ivr": "50", "min_ivhv": "1.2"}
    assert Filters.from_query(query, defaults)[0] == Filters(min_iv_rank=50.0, min_iv_hv=1.2)
    kept, notes = Filters.from_query({"min_ivr": "120", "min_ivhv": "x"}, defaults)
    assert kept == defaults
    assert notes == ["Ignored min_ivr='120': outside 0 to 100.", "Ignored min_ivhv='x': not a number."]
