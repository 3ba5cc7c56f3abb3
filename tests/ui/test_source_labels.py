"""AppTest: every page names a delayed source's delay under its title (on a phone the sidebar is collapsed, so the
main area's caption is the one a trader sees), for Cboe's delayed quotes and Tradier's sandbox (issue 20)."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from scanner.ui.navigation import PAGES, PageEntry
from tests.support.paths import ROOT

DELAYED = {
    "cboe": ({"SCANNER_PROVIDER": "cboe", "CBOE_URL_BASE": "http://127.0.0.1:9/v1"},
             "Data source: **Cboe delayed quotes (delayed 15 min)**"),
    "tradier sandbox": ({"SCANNER_PROVIDER": "tradier", "TRADIER_TOKEN": "tr-label-test",
                         "TRADIER_URL_BASE": "https://sandbox.tradier.com/v1"},
                        "Data source: **Tradier sandbox (delayed 15 min)**"),
}


@pytest.mark.parametrize("source", list(DELAYED))
@pytest.mark.parametrize("entry", PAGES, ids=lambda entry: entry.title)
def test_every_page_names_the_delay_of_a_delayed_source(scanner_env, monkeypatch: pytest.MonkeyPatch, source: str,
                                                        entry: PageEntry) -> None:
    env, caption = DELAYED[source]
    for name, value in env.items():
        monkeypatch.setenv(name, value)  # only the label is built: nothing is fetched
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60).run()
    at.switch_page(entry.path).run()
    assert not at.exception
    assert caption in [c.value for c in at.main.caption]
