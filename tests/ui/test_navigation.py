"""AppTest of the entry point: dashboard.py navigates over the page registry, each page opens through it with its
own heading, and only the entry point sets the page config."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from scanner.ui.navigation import PAGES, PageEntry
from tests.support.paths import ROOT

TITLES = ["Options Scanner", "History", "Monitor", "Watch-list and criteria", "Positions"]
HEADINGS = {"Options Scanner": "Options Scanner", "History": "Scan history", "Monitor": "Scan monitor",
            "Watch-list and criteria": "Watch-list and criteria", "Positions": "Positions"}


def test_the_registry_names_the_pages_by_title_and_each_file_exists() -> None:
    assert [entry.title for entry in PAGES] == TITLES
    for entry in PAGES:
        assert (ROOT / entry.path).is_file(), entry.path


def test_the_entry_point_opens_the_scan_page(scanner_env) -> None:
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60).run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Options Scanner"]


@pytest.mark.parametrize("entry", PAGES[1:], ids=lambda entry: entry.title)
def test_each_page_opens_through_the_navigation(scanner_env, entry: PageEntry) -> None:
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60).run()
    at.switch_page(entry.path).run()
    assert not at.exception
    assert [t.value for t in at.title] == [HEADINGS[entry.title]]
    assert any(c.value.startswith("Open access") for c in at.sidebar.caption)  # the page frame's guard ran


def test_only_the_entry_point_sets_the_page_config() -> None:
    sources = [ROOT / "dashboard.py", *sorted((ROOT / "pages").glob("*.py")), *sorted((ROOT / "scanner").rglob("*.py"))]
    setting = [path.relative_to(ROOT).as_posix() for path in sources if "set_page_config(" in path.read_text()]
    assert setting == ["dashboard.py"]
