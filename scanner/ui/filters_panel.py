"""The sidebar filters, kept in ``st.query_params`` so a filtered view is a URL to bookmark or share."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

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


@dataclass(frozen=True)
class _Bound:
    """One of the number filters under "More filters": its field, label and widget settings."""

    field: str
    label: str
    limits: tuple[float, float]
    step: float
    format: str | None = None
    help: str | None = None


MORE = (  # drawn in pairs, left and right
    _Bound("delta_min", "Delta from", DELTA_LIMITS, 0.05, "%.2f"),
    _Bound("delta_max", "Delta to", DELTA_LIMITS, 0.05, "%.2f"),
    _Bound("dte_min", "DTE from", DTE_LIMITS, 1),
    _Bound("dte_max", "DTE to", DTE_LIMITS, 1),
    _Bound("min_open_interest", "Min open interest", COUNT_LIMITS, 10),
    _Bound("min_volume", "Min volume", COUNT_LIMITS, 10),
    _Bound("max_spread_pct", "Max spread %", (0.0, PERCENT_LIMITS[1]), 5.0),
    _Bound("min_below_pct", "Min % out of the money", PERCENT_LIMITS, 1.0),
    _Bound("min_iv_rank", "Min IV rank", IV_RANK_LIMITS, 10.0,
           help="The ticker's IV rank over its last 252 sessions (0-100); a ticker with under 20 sessions of IV "
                "history has none and is hidden"),
    _Bound("min_iv_hv", "Min IV/HV", IV_HV_LIMITS, 0.1, "%.2f",
           help="The ticker's IV30 / HV20: above 1 the options price more movement than the stock has shown"),
)
MORE_SHOWN = "filters-more"
"""The "More filters" toggle: its ten number inputs are drawn only while it is on (on at first when the URL sets
one). The sidebar's widgets were most of what a first visit's browser laid out beyond the results
(bench/bench_browser.py); hidden, their values stay applied and in the URL, and a line names those in effect."""


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


@dataclass(frozen=True)
class FiltersPanel:
    """The sidebar's filters: what they say, worked out before the page's tables, drawn after them.

    Every widget's value is in the session (``_seed``) before the widget is drawn, so the tables can be sent to the
    browser first: it lays them out while the widgets' messages and code are still on their way.
    """

    filters: Filters
    tickers: list[str]
    notes: tuple[str, ...]
    inverted: tuple[str, ...]  # labels of the ranges set upside down (not applied)

    def draw(self) -> None:
        with st.sidebar:
            st.header("Filters")
            for note in self.notes:
                st.warning(plain(note))
            _widgets(self.tickers)
            for label in self.inverted:
                st.warning(f"{label} from is above {label} to: that range is not applied.")


def read_filters(defaults: Filters, tickers: list[str], scope: str, scan_id: str) -> FiltersPanel:
    """What the filters say (their widgets drawn later by ``FiltersPanel.draw``); the non-default ones are written
    back to the URL.

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
    st.session_state.setdefault(MORE_SHOWN, any(getattr(from_url, b.field) != getattr(defaults, b.field) for b in MORE))
    chosen, inverted = _from_widgets(), []
    for low, high, label in chosen.inverted_ranges():
        inverted.append(label)
        chosen = replace(chosen, **{low: None, high: None})
    _write_url(chosen.to_query(defaults))
    return FiltersPanel(chosen, tickers, tuple(notes), tuple(inverted))


def _widgets(tickers: list[str]) -> None:
    k = _KEY
    st.checkbox("Only rows that pass the scan's rules", key=k + "only_matches")
    st.checkbox("Fits my cash (puts the free cash secures, calls the free shares cover)", key=k + "fits_book")
    st.selectbox("Side", SIDE_OPTIONS, key=k + "side")
    st.selectbox("Contracts through earnings", list(ThroughEarnings), key=k + "earnings",
                 help="Contracts whose life holds the ticker's next earnings report: show them, hide them, or "
                      "show only them. A contract whose source does not say stays shown unless 'only'.")
    st.number_input("Min annualized return %", *PERCENT_LIMITS, value=None, step=5.0, key=k + "min_annualized")
    st.multiselect("Tickers", tickers, key=k + "tickers")
    st.text_input("Search (ticker or contract)", max_chars=40, key=k + "search")
    if st.toggle("More filters", key=MORE_SHOWN, help="Delta, DTE, liquidity, spread, distance and volatility"):
        for pair in range(0, len(MORE), 2):
            for column, bound in zip(st.columns(2), MORE[pair:pair + 2], strict=True):
                column.number_input(bound.label, *bound.limits, value=None, step=bound.step, format=bound.format,
                                    help=bound.help, key=k + bound.field)
    elif applied := [f"{bound.label} {st.session_state[k + bound.field]:g}" for bound in MORE
                     if st.session_state[k + bound.field] is not None]:
        st.caption("Also applied: " + ", ".join(applied))
    st.button("Reset filters", on_click=_reset)


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
