"""The pages, once (DESIGN "Layout": one registry per extensible set): ``dashboard.py`` builds ``st.navigation``
from ``PAGES``, so the sidebar reads these titles, never a file name. Adding a page is one entry here and its
file in ``pages/``."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

APP_NAME = "Options Scanner"


@dataclass(frozen=True)
class PageEntry:
    path: str  # the page's script, relative to dashboard.py
    title: str  # its label in the sidebar navigation
    icon: str
    tab: str  # the browser tab's title
    url: str | None = None  # its URL path (bookmarks from before the navigation keep working); None for the root

    def page(self, *, default: bool = False) -> st.Page:
        return st.Page(self.path, title=self.title, icon=self.icon, default=default, url_path=self.url)


PAGES: tuple[PageEntry, ...] = (  # the first is the default, served at the app's root URL
    PageEntry("pages/scan.py", APP_NAME, ":material/query_stats:", APP_NAME),
    PageEntry("pages/history.py", "History", ":material/history:", f"History · {APP_NAME}", "History"),
    PageEntry("pages/monitor.py", "Monitor", ":material/monitor_heart:", f"Scan monitor · {APP_NAME}", "Monitor"),
    PageEntry("pages/settings.py", "Watch-list and criteria", ":material/checklist:",
              f"Watch-list and criteria · {APP_NAME}", "Watch-list_and_criteria"),
    PageEntry("pages/positions.py", "Positions", ":material/account_balance_wallet:", f"Positions · {APP_NAME}",
              "Positions"),
)


def navigation() -> tuple[st.Page, PageEntry]:
    """The navigation over ``PAGES`` (drawn in the sidebar) and the page this run shows, with its entry."""
    pages = [(entry, entry.page(default=index == 0)) for index, entry in enumerate(PAGES)]
    current = st.navigation([page for _, page in pages])  # one of those it was given
    return current, next(entry for entry, page in pages if page is current)
