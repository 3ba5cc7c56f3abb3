"""The earnings marker and the "contracts through earnings" filter in a real ``streamlit run`` and headless
Chromium (the fixtures of test_pages.py), on a stored scan whose AAPL reports inside its contracts' lives."""

from __future__ import annotations

import re

import pytest

from tests.browser.test_pages import CHROMIUM, _choose, _expanders_settle, browser, dashboards, page  # noqa: F401
from tests.support.stored import store_scan
from tests.ui.test_events_view import events_rows

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)")
EVERYTHING = "?rules=0&side=both&min_ann=&delta_min=&delta_max="


def test_the_red_earnings_marker_and_the_through_earnings_filter(dashboards, page) -> None:  # noqa: F811
    start, store = dashboards
    store_scan(store, "events", events_rows(), 1_700_000_000.0, criteria={"side": "both", "earnings": "flag"})
    page.goto(start() + "/" + EVERYTHING)
    marker = page.get_by_text("earnings Thu 12-03 after close", exact=True)
    marker.wait_for(timeout=60_000)
    colour = marker.evaluate("element => getComputedStyle(element).color")
    red, green, blue = (int(part) for part in re.findall(r"\d+", colour)[:3])
    assert red > 150 and green < 100 and blue < 100, colour  # Streamlit's red, not the text colour
    title = page.locator("[data-testid=stExpander] summary", has_text="AAPL — 2 options")
    assert "earnings Thu 12-03 after close" in title.inner_text()
    _expanders_settle(page, 3)

    _choose(page, "Contracts through earnings", "hide")
    page.wait_for_url(re.compile(r"earnings=hide"))
    _expanders_settle(page, 2)
    assert page.locator("[data-testid=stExpander] summary", has_text="AAPL").count() == 0

    _choose(page, "Contracts through earnings", "only")
    page.wait_for_url(re.compile(r"earnings=only"))
    _expanders_settle(page, 1)
    assert page.locator("[data-testid=stExpander] summary", has_text="AAPL — 2 options").count() == 1
