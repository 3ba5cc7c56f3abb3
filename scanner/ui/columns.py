"""Table columns as pages show them: ``st.column_config`` entries derived from a ``Display``.

``scanner.schema`` says how each stored column is shown (label, display, help); ``schema_columns`` turns those
entries into a table's ``column_config``, and ``column`` does the same for a page's own tables (the summary,
the history) so every table formats money, percentages, counts and dates alike.
"""

from __future__ import annotations

from collections.abc import Iterable

import streamlit as st
from streamlit.elements.lib.column_types import ColumnConfig

from scanner.schema import BY_NAME, Display

DATE_FORMAT = "YYYY-MM-DD"  # moment.js tokens, as DateColumn takes them
NUMBER_FORMATS: dict[Display, str | None] = {  # printf formats, or the name of a Streamlit preset
    Display.MONEY: "$%.2f",
    Display.PERCENT: "%.2f%%",  # already in percent: 36.5 -> 36.50%
    Display.FRACTION: "percent",  # Streamlit's preset: 0.83 -> 83.00%
    Display.DELTA: "%.3f",
    Display.COUNT: "%d",
    Display.NUMBER: None,  # Streamlit's default
}


def column(display: Display, label: str, help: str = "") -> ColumnConfig:
    """The column config that shows values the ``display`` way under ``label`` (``help`` as its tooltip)."""
    tooltip = help or None
    match display:
        case Display.TEXT:
            return st.column_config.TextColumn(label, help=tooltip)
        case Display.FLAG:
            return st.column_config.CheckboxColumn(label, help=tooltip)
        case Display.DATE:
            return st.column_config.DateColumn(label, format=DATE_FORMAT, help=tooltip)
        case _:
            return st.column_config.NumberColumn(label, format=NUMBER_FORMATS[display], help=tooltip)


def schema_column(name: str) -> ColumnConfig:
    """The column config of a schema column: its label, display and help."""
    entry = BY_NAME[name]
    return column(entry.display, entry.label, entry.help)


def schema_columns(names: Iterable[str]) -> dict[str, ColumnConfig]:
    """A table's ``column_config`` for these schema columns, in this order."""
    return {name: schema_column(name) for name in names}
