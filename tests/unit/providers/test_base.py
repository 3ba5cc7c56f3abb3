"""What a provider asks of the scan's request: which of its listed expirations to fetch."""

from __future__ import annotations

from datetime import date

from scanner.providers.base import ChainRequest

MONDAY = date(2026, 11, 30)
LISTED = [date(2026, 12, 18), date(2026, 12, 4), date(2026, 12, 31), date(2026, 12, 11), date(2027, 1, 15)]


def test_weeks_take_the_calendars_weeklies_the_source_lists() -> None:
    # weeklies after 11-30: 12-04, 12-11, 12-18, 12-24 (Christmas Friday moves to Thursday); 12-24 is not listed
    assert ChainRequest(weeks=4).listed_to_fetch(LISTED, MONDAY) == [date(2026, 12, 4), date(2026, 12, 11),
                                                                     date(2026, 12, 18)]


def test_a_dte_window_takes_every_listed_expiration_in_it() -> None:
    request = ChainRequest(weeks=1, dte_window=(11, 31))  # 12-11 is 11 DTE, 12-31 31: both ends included
    assert request.listed_to_fetch(LISTED, MONDAY) == [date(2026, 12, 11), date(2026, 12, 18), date(2026, 12, 31)]
