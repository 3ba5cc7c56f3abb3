"""A ticker's IV30 history with HV20 beside it (issue 17), read through the store and drawn with Altair."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from scanner.errors import REDIS_ERRORS
from scanner.store.iv_history import IvHistory
from scanner.store.scans import ScanStore

SERIES = {"iv30": "IV30", "hv20": "HV20"}


def history_frame(store: ScanStore, source: str, ticker: str) -> pd.DataFrame:
    """One row per session and series (IV30, HV20), the value a fraction; HV20 left out where it was not known."""
    points = IvHistory(store.client, store.keys).points(source, ticker)
    frame = pd.DataFrame({"session": pd.to_datetime([point.session for point in points]),
                          "iv30": [point.iv30 for point in points], "hv20": [point.hv20 for point in points]})
    long = frame.melt("session", var_name="series", value_name="value").dropna(subset=["value"])
    return long.assign(series=long["series"].map(SERIES))


def iv_history_chart(frame: pd.DataFrame) -> alt.Chart:
    return alt.Chart(frame).mark_line(point=alt.OverlayMarkDef(size=12)).encode(
        x=alt.X("session:T", title="Session"),
        y=alt.Y("value:Q", title="Volatility", axis=alt.Axis(format="%"), scale=alt.Scale(zero=False)),
        color=alt.Color("series:N", title=None, legend=alt.Legend(orient="bottom")),
        tooltip=[alt.Tooltip("session:T", title="Session"), alt.Tooltip("series:N", title="Series"),
                 alt.Tooltip("value:Q", title="Value", format=".2%")],
    )


def render_iv_history(store: ScanStore, source: str, ticker: str) -> None:
    """The chart under the Charts tab, or why there is none; Redis trouble is one line, never a traceback."""
    st.subheader(f"{ticker}: IV30 history ({source})")
    try:
        frame = history_frame(store, source, ticker)
    except REDIS_ERRORS as exc:
        st.warning(f"The IV history could not be read ({type(exc).__name__}).")
        return
    if frame.empty:
        st.info(f"No IV history of {ticker} from {source} yet: each scan records one point per session "
                "(`python -m scanner iv-history backfill` fills past ones).")
        return
    st.altair_chart(iv_history_chart(frame), width="stretch")
