"""Cells a spreadsheet would run as a formula, neutralized for every CSV this project writes (scan exports, the
watch-list). A leading line break counts: spreadsheets drop it and read the rest; so do the full-width signs,
which some (LibreOffice, Excel in East Asian locales) read as their ASCII forms."""

from __future__ import annotations

import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")


def neutral_text(text: str) -> str:
    """`text` with a leading apostrophe when a spreadsheet would run it, else unchanged."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def neutralize_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Text cells a spreadsheet would run as a formula get a leading apostrophe; numbers are untouched."""
    out = frame.copy()
    for name in out.columns:
        column = out[name]
        if pd.api.types.is_object_dtype(column) or pd.api.types.is_string_dtype(column):
            text = column.astype("string")
            risky = text.str.startswith(FORMULA_STARTS).fillna(False).astype(bool)
            if risky.any():
                out[name] = column.where(~risky, "'" + text)
    return out
