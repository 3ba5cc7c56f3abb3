"""The results view: one expander per ticker with its matching contracts, and the CSV downloads."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from scanner import clock
from scanner.export import export_frame, file_name, to_bytes
from scanner.store import ScanMeta, ScanStore

SHOWN_COLUMNS = (
    "side", "expiration", "dte", "strike", "bid", "ask", "mid", "annualized_return_pct", "delta", "prob_otm",
    "iv", "change_pct", "underlying_price", "break_even", "premium", "collateral", "spread_pct", "volume",
    "open_interest", "option_symbol",
)


def _money(label: str) -> st.column_config.NumberColumn:
    return st.column_config.NumberColumn(label, format="$%.2f")


def _percent(label: str) -> st.column_config.NumberColumn:
    return st.column_config.NumberColumn(label, format="%.2f%%")


COLUMN_CONFIG = {
    "side": st.column_config.TextColumn("Side"),
    "expiration": st.column_config.DateColumn("Expiration", format="YYYY-MM-DD"),
    "dte": st.column_config.NumberColumn("DTE", format="%d"),
    "strike": _money("Strike"),
    "bid": _money("Bid"),
    "ask": _money("Ask"),
    "mid": _money("Mid"),
    "annualized_return_pct": _percent("Annualized"),
    "delta": st.column_config.NumberColumn("Delta", format="%.3f"),
    "prob_otm": st.column_config.NumberColumn("P(OTM)", format="percent"),
    "iv": st.column_config.NumberColumn("IV", format="percent"),
    "change_pct": _percent("Change"),
    "underlying_price": _money("Underlying"),
    "break_even": _money("Break-even"),
    "premium": _money("Premium"),
    "collateral": _money("Collateral"),
    "spread_pct": _percent("Spread"),
    "volume": st.column_config.NumberColumn("Volume", format="%d"),
    "open_interest": st.column_config.NumberColumn("Open int.", format="%d"),
    "option_symbol": st.column_config.TextColumn("Contract"),
}


@st.cache_data(max_entries=16, show_spinner=False)
def load_results(_store: ScanStore, prefix: str, scan_id: str, version: int) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """Every screened row of a scan; re-read only when the scan's ``version`` moves."""
    results = _store.results(scan_id)
    return results.frame, results.corrupt_tickers


def matches_by_ticker(frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Matching rows per ticker, ordered by expiration then strike."""
    if frame.empty or "match" not in frame:
        return {}
    matching = frame[frame["match"]].sort_values(["ticker", "expiration", "strike"])
    return {ticker: rows for ticker, rows in matching.groupby("ticker", sort=True)}


def render_expanders(meta: ScanMeta, frame: pd.DataFrame, empty_text: str) -> None:
    groups = matches_by_ticker(frame)
    if not groups:
        st.info(empty_text)
        return
    stamp = clock.fmt_ny(meta.finished_at or meta.heartbeat_at or meta.started_at, "%H:%M")
    for ticker, rows in groups.items():
        count = len(rows)
        with st.expander(f"{ticker} — {count} option{'s' if count != 1 else ''} — last scan {stamp}"):
            shown = [c for c in SHOWN_COLUMNS if c in rows.columns]
            st.dataframe(rows[shown], hide_index=True, column_config=COLUMN_CONFIG, width="stretch")


def render_downloads(store: ScanStore, meta: ScanMeta) -> None:
    """CSV of the matches or of every screened contract; built only when clicked."""
    def payload(matches_only: bool):
        def build() -> bytes:
            frame, _ = load_results(store, store.keys.root, meta.scan_id, meta.version)
            return to_bytes(export_frame(frame, matches_only), "csv")
        return build

    left, right = st.columns(2)
    left.download_button("Download CSV", payload(True), file_name=file_name(meta, True, "csv"),
                         mime="text/csv", key=f"dl-matches-{meta.scan_id}", on_click="ignore")
    right.download_button("Download CSV (all contracts)", payload(False), file_name=file_name(meta, False, "csv"),
                          mime="text/csv", key=f"dl-all-{meta.scan_id}", on_click="ignore")
