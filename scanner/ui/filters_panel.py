"""The sidebar filters, kept in ``st.query_params`` so a filtered view is a URL to bookmark or share."""

from __future__ import annotations

from dataclasses import fields, replace

import streamlit as st

from scanner.results.filters import (
    COUNT_LIMITS,
    DELTA_LIMITS,
    DTE_LIMITS,
    IV_HV_LIMITS,
    IV_RANK_LIMITS,
    PERCENT_LIMITS,
    QUERY_NAMES,
    SIDE_OPTIONS,
    Filters,
    ThroughEarnings,
)
from scanner.ui.markdown import plain

_KEY = "filter_"  # widget keys: filter_<field>
_SCOPE = "filter_scope"  # the view the widgets' values belong to: (page, scan shown)


def _forget() -> None:
    for spec in fields(Filters):
        st.session_state.pop(_KEY + spec.name, None)


def _reset() -> None:
    _forget()
    for name in QUERY_NAMES.values():
        st.query_params.pop(name, None)


def show_view(params: dict[str, str]) -> None:
    """Callback: the filters of a saved view, as if its URL had been opened (the widgets re-read the URL)."""
    _reset()
    for name, value in params.items():
        if name in QUERY_NAMES.values():
            st.query_params[name] = value


def reset_button(key: str) -> None:
    """A **Reset filters** button outside the sidebar (where the filters hide every match): the sidebar's own."""
    st.button("Reset filters", key=key, on_click=_reset)


def _seed(current: Filters, tickers: list[str]) -> None:
    """Widgets start from the URL's filters the first time they are drawn in this session, and every run
    sends their value again.

    A value set from Python reaches the browser once. A widget the browser mounts only after a later run (its
    code still loading on a first visit, with a click already on its way) would start from the widget's
    empty default and send that back: the URL's or the scan's delta bounds would silently become "no limit".
    """
    for spec in fields(Filters):
        key = _KEY + spec.name
        value = st.session_state[key] if key in st.session_state else getattr(current, spec.name)
        st.session_state[key] = [t for t in value if t in tickers] if spec.name == "tickers" else value


def render_filters(defaults: Filters, tickers: list[str], scope: str, scan_id: str) -> Filters:
    """Draw the filters; returns what they say and writes the non-default ones back to the URL.

    ``scope`` names the page and ``scan_id`` the scan it shows, whose rules are ``defaults``. Arriving at another
    page, or another scan coming on screen (one started or finished in this tab, another picked in History),
    starts again from the URL: a filter the URL sets stays, every other one takes the rules of the scan now
    shown, never the values the filters had for the scan before (nor are those written to the URL).
    """
    view = (scope, scan_id)
    if st.session_state.get(_SCOPE) != view:
        _forget()
        st.session_state[_SCOPE] = view
    from_url, notes = Filters.from_query(st.query_params.to_dict(), defaults)
    unknown = [t for t in from_url.tickers if t not in tickers]
    if unknown:
        notes.append(f"Ignored tickers not in this scan: {', '.join(unknown)}.")
    _seed(from_url, tickers)
    with st.sidebar:
        st.header("Filters")
        for note in notes:
            st.warning(plain(note))
        k = _KEY
        st.checkbox("Only rows that pass the scan's rules", key=k + "only_matches")
        st.checkbox("Fits my cash (puts the free cash secures, calls the free shares cover)", key=k + "fits_book")
        st.selectbox("Side", SIDE_OPTIONS, key=k + "side")
        st.selectbox("Contracts through earnings", list(ThroughEarnings), key=k + "earnings",
                     help="Contracts whose life holds the ticker's next earnings report: show them, hide them, or "
                          "show only them. A contract whose source does not say stays shown unless 'only'.")
        st.number_input("Min annualized return %", *PERCENT_LIMITS, value=None, step=5.0, key=k + "min_annualized")
        left, right = st.columns(2)
        left.number_input("Delta from", *DELTA_LIMITS, value=None, step=0.05, format="%.2f", key=k + "delta_min")
        right.number_input("Delta to", *DELTA_LIMITS, value=None, step=0.05, format="%.2f", key=k + "delta_max")
        left.number_input("DTE from", *DTE_LIMITS, value=None, step=1, key=k + "dte_min")
        right.number_input("DTE to", *DTE_LIMITS, value=None, step=1, key=k + "dte_max")
        left.number_input("Min open interest", *COUNT_LIMITS, value=None, step=10, key=k + "min_open_interest")
        right.number_input("Min volume", *COUNT_LIMITS, value=None, step=10, key=k + "min_volume")
        left.number_input("Max spread %", 0.0, PERCENT_LIMITS[1], value=None, step=5.0, key=k + "max_spread_pct")
        right.number_input("Min % out of the money", *PERCENT_LIMITS, value=None, step=1.0, key=k + "min_below_pct")
        left.number_input("Min IV rank", *IV_RANK_LIMITS, value=None, step=10.0, key=k + "min_iv_rank",
                          help="The ticker's IV rank over its last 252 sessions (0-100); a ticker with under 20 "
                               "sessions of IV history has none and is hidden")
        right.number_input("Min IV/HV", *IV_HV_LIMITS, value=None, step=0.1, format="%.2f", key=k + "min_iv_hv",
                           help="The ticker's IV30 / HV20: above 1 the options price more movement than the stock "
                                "has shown")
        st.multiselect("Tickers", tickers, key=k + "tickers")
        st.text_input("Search (ticker or contract)", max_chars=40, key=k + "search")
        st.button("Reset filters", on_click=_reset)
    chosen = _from_widgets()
    for low, high, label in chosen.inverted_ranges():
        st.sidebar.warning(f"{label} from is above {label} to: that range is not applied.")
        chosen = replace(chosen, **{low: None, high: None})
    _write_url(chosen.to_query(defaults))
    return chosen


def _from_widgets() -> Filters:
    values = {spec.name: st.session_state[_KEY + spec.name] for spec in fields(Filters)}
    values["tickers"] = tuple(values["tickers"])
    values["search"] = values["search"].strip()
    for name in ("dte_min", "dte_max", "min_open_interest", "min_volume"):
        if values[name] is not None:
            values[name] = int(values[name])
    return Filters(**values)


def _write_url(params: dict[str, str]) -> None:
    """Filter parameters mirror the widgets; other parameters (such as ``scan``) are left alone."""
    for name in QUERY_NAMES.values():
        if name in params:
            if st.query_params.get(name) != params[name]:
                st.query_params[name] = params[name]
        elif name in st.query_params:
            del st.query_params[name]
