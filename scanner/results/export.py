"""Exports of a completed scan (CSV, Parquet), shared by the page and the CLI."""

from __future__ import annotations

import io
from enum import StrEnum

import pandas as pd

from scanner import clock
from scanner.schema import RESULT_COLUMNS
from scanner.store.scans import ScanMeta


class ExportFormat(StrEnum):
    CSV = "csv"
    PARQUET = "parquet"


FORMATS = tuple(fmt.value for fmt in ExportFormat)
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralize_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Text cells a spreadsheet would run as a formula get a leading apostrophe; numbers are untouched."""
    out = frame.copy()
    for name in out.columns:
        column = out[name]
        if pd.api.types.is_object_dtype(column) or pd.api.types.is_string_dtype(column):
            text = column.astype("string")
            risky = text.str.startswith(_FORMULA_STARTS).fillna(False).astype(bool)
            if risky.any():
                out[name] = column.where(~risky, "'" + text)
    return out


def export_frame(frame: pd.DataFrame, matches_only: bool) -> pd.DataFrame:
    """The rows and columns an export holds, in schema order, sorted like the page."""
    if matches_only and "match" in frame:
        frame = frame[frame["match"]]
    columns = [c for c in RESULT_COLUMNS if c in frame.columns]
    ordered = frame[columns].sort_values([c for c in ("ticker", "side", "expiration", "strike") if c in columns])
    return ordered.reset_index(drop=True)


def to_bytes(frame: pd.DataFrame, fmt: ExportFormat | str) -> bytes:
    if fmt == ExportFormat.CSV:
        # CRLF rows (RFC 4180) also make the writer quote a cell holding a bare carriage return.
        return neutralize_formulas(frame).to_csv(index=False, date_format="%Y-%m-%d", lineterminator="\r\n").encode()
    if fmt == ExportFormat.PARQUET:
        buffer = io.BytesIO()
        frame.to_parquet(buffer, index=False)
        return buffer.getvalue()
    raise ValueError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")


def file_name(meta: ScanMeta, kind: str, fmt: str) -> str:
    """Carries the scan id and its start time (ET); ``kind`` says what rows: matches, all, view."""
    when = clock.fmt_ny(meta.started_at, "%Y%m%d-%H%M") if meta.started_at else "unknown"
    return f"options-scan-{when}ET-{meta.scan_id}-{kind}.{fmt}"
