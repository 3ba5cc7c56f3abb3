"""The criteria's DTE window and further rules: bounds, 'off', the scan's own overrides, what a provider is asked."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from scanner.errors import SettingsError
from scanner.providers.base import ChainRequest
from scanner.scan.criteria import OPTIONAL_FIELDS, Criteria, scan_overrides, validate_criteria


def test_the_further_criteria_are_off_by_default_and_round_trip() -> None:
    assert all(getattr(Criteria(), name) is None for name in OPTIONAL_FIELDS) and Criteria().dte_window is None
    chosen = Criteria(min_dte=30, max_dte=45, put_delta_ceiling=-0.1, min_open_interest=100, min_volume=5,
                      min_bid=0.2, max_spread_pct=12.5)
    assert Criteria.from_dict(chosen.to_dict()) == chosen


@pytest.mark.parametrize("off", [None, "", "off", " OFF ", "none", "null"])
def test_an_optional_criterion_is_turned_off_by_an_empty_or_off_value(off: object) -> None:
    assert validate_criteria({"min_bid": off, "max_dte": off}) == Criteria()


def test_a_window_with_one_bound_runs_to_the_end_of_0_730() -> None:
    assert Criteria(min_dte=30).dte_window == (30, 730) and Criteria(max_dte=45).dte_window == (0, 45)
    assert Criteria(min_dte=0, max_dte=0).dte_window == (0, 0)


@pytest.mark.parametrize(("values", "message"), [
    ({"min_dte": 731}, "min_dte must be between 0 and 730"), ({"max_dte": -1}, "max_dte must be between 0 and 730"),
    ({"min_dte": 46, "max_dte": 45}, "must not exceed"), ({"min_dte": 1.5}, "whole number"),
    ({"put_delta_ceiling": -0.25}, "above put_delta_floor"), ({"put_delta_ceiling": 0.05}, "between -1.0 and 0.0"),
    ({"min_open_interest": -1}, "min_open_interest"), ({"min_bid": "cheap"}, "min_bid must be a number"),
    ({"max_spread_pct": -0.5}, "max_spread_pct"),
])
def test_out_of_range_further_criteria_are_refused(values: dict, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        validate_criteria(values)


def test_the_provider_is_asked_for_the_window_or_the_weeks() -> None:
    assert Criteria(min_dte=30, max_dte=45).chain_request().dte_window == (30, 45)
    assert Criteria(weeks=6).chain_request() == ChainRequest(weeks=6)


def test_a_scan_chooses_weeks_or_a_window_never_both() -> None:
    stored = Criteria(min_dte=30, max_dte=45).to_dict()
    weeks = Criteria.from_dict({**stored, **scan_overrides(weeks=2)})
    assert (weeks.weeks, weeks.dte_window) == (2, None)  # --weeks asks for weeklies: the stored window gives way
    window = Criteria.from_dict({**Criteria().to_dict(), **scan_overrides(side="both", min_dte=7, max_dte=21)})
    assert (window.side, window.dte_window) == ("both", (7, 21))
    assert scan_overrides() == {}
    with pytest.raises(ValueError, match="--weeks cannot be combined"):
        scan_overrides(weeks=2, max_dte=45)


def test_in_window_keeps_the_listed_expirations_whose_dte_is_inside_inclusive() -> None:
    quote = date(2026, 11, 30)
    listed = [quote + timedelta(days=d) for d in (0, 29, 30, 45, 46, 45)]
    assert ChainRequest(dte_window=(30, 45)).in_window(listed, quote) == [quote + timedelta(days=30),
                                                                           quote + timedelta(days=45)]


def test_calls_below_basis_by_their_bid_is_a_flag_off_by_default() -> None:
    assert Criteria().call_strike_below_basis_by_bid is False
    assert Criteria.from_dict({"call_strike_below_basis_by_bid": "yes"}).call_strike_below_basis_by_bid is True
    assert Criteria.from_dict({"call_strike_below_basis_by_bid": None}).call_strike_below_basis_by_bid is False
    assert Criteria.from_dict(Criteria(call_strike_below_basis_by_bid=True).to_dict()).call_strike_below_basis_by_bid
    with pytest.raises(ValueError, match="call_strike_below_basis_by_bid must be true or false, got 'maybe'"):
        Criteria.from_dict({"call_strike_below_basis_by_bid": "maybe"})
