"""Exports of a completed scan (CSV, Parquet), shared by the page and the CLI.

CSV numbers are rounded to what they mean, from each column's display in the schema (money to cents, percentages
to 2 decimals, delta, IV and P(OTM) to 4, the score to 2); Parquet keeps full precision.
"""

from __future__ import annotations

import io
from enum import StrEnum
from pathlib import Path

import pandas as pd

from scanner import clock
from scanner.results.formulas import neutralize_formulas
from scanner.schema import BY_NAME, STORED_COLUMNS, Display, Kind
from scanner.store.scans import ScanMeta


class ExportFormat(StrEnum):
    CSV = "csv"
    PARQUET = "parquet"


FORMATS = tuple(fmt.value for fmt in ExportFormat)
EXPORTS_DIR = Path("exports")  # the CLI's default folder, under the current directory (git-ignored)
CSV_DECIMALS = {Display.MONEY: 2, Display.PERCENT: 2, Display.DELTA: 4, Display.FRACTION: 4, Display.NUMBER: 2}
"""Decimals a CSV keeps per display; a float column of another display (or none in the schema) is written whole."""


def rounded(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with each float column of the schema rounded to its display's CSV_DECIMALS (-0.0 written as 0.0)."""
    decimals = {name: CSV_DECIMALS[BY_NAME[name].display] for name in frame.columns
                if name in BY_NAME and BY_NAME[name].kind is Kind.FLOAT and BY_NAME[name].display in CSV_DECIMALS}
    if not decimals:
        return frame
    out = frame.copy()
    for name, places in decimals.items():
        out[name] = pd.to_numeric(out[name], errors="coerce").round(places) + 0.0
    return out


def export_frame(frame: pd.DataFrame, matches_only: bool) -> pd.DataFrame:
    """The rows and columns an export holds, in schema order, sorted like the page."""
    if matches_only and "match" in frame:
        frame = frame[frame["match"]]
    columns = [c for c in STORED_COLUMNS if c in frame.columns]
    ordered = frame[columns].sort_values([c for c in ("ticker", "side", "expiration", "strike") if c in columns])
    return ordered.reset_index(drop=True)


def to_bytes(frame: pd.DataFrame, fmt: ExportFormat | str) -> bytes:
    if fmt == ExportFormat.CSV:
        # CRLF rows (RFC 4180) also make the writer quote a cell holding a bare carriage return.
        text = neutralize_formulas(rounded(frame)).to_csv(index=False, date_format="%Y-%m-%d", lineterminator="\r\n")
        return text.encode()
    if fmt == ExportFormat.PARQUET:
        buffer = io.BytesIO()
        frame.to_parquet(buffer, index=False)
        return buffer.getvalue()
    raise ValueError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")


def default_path(meta: ScanMeta, everything: bool, fmt: str) -> Path:
    """Where the CLI writes an export given no --output: a named file in ./exports/."""
    return EXPORTS_DIR / file_name(meta, "all" if everything else "matches", fmt)


def file_name(meta: ScanMeta, kind: str, fmt: str) -> str:
    """Carries the scan id and its start time (ET); ``kind`` says what rows: matches, all, view."""
    when = clock.fmt_ny(meta.started_at, "%Y%m%d-%H%M") if meta.started_at else "unknown"
    return f"options-scan-{when}ET-{meta.scan_id}-{kind}.{fmt}"
