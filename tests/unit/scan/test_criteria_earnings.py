"""The `earnings` criterion: an enum stored with the criteria, set from the CLI's words, old criteria at default."""

from __future__ import annotations

import pytest

from scanner.errors import SettingsError
from scanner.scan.criteria import Criteria, EarningsRule, parse_assignments, validate_criteria


def test_criteria_set_earnings_flag_and_back() -> None:
    flagged = validate_criteria({**Criteria().to_dict(), **parse_assignments(["earnings=FLAG"])})
    assert flagged.earnings is EarningsRule.FLAG
    assert Criteria.from_dict(flagged.to_dict()) == flagged
    assert flagged.to_dict()["earnings"] == "flag"


def test_a_bad_earnings_word_is_refused_naming_the_choices() -> None:
    with pytest.raises(SettingsError, match="earnings must be one of exclude, flag, got 'skip'"):
        validate_criteria(parse_assignments(["earnings=skip"]))


def test_criteria_and_scans_stored_before_the_rule_read_as_exclude() -> None:
    assert Criteria.of_scan({"side": "put", "as_of": "2026-12-01"}).earnings is EarningsRule.EXCLUDE
