"""The history page: every finished scan; pick one to see it with the main page's view, its comparison
with the completed scan before it, and its exports."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from scanner import clock
from scanner.results.compare import COMPARED, Comparison, compare
from scanner.schema import BY_NAME, Display
from scanner.store.scans import FINISHED, ScanMeta, ScanStatus, ScanStore
from scanner.ui.columns import column, decision_first, schema_columns
from scanner.ui.context import PageContext
from scanner.ui.markdown import plain
from scanner.ui.page import page_frame
from scanner.ui.positions_page import hides_book, viewer_meta, viewer_rows
from scanner.ui.results import load_results, previous_completed, render_scan_view

HISTORY_CONFIG = {
    "started": column(Display.TEXT, "Started (ET)"),
    "duration": column(Display.TEXT, "Duration"),
    "status": column(Display.TEXT, "Status"),
    "trigger": column(Display.TEXT, "Started by", help="page, cli (the command line) or schedule (the scheduler)"),
    "provider": column(Display.TEXT, "Source"),
    "side": column(Display.TEXT, "Side"),  # a scan's side may be "both"
    "tickers": column(Display.TEXT, "Tickers"),
    "contracts": column(Display.COUNT, "Contracts"),
    "matches": column(Display.COUNT, "Matches"),
    "errors": column(Display.COUNT, "Errors"),
    "invalid_rows": column(Display.COUNT, "Unusable rows",
                           help="Rows the source sent that could not be screened, dropped"),
    "scan_id": column(Display.TEXT, "Scan id"),
}
COMPARE_ALL = "history-compare-all"  # the toggle: compare every screened contract, not only the matches
CHANGED_CONFIG = {  # the "changed" table's before/after columns: "Bid before", "Bid after"
    f"{name}_{when}": column(BY_NAME[name].display, f"{BY_NAME[name].label} {when}")
    for name in COMPARED for when in ("before", "after")
}


def history_table(scans: list[ScanMeta]) -> pd.DataFrame:
    return pd.DataFrame([{
        "started": clock.fmt_ny(m.started_at, "%Y-%m-%d %H:%M"), "duration": clock.fmt_duration(m.elapsed),
        "status": m.status, "trigger": m.trigger, "provider": m.provider, "side": m.side,
        "tickers": f"{m.tickers_done}/{m.tickers_total}",
        "contracts": m.contracts, "matches": m.matches, "errors": m.errors, "invalid_rows": m.invalid_rows,
        "scan_id": m.scan_id,
    } for m in scans], columns=list(HISTORY_CONFIG))


def _selected(table: pd.DataFrame) -> str | None:
    """The picked row, else the scan named in the URL (``?scan=ID``), else the newest."""
    event = st.dataframe(table, hide_index=True, column_config=HISTORY_CONFIG, width="stretch",
                         on_select="rerun", selection_mode="single-row", key="history-table")
    rows = event.selection.rows if event is not None else []
    if rows:
        chosen = table["scan_id"].iloc[rows[0]]
        st.query_params["scan"] = chosen
        return chosen
    wanted = st.query_params.get("scan")
    if wanted and wanted in set(table["scan_id"]):
        return wanted
    if wanted:
        st.warning(plain(f"Scan {wanted[:40]!r} is not in the history (it may have been removed by retention)."))
    return table["scan_id"].iloc[0] if len(table) else None


def _run_with(meta: ScanMeta) -> None:
    tickers = meta.tickers
    st.caption(f"Ran with {len(tickers)} tickers: {', '.join(tickers[:40])}{' …' if len(tickers) > 40 else ''}")
    st.caption("Criteria: " + ", ".join(f"{k}={v}" for k, v in meta.criteria.items()))
    if meta.message:
        (st.info if meta.status == ScanStatus.COMPLETED else st.warning)(plain(meta.message))


@st.cache_resource(max_entries=8, show_spinner=False)
def _compared(_store: ScanStore, prefix: str, scan: tuple[str, int], previous: tuple[str, int],
              matches_only: bool, _metas: tuple[ScanMeta, ScanMeta], hidden: tuple[bool, bool]) -> Comparison | None:
    """Two finished scans compared (None when either has no rows): computed once per pair, version, scope and
    whether each is seen without its book (another's scan), not on every rerun, since it costs hundreds
    of milliseconds for a large scan."""
    now = viewer_rows(load_results(_store, prefix, *scan)[0], _metas[0], prefix)
    before = viewer_rows(load_results(_store, prefix, *previous)[0], _metas[1], prefix)
    return None if now.empty or before.empty else compare(now, before, matches_only=matches_only)


def comparison_table(frame: pd.DataFrame) -> None:
    """One of the comparison's tables: the decision columns first, schema labels, dates as dates."""
    order = decision_first(frame.columns)
    config = {**schema_columns(c for c in order if c not in CHANGED_CONFIG), **CHANGED_CONFIG}
    st.dataframe(frame[order], hide_index=True, width="stretch",
                 column_config={name: config[name] for name in order})


def _comparison(ctx: PageContext, meta: ScanMeta, previous: ScanMeta | None) -> None:
    st.subheader("Compared with the previous completed scan")
    if previous is None:
        st.caption("No earlier completed scan to compare with.")
        return
    everything = st.toggle("All contracts, not only the matches", key=COMPARE_ALL,
                           help="Off: each scan's matches (rows passing its rules). On: every screened contract.")
    result = _compared(ctx.store, ctx.store.keys.root, (meta.scan_id, meta.version),
                       (previous.scan_id, previous.version), not everything, (meta, previous),
                       (hides_book(meta), hides_book(previous)))
    if result is None:
        st.caption("One of the two scans has no stored contracts.")
        return
    scope = "every screened contract" if everything else "matches: a contract counts where it passed its scan's rules"
    st.caption(f"Previous: {previous.scan_id} started {clock.fmt_ny(previous.started_at)}. Over {scope}.")
    new, dropped, changed = st.tabs([f"New ({len(result.new)})", f"Dropped ({len(result.dropped)})",
                                     f"Changed ({len(result.changed)})"])
    for tab, frame in ((new, result.new), (dropped, result.dropped), (changed, result.changed)):
        with tab:
            comparison_table(frame)


def render() -> None:
    with page_frame("Scan history") as page:
        # another's scan: its tickers, counts and message without what its starter's book brought
        scans = [viewer_meta(m) for m in page.store.history(200) if m.status in FINISHED]
        if not scans:
            st.info("No finished scans yet.")
            return
        scan_id = _selected(history_table(scans))
        meta = next(m for m in scans if m.scan_id == scan_id)
        st.subheader(f"Scan {meta.scan_id} — {meta.status} — started {clock.fmt_ny(meta.started_at)}")
        _run_with(meta)
        previous = previous_completed(page.store, page.store.keys.root, meta.scan_id)
        render_scan_view(page.store, meta, previous, key="history", empty_text="No options found.",
                         exportable=meta.status == ScanStatus.COMPLETED)
        _comparison(page, meta, previous)
