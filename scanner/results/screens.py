"""A saved screen's filters: its query validated by the filters' own code, read back, and linked to.

The page's URL parameters are the one language of a filtered view: ``screens save --query 'min_ann=40&side=put'``
takes them, a saved screen stores every one (``Filters.to_query(None)``), and an alert links to the same view.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import parse_qsl, urlencode

from scanner.errors import SettingsError
from scanner.results.filters import QUERY_NAMES, Filters
from scanner.store.screens import Screen


def screen_query(params: str | Mapping[str, str], defaults: Filters) -> dict[str, str]:
    """The whole filter state of ``params`` (a query string or its parameters) over ``defaults``; SettingsError
    naming each parameter that is unknown or unreadable (where the page would ignore it with a note)."""
    if isinstance(params, str):
        params = dict(parse_qsl(params.lstrip("?"), keep_blank_values=True))
    unknown = sorted(set(params) - set(QUERY_NAMES.values()))
    if unknown:
        known = ", ".join(QUERY_NAMES.values())
        raise SettingsError(f"unknown filter parameters: {', '.join(unknown)} (known: {known})")
    filters, notes = Filters.from_query(params, defaults)
    if notes:
        raise SettingsError(" ".join(note.removeprefix("Ignored ") for note in notes))
    return filters.to_query(None)


def screen_filters(screen: Screen) -> Filters:
    """The screen's filters; a stored field that no longer reads (a hand edit) takes the no-limit default."""
    return Filters.from_query(screen.query, Filters(only_matches=True))[0]


def screen_link(public_url: str, screen: Screen) -> str:
    """The dashboard's main page showing the screen's view, or '' without ``SCANNER_PUBLIC_URL``."""
    return f"{public_url}/?{urlencode(screen.query)}" if public_url else ""
