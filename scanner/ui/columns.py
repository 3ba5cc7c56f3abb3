"""Table columns as pages show them: ``st.column_config`` entries derived from a ``Display``.

``scanner.schema`` says how each stored column is shown (label, display, help); ``schema_columns`` turns those
entries into a table's ``column_config``, and ``column`` does the same for a page's own tables (the summary,
the history) so every table formats money, percentages, counts and dates alike. ``tooltip`` does it for a
chart's tooltips, ``shown_value`` for a figure written out (a contract's detail), and ``decision_first`` puts the
columns a trader decides on first in every results table.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st
from streamlit.elements.lib.column_types import ColumnConfig

from scanner.schema import BY_NAME, Display

DECISION_COLUMNS = (  # what a trader decides on, first in every results table, in this order; the first five
    # (ticker, strike, expiration, bid, annualized) fit a phone's 390 px without scrolling sideways
    "ticker", "strike", "expiration", "bid", "annualized_return_pct", "side", "dte", "delta", "open_interest",
    "spread_pct",
)
DATE_FORMAT = "YYYY-MM-DD"  # moment.js tokens, as DateColumn takes them
NUMBER_FORMATS: dict[Display, str] = {  # printf formats, or the name of a Streamlit preset
    Display.MONEY: "$%.2f",
    Display.PERCENT: "%.2f%%",  # already in percent: 36.5 -> 36.50%
    Display.FRACTION: "percent",  # Streamlit's preset: 0.83 -> 83.00%
    Display.DELTA: "%.3f",
    Display.COUNT: "%d",
    Display.NUMBER: "%.2f",
}
CHART_FORMATS: dict[Display, str] = {  # d3 formats (Vega-Lite tooltips), the same shapes as NUMBER_FORMATS
    Display.MONEY: "$,.2f",
    Display.PERCENT: ".2%",  # of the value / 100: see ``tooltip``
    Display.FRACTION: ".2%",
    Display.DELTA: ".3f",
    Display.COUNT: ",d",
    Display.NUMBER: ".2f",
    Display.DATE: "%Y-%m-%d",
}
TEXT_FORMATS: dict[Display, str] = {  # Python formats for a figure written out, the same shapes again
    Display.MONEY: "${:,.2f}",
    Display.PERCENT: "{:,.2f}%",
    Display.FRACTION: "{:.2%}",
    Display.DELTA: "{:.3f}",
    Display.COUNT: "{:,.0f}",
    Display.NUMBER: "{:,.2f}",
}
MISSING = "—"


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


def shown_value(name: str, value: Any) -> str:
    """Schema column ``name``'s ``value`` as its tables show it ("$1,234.56", "36.50%", "83.00%"; "—" when
    missing)."""
    if value is None or value is pd.NA or (not isinstance(value, str) and pd.isna(value)):
        return MISSING
    display = BY_NAME[name].display
    match display:
        case Display.DATE:
            return pd.Timestamp(value).strftime("%Y-%m-%d")
        case Display.FLAG:
            return "yes" if value else "no"
        case Display.TEXT:
            return str(value) or MISSING
        case _:
            return TEXT_FORMATS[display].format(value)


def decision_first(names: Iterable[str]) -> list[str]:
    """``names`` with the decision columns (those present) first, in ``DECISION_COLUMNS`` order, then the rest
    in their own order."""
    names = list(names)
    first = [name for name in DECISION_COLUMNS if name in names]
    return first + [name for name in names if name not in first]


def tooltip(name: str, kind: str) -> alt.Tooltip:
    """A chart tooltip for schema column ``name`` (its Vega-Lite type ``kind``: "Q", "N", "T"): the schema's
    label and the display's format. A percentage already in percent (36.5) is shown through a field divided by
    100 (``percent_fields`` computes it), since d3's ``%`` multiplies."""
    entry = BY_NAME[name]
    fmt = CHART_FORMATS.get(entry.display)
    field = f"{name}_fraction" if entry.display is Display.PERCENT else name
    return alt.Tooltip(f"{field}:{kind}", title=entry.label, **({"format": fmt} if fmt else {}))


def percent_fields(chart: alt.Chart, names: Iterable[str]) -> alt.Chart:
    """``chart`` with the ``<name>_fraction`` fields that ``tooltip`` reads for percent columns."""
    percents = {f"{name}_fraction": f"datum['{name}'] / 100" for name in names
                if BY_NAME[name].display is Display.PERCENT}
    return chart.transform_calculate(**percents) if percents else chart
