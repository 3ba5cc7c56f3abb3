"""The results view shared by the main page and the history page: filters, summary, the views (by ticker with
its near misses, best per ticker by score, all matches, charts), a contract's detail, exports. Reruns with the
same scan version and filters reuse cached DataFrames."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from dataclasses import dataclass

import altair as alt
import pandas as pd
import streamlit as st

from scanner import clock
from scanner.results.compare import mark_new
from scanner.results.events_marks import next_earnings, row_marks, ticker_markers
from scanner.results.export import export_frame, file_name, to_bytes
from scanner.results.filters import Filters
from scanner.results.volatility_marks import ticker_words, volatility_summary
from scanner.scan.book import BookPlan, collateral_note
from scanner.scan.engine import in_words
from scanner.scan.screening import near_misses
from scanner.schema import BY_NAME, Display, Kind
from scanner.store.scans import ScanMeta, ScanStore
from scanner.ui.columns import column, percent_fields, schema_column, schema_columns, tooltip
from scanner.ui.detail import Picker
from scanner.ui.filters_panel import read_filters, reset_button
from scanner.ui.iv_chart import render_iv_history
from scanner.ui.positions_page import BOOK_HIDDEN, hides_book, started_by_viewer, viewer_rows
from scanner.ui.screens_panel import render_saved_screens
from scanner.ui.shared import NewestVersion, select

PAGE_SIZE = 25
RUNNING_ROWS_SECONDS = 5.0
"""How stale a running scan's rows may be on a rerun (its progress line is always current): one decode of the
scan in that time for every session of the process, however many viewers rerun on their own timers."""
CHART_POINTS = 2_000
CHART_COLOURS = 10  # the palette's size: past it, the scatter plots the tickers picked (at most this many)
PALETTE = "tableau10"
NEAR_MISSES_SHOWN = 20  # a ticker's nearest misses listed (a 5,000-row chain may have hundreds)
NEAREST_SHOWN = 100  # the nearest misses over every ticker listed
SHOWN_COLUMNS = (  # the per-ticker tables: the decision columns first (``DECISION_COLUMNS``, the expander names
    # the ticker), then what a seller weighs next (the rank and what it rests on: return on capital, odds; where
    # it loses, what it ties up, the move priced in), why a row does not match, then the rest
    "strike", "expiration", "bid", "annualized_return_pct", "side", "dte", "delta", "open_interest", "spread_pct",
    "score", "annualized_period_return_pct", "pop_pct", "events", "break_even", "collateral", "premium",
    "if_called_return_pct", "expected_move", "atm_iv", "reason", "new", "contracts_fit", "if_called_basis_return_pct",
    "earnings_date", "earnings_time", "ex_dividend_date", "dividend", "earnings_in_window", "ex_dividend_in_window",
    "assignment_risk", "iv30", "iv_rank", "iv_percentile", "iv_rank_days", "hv20", "hv60", "iv_hv_ratio",
    "otm_pct", "ask", "mid", "prob_otm", "iv", "change_pct", "underlying_price", "period_return_pct",
    "volume", "option_symbol",
)
COLUMN_CONFIG = schema_columns(SHOWN_COLUMNS)
TABLE_COLUMNS = ("ticker", *SHOWN_COLUMNS)  # the tables over every ticker (all matches, best per ticker)
TABLE_CONFIG = schema_columns(TABLE_COLUMNS)
NEAR_MISS_COLUMNS = (  # why not first: the point of the table; then the decision columns
    "reason", "miss_pct", *SHOWN_COLUMNS[:9], "annualized_period_return_pct", "pop_pct", "option_symbol",
)
NEAREST_COLUMNS = ("ticker", *NEAR_MISS_COLUMNS)  # the near misses of every ticker, in one table
BEST = {  # the summary's columns of a ticker's best contract (highest annualized return, either side) → its column
    "best_strike": "strike", "best_expiration": "expiration", "best_bid": "bid",
    "best_annualized": "annualized_return_pct", "best_side": "side", "best_delta": "delta",
    "best_open_interest": "open_interest",
}
BEST_RULE = "the highest annualized return of either side"
BEST_TAB = "Best per ticker"
VIEW_TABS = ("By ticker", BEST_TAB, "All shown", "All near misses", "Charts")
SCORE_RULE = ("Score = annualized return on net capital × POP / 100 × (1 − spread / 100): what the premium earns "
              "on the capital, weighted by the odds of keeping it, less what the spread costs to trade.")
SUMMARY_LABELS = {"annualized_return_pct": "Ann. %"}  # shorter than the schema's: ticker to it fit a phone's 390 px
SUMMARY_CONFIG = {  # the best contract's columns under their schema labels; "Best ..." cut the fifth on a phone
    "ticker": schema_column("ticker"),
    **{key: column(BY_NAME[name].display, SUMMARY_LABELS.get(name, BY_NAME[name].label),
                   f"{BY_NAME[name].label} of the ticker's best contract, {BEST_RULE}")
       for key, name in BEST.items()},
    "passing": column(Display.COUNT, "Contracts"),
    "underlying_price": schema_column("underlying_price"),
    "nearest_expiration": column(Display.DATE, "Nearest expiration"),
    "next_earnings": column(Display.DATE, "Next earnings", "The ticker's next earnings report not yet out at the "
                            "quote; empty when the source does not say"),
    "iv30": schema_column("iv30"),
    "iv_rank": column(Display.TEXT, "IV rank", f"{BY_NAME['iv_rank'].help}; shown with the sessions it rests on"),
    "hv20": schema_column("hv20"),
    "last_scan": column(Display.TEXT, "Last scan (ET)"),
}
POINT_COLUMNS = ("ticker", "side", "expiration", "dte", "strike", "bid", "annualized_return_pct", "delta",
                 "open_interest", "option_symbol")  # the scatter's data, each with its tooltip
_VEGA_TYPES = {Kind.FLOAT: "Q", Kind.INT: "Q", Kind.DATE: "T", Kind.TEXT: "N", Kind.BOOL: "N"}


def load_results(store: ScanStore, prefix: str, scan_id: str, version: int,
                 reuse_within: float = 0.0) -> tuple[pd.DataFrame, tuple[str, ...], int]:
    """Every screened row of a scan, one frame for all sessions (``ROWS``), and the version it holds; re-read
    only when the scan's ``version`` moves (or, given ``reuse_within``, once those seconds have passed since the
    last read), and the older version's frame dropped then.

    Shared, not cache_data: the frames are never mutated, and cache_data would unpickle a copy of a 30,000-row
    frame on every rerun of every viewer.
    """
    def read() -> tuple[pd.DataFrame, tuple[str, ...]]:
        results = store.results(scan_id)
        return results.frame, results.corrupt_tickers

    held, (frame, corrupt) = ROWS.held((prefix, scan_id), version, read, reuse_within)
    return frame, corrupt, held


@st.cache_data(max_entries=64, show_spinner=False)
def previous_completed(_store: ScanStore, prefix: str, scan_id: str) -> ScanMeta | None:
    """The completed scan before ``scan_id``; fixed once that scan exists, so cached by its id."""
    return _store.get(_store.previous_completed(scan_id))


@dataclass(frozen=True)
class View:
    """The filtered rows and everything drawn from them, computed once per scan version and filters."""

    rows: pd.DataFrame  # with the "new since the previous scan" mark
    groups: dict[str, pd.DataFrame]  # ticker → its rows, display columns, by expiration then strike
    fresh: dict[str, int]  # ticker → how many of its rows are new
    summary: pd.DataFrame
    summary_rows: pd.Index  # the summary's row of each ticker: the label of its best contract in ``rows``
    best: pd.DataFrame  # best per ticker: each ticker's highest-scoring match shown, best first
    nearest: pd.DataFrame  # the near misses among all the scan's rows, nearest first
    near: dict[str, pd.DataFrame]  # ticker → its near misses, nearest first
    points: pd.DataFrame  # the scatter chart's data
    hidden: dict[str, int]  # ticker → how many of its matches (rows passing the scan's rules) the filters hide
    earnings: dict[str, str]  # ticker → its title marker, when contracts it screened live through its next report
    only_matches: bool  # the filters show matches only

    @property
    def hidden_tickers(self) -> dict[str, int]:
        """The tickers none of whose matches is shown, with how many matches they have."""
        return {ticker: count for ticker, count in self.hidden.items() if ticker not in self.groups}


ROWS: NewestVersion[tuple[pd.DataFrame, tuple[str, ...]]] = NewestVersion(max_keys=16)  # (prefix, scan id) → rows
VIEWS: NewestVersion[View] = NewestVersion(max_keys=32)  # (prefix, scan id, filters) → its view


def _view(frame: pd.DataFrame, previous: pd.DataFrame | None, scan_key: tuple[str, str, int], previous_key: tuple,
          filters: Filters, stamp: str) -> View:
    """The view of a scan version under ``filters``, built once for every session showing it; a newer version
    of the scan (or of the one it is compared with, or a new stamp) replaces it."""
    return VIEWS.get((*scan_key[:2], filters), (scan_key[2], previous_key, stamp),
                     lambda: _build_view(frame, previous, filters, stamp))


def _build_view(_frame: pd.DataFrame, _previous: pd.DataFrame | None, filters: Filters, stamp: str) -> View:
    rows = filters.apply(_frame)
    rows = rows.assign(new=mark_new(rows, _previous).to_numpy(), events=row_marks(rows)).sort_values(
        ["ticker", "expiration", "strike"], kind="stable")
    shown = [c for c in SHOWN_COLUMNS if c in rows.columns]
    groups = {ticker: group[shown] for ticker, group in rows.groupby("ticker", sort=True)}
    fresh = rows.groupby("ticker")["new"].sum().astype(int).to_dict() if not rows.empty else {}
    top = rows.nlargest(CHART_POINTS, "annualized_return_pct") if len(rows) > CHART_POINTS else rows
    points = top[[c for c in POINT_COLUMNS if c in top.columns]]
    near = near_misses(_frame) if not _frame.empty else _frame
    table = summary(rows, stamp)
    return View(rows=rows, groups=groups, fresh=fresh, summary=table,
                summary_rows=pd.Index(table["ticker"].map(best_rows(rows, "annualized_return_pct"))),
                best=best_per_ticker(rows),
                nearest=near, near=dict(list(near.groupby("ticker", sort=True))), points=points,
                hidden=hidden_matches(_frame, rows), earnings=ticker_markers(_frame), only_matches=filters.only_matches)


def best_rows(rows: pd.DataFrame, measure: str) -> pd.Series:
    """Ticker → the label of its row of the highest ``measure`` (the first on a tie; a ticker with no value of
    ``measure`` has none)."""
    valued = rows[rows[measure].notna().to_numpy(dtype=bool)] if not rows.empty else rows
    if valued.empty:
        return pd.Series(dtype=object)
    return valued.groupby("ticker", sort=True)[measure].idxmax()


def best_per_ticker(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per ticker: its highest-scoring match among ``rows``, the best score first (matches without a
    score, for want of an IV, rank nowhere)."""
    matches = rows[rows["match"].to_numpy(dtype=bool)] if not rows.empty else rows
    best = matches.loc[best_rows(matches, "score").to_numpy()] if not matches.empty else matches
    return best.sort_values("score", ascending=False, kind="stable")


def hidden_matches(frame: pd.DataFrame, shown: pd.DataFrame) -> dict[str, int]:
    """Ticker → its matches in ``frame`` that are not among the ``shown`` rows (only tickers with some)."""
    if frame.empty:
        return {}
    every = _matches_per_ticker(frame)
    hidden = every - _matches_per_ticker(shown).reindex(every.index, fill_value=0)
    return {ticker: int(count) for ticker, count in sorted(hidden[hidden > 0].items())}


def _matches_per_ticker(rows: pd.DataFrame) -> pd.Series:
    return rows.loc[rows["match"].to_numpy(dtype=bool), "ticker"].value_counts()


@st.cache_resource(max_entries=32, show_spinner=False)
def _tickers(_frame: pd.DataFrame, scan_key: tuple[str, str, int]) -> list[str]:
    """The scan's tickers for the filter's choices: once per scan version, not on every viewer's rerun."""
    return sorted(_frame["ticker"].dropna().unique()) if not _frame.empty else []


@st.cache_resource(max_entries=32, show_spinner=False)
def _strike_rows(_frame: pd.DataFrame, scan_key: tuple[str, str, int], ticker: str,
                 sides: tuple[str, ...]) -> pd.DataFrame:
    rows = _frame[(_frame["ticker"] == ticker) & _frame["side"].isin(sides)]
    return rows.assign(exp=rows["expiration"].dt.strftime("%Y-%m-%d"))


def summary(view: pd.DataFrame, stamp: str) -> pd.DataFrame:
    """One row per ticker: its best contract (the highest annualized return, either side: its side, expiration,
    strike, bid, return, delta and open interest), then the contracts passing, the price, the nearest expiration."""
    if view.empty:
        return pd.DataFrame(columns=list(SUMMARY_CONFIG))
    grouped = view.groupby("ticker", sort=True)
    best = view.loc[best_rows(view, "annualized_return_pct").to_numpy()].set_index("ticker")
    table = pd.DataFrame({
        **{key: best.get(name) for key, name in BEST.items()},
        "passing": grouped.size(),
        "underlying_price": grouped["underlying_price"].first(),
        "nearest_expiration": grouped["expiration"].min(),
        "next_earnings": next_earnings(view),
        **volatility_summary(view),
    })
    table["last_scan"] = stamp
    return table.rename_axis("ticker").reset_index()[list(SUMMARY_CONFIG)]


def _tooltips(names: list[str]) -> list[alt.Tooltip]:
    """Each column's tooltip: its schema label and formatted value ("Annualized 43.98%")."""
    return [tooltip(name, _VEGA_TYPES[BY_NAME[name].kind]) for name in names]


def _scatter(points: pd.DataFrame) -> alt.Chart:
    """Annualized return against delta, a colour per ticker with its legend (at most ``CHART_COLOURS`` tickers:
    ``_charts`` has the user pick them past that, so no two tickers share a colour)."""
    names = list(points.columns)
    chart = alt.Chart(points).mark_circle(size=40).encode(
        x=alt.X("delta:Q", title=BY_NAME["delta"].label),
        y=alt.Y("annualized_return_pct:Q", title="Annualized return %"),
        color=alt.Color("ticker:N", title=BY_NAME["ticker"].label, scale=alt.Scale(scheme=PALETTE),
                        legend=alt.Legend(orient="bottom")),
        tooltip=_tooltips(names),
    )
    return percent_fields(chart, names).interactive()


def _by_strike(rows: pd.DataFrame, measure: str) -> alt.Chart:
    title = {"annualized_return_pct": "Annualized return %", "premium": "Premium $"}[measure]
    chart = alt.Chart(rows[["strike", "exp", "option_symbol", measure]]).mark_line(point=True).encode(
        x=alt.X("strike:Q", title=BY_NAME["strike"].label, scale=alt.Scale(zero=False)),
        y=alt.Y(f"{measure}:Q", title=title),
        color=alt.Color("exp:N", title=BY_NAME["expiration"].label),
        tooltip=[*_tooltips(["option_symbol"]), alt.Tooltip("exp:N", title=BY_NAME["expiration"].label),
                 *_tooltips(["strike", measure])],
    )
    return percent_fields(chart, [measure])


def _scatter_tickers(view: View, key: str) -> list[str]:
    """The tickers the scatter plots: all of them when each can have its own colour, else those the user picks
    (at most ``CHART_COLOURS``; at first the ones with the best annualized returns)."""
    tickers = list(view.groups)
    if len(tickers) <= CHART_COLOURS:
        return tickers
    best = view.summary.sort_values("best_annualized", ascending=False, kind="stable")["ticker"]
    default = [t for t in best if t in view.groups][:CHART_COLOURS]
    digest = hashlib.sha1(",".join(tickers).encode()).hexdigest()[:8]  # new choices, a fresh pick
    return st.multiselect(f"Tickers on the chart (up to {CHART_COLOURS}, a colour each)", tickers, default=default,
                          max_selections=CHART_COLOURS, key=f"{key}-chart-tickers-{digest}")


def _charts(view: View, frame: pd.DataFrame, scan_key: tuple[str, str, int], focus: str | None, key: str) -> str:
    """The scatter, then one ticker's rows by strike; returns that ticker."""
    plotted = _scatter_tickers(view, key)
    if plotted:
        points = view.points if len(plotted) == len(view.groups) else view.points[view.points["ticker"].isin(plotted)]
        st.altair_chart(_scatter(points), width="stretch")
    else:
        st.info("Pick the tickers to plot.")
    tickers = list(view.groups)
    left, right = st.columns(2)
    ticker = left.selectbox("Ticker", tickers, index=tickers.index(focus) if focus in tickers else 0,
                            key=f"{key}-chart-ticker")
    measure = right.radio("Show", ("annualized_return_pct", "premium"), horizontal=True, key=f"{key}-measure",
                          format_func=lambda m: "Annualized return" if m != "premium" else "Premium")
    sides = tuple(sorted(view.groups[ticker]["side"].unique()))
    st.altair_chart(_by_strike(_strike_rows(frame, scan_key, ticker, sides), measure), width="stretch")
    return ticker


def _expanders(meta: ScanMeta, view: View, picker: Picker, focus: str | None, key: str) -> None:
    stamp = clock.fmt_ny(meta.finished_at or meta.heartbeat_at or meta.started_at, "%H:%M")
    order = sorted(view.groups, key=lambda t: t != focus)
    limit_key = f"{key}-shown"
    limit = st.session_state.get(limit_key, PAGE_SIZE)
    opened = st.session_state.setdefault(f"{key}-opened", set())
    for ticker in order[:limit]:
        rows = view.groups[ticker]
        count, fresh = len(rows), view.fresh.get(ticker, 0)
        label = f"{ticker} — {count} option{'s' if count != 1 else ''}"
        if ticker in view.earnings:
            label += f" — :red[{view.earnings[ticker]}]"
        if volatility := ticker_words(rows):
            label += f" — {volatility}"
        label += f" — last scan {stamp}" + (f" — {fresh} new" if fresh else "")
        near = view.near.get(ticker)
        widget = f"{key}-expander-{ticker}"
        expander = st.expander(label, expanded=ticker == focus or ticker in opened, key=widget,
                               on_change=_remember_opened, args=(widget, opened, ticker))
        if not expander.open:  # its tables are drawn once opened: a closed one's would be sent and laid out anyway
            continue
        with expander:
            contracts, misses = st.tabs([f"Contracts ({count})", f"Near misses ({0 if near is None else len(near)})"])
            with contracts:
                picker.table(rows, rows.index, key=f"{key}-rows-{ticker}", column_config=COLUMN_CONFIG)
            with misses:
                _near_misses(near, picker, whose=ticker, limit=NEAR_MISSES_SHOWN, columns=NEAR_MISS_COLUMNS,
                             key=f"{key}-near-{ticker}")
    if len(order) > limit:
        st.caption(f"Showing {limit} of {len(order)} tickers.")
        st.button("Show more", key=f"{key}-more",
                  on_click=lambda: st.session_state.update({limit_key: limit + PAGE_SIZE}))
    _hidden_tickers(view.hidden_tickers)


def _remember_opened(widget: str, opened: set[str], ticker: str) -> None:
    """Keep which expanders the user opened: an expander whose title changes (its counts, a running scan's time)
    is a new widget, which starts from ``expanded``, so it stays as the user left it."""
    if st.session_state[widget]:
        opened.add(ticker)
    else:
        opened.discard(ticker)


def _near_misses(near: pd.DataFrame | None, picker: Picker, *, whose: str, limit: int, columns: tuple[str, ...],
                 key: str) -> None:
    """Contracts (``whose``: a ticker's, or every ticker's) that fail exactly one of the scan's rules, nearest
    first, each with its reason; the nearest ``limit`` of them."""
    if near is None or near.empty:
        st.caption(f"No near misses: no contract of {whose} fails exactly one of the scan's rules by a measurable "
                   "amount.")
        return
    shown = near.head(limit)
    st.caption(f"{in_words(len(near), 'contract')} failing exactly one of the scan's rules, nearest first (how far "
               "each misses it, relative to its threshold)"
               + (f": the nearest {len(shown)}." if len(shown) < len(near) else ".")
               + " Over every contract the scan screened, whatever the filters.")
    picker.table(select(near, columns, limit), shown.index, key=key, column_config=schema_columns(columns))


def _hidden_tickers(hidden: dict[str, int], named: int = 20) -> None:
    """One line for the tickers the filters left without a row, rather than an empty expander each."""
    if not hidden:
        return
    names = ", ".join(f"{ticker} ({count})" for ticker, count in list(hidden.items())[:named])
    more = " …" if len(hidden) > named else ""
    st.caption(f"{in_words(len(hidden), 'more ticker')} with {'its' if len(hidden) == 1 else 'their'} matches all "
               f"hidden by the filters: {names}{more}")


def _nothing_shown(view: View, empty_text: str, key: str) -> None:
    """No row to show: either the scan has no match yet, or the filters hide them all (then say how many, and
    offer the reset next to it)."""
    hidden = sum(view.hidden.values())
    if not hidden:
        st.info(empty_text)
        return
    text, button = st.columns([4, 1], vertical_alignment="center")
    text.info(f"{in_words(hidden, 'match')} hidden by the filters")
    with button:
        reset_button(key=f"{key}-reset-hidden")


def render_expanders_offline(meta: ScanMeta, frame: pd.DataFrame) -> None:
    """The matches of a scan kept in this session, drawn without Redis (no filters, no exports)."""
    view = _view(frame, None, ("offline", meta.scan_id, meta.version), (), Filters(), "")
    if view.rows.empty:
        st.info("No options found.")
    else:
        picker = Picker(frame, ("offline", meta.scan_id))
        _expanders(meta, view, picker, None, "offline")
        picker.show()


def export_bytes(store: ScanStore, meta: ScanMeta, view: pd.DataFrame, everything: bool, fmt: str) -> bytes:
    """An export: the rows shown (`view`), or every contract of the scan as the viewer may see them (another's
    scan without its starter's book)."""
    rows = (viewer_rows(load_results(store, store.keys.root, meta.scan_id, meta.version)[0], meta, store.keys.root)
            if everything else view)
    return to_bytes(export_frame(rows, matches_only=False), fmt)


def _downloads(store: ScanStore, meta: ScanMeta, view: pd.DataFrame) -> None:
    """Built only when clicked (deferred callables), so a rerun costs nothing."""
    def build(everything: bool, fmt: str) -> Callable[[], bytes]:
        return functools.partial(export_bytes, store, meta, view, everything, fmt)

    cols = st.columns(3)
    cols[0].download_button("Download CSV", build(False, "csv"), file_name=file_name(meta, "view", "csv"),
                            mime="text/csv", on_click="ignore", help="The rows shown, as filtered",
                            disabled=view.empty)
    cols[1].download_button("Download CSV (all contracts)", build(True, "csv"), file_name=file_name(meta, "all", "csv"),
                            mime="text/csv", on_click="ignore")
    cols[2].download_button("Download Parquet (all contracts)", build(True, "parquet"),
                            file_name=file_name(meta, "all", "parquet"), mime="application/vnd.apache.parquet",
                            on_click="ignore")


def warn_corrupt(corrupt: tuple[str, ...]) -> None:
    if corrupt:
        st.warning(f"Stored results for {', '.join(corrupt)} could not be read and are not shown.")


def render_scan_view(store: ScanStore, meta: ScanMeta, previous: ScanMeta | None, *, key: str,
                     empty_text: str, exportable: bool) -> pd.DataFrame:
    """Everything below the status: filters (sidebar), summary, charts, expanders and, for a finished
    scan, the exports. Returns the scan's rows (for callers that keep the last view)."""
    root = store.keys.root
    frame, corrupt, version = load_results(store, root, meta.scan_id, meta.version,
                                           RUNNING_ROWS_SECONDS if meta.active else 0.0)
    frame = viewer_rows(frame, meta, root)  # another's scan: none of its starter's book (positions_page)
    others = hides_book(meta)
    if others:
        st.caption(BOOK_HIDDEN)
    warn_corrupt(corrupt)
    prev_frame = (viewer_rows(load_results(store, root, previous.scan_id, previous.version)[0], previous, root)
                  if previous else None)
    scan_key = (f"{root}|others" if others else root, meta.scan_id, version)  # cached per whose rows
    panel = read_filters(Filters.for_criteria(meta.criteria), _tickers(frame, scan_key), scope=key,
                         scan_id=meta.scan_id)
    filters = panel.filters
    stamp = clock.fmt_ny(meta.finished_at or meta.heartbeat_at or meta.started_at, "%Y-%m-%d %H:%M")
    previous_key = (previous.scan_id, previous.version, hides_book(previous)) if previous else ()
    view = _view(frame, prev_frame, scan_key, previous_key, filters, stamp)
    if view.rows.empty:
        _nothing_shown(view, empty_text, key)
    else:
        _rows(store, meta, view, frame, scan_key, previous is not None, key)
    if exportable:
        _downloads(store, meta, view.rows)
    panel.draw()  # after the tables: the browser lays them out first (FiltersPanel)
    render_saved_screens(store, filters)
    return frame


def _rows(store: ScanStore, meta: ScanMeta, view: View, frame: pd.DataFrame, scan_key: tuple[str, str, int],
          compared: bool, key: str) -> None:
    """The summary table, then the rows by ticker and the charts; a picked summary row focuses both."""
    st.caption(f"{in_words(len(view.rows), 'contract')} on {in_words(len(view.groups), 'ticker')}"
               + (f", {sum(view.fresh.values())} new since the previous scan" if compared else "")
               + f". A row per ticker: its best contract, {BEST_RULE}. Pick a row of any table for its detail.")
    # another user's cash is theirs: shown only to the scan's own book
    st.caption(collateral_note(view.rows, BookPlan.of_scan(meta.positions) if started_by_viewer(meta) else None))
    picker = Picker(frame, scan_key[:2])  # the scan, whatever its version: a running scan's detail stays open
    picked = picker.table(view.summary, view.summary_rows, key=f"{key}-summary", column_config=SUMMARY_CONFIG)
    focus = view.summary["ticker"].iloc[picked] if picked is not None else None
    # only the picked tab is drawn (a closed tab's tables and charts would be sent and laid out by the browser
    # before the page settles); its labels are fixed, since a label that changes switches back to the first tab
    by_ticker, best, every, nearest, charts = st.tabs(list(VIEW_TABS), key=f"{key}-tab", on_change="rerun")
    if by_ticker.open:
        with by_ticker:
            _expanders(meta, view, picker, focus, key)
    if best.open:
        with best:
            _best_per_ticker(view, picker, key)
    if every.open:
        with every:
            st.caption(f"{in_words(len(view.rows), 'match' if view.only_matches else 'contract')} the filters show, "
                       "one table: sort by any column.")
            picker.table(select(view.rows, TABLE_COLUMNS), view.rows.index, key=f"{key}-all",
                         column_config=TABLE_CONFIG)
    if nearest.open:
        with nearest:
            _near_misses(view.nearest, picker, whose="any ticker", limit=NEAREST_SHOWN, columns=NEAREST_COLUMNS,
                         key=f"{key}-nearest")
    if charts.open:
        with charts:
            ticker = _charts(view, frame, scan_key, focus, key)
            render_iv_history(store, meta.provider, ticker)
    picker.show()



def _best_per_ticker(view: View, picker: Picker, key: str) -> None:
    unranked = sorted(set(view.rows.loc[view.rows["match"].to_numpy(dtype=bool), "ticker"]) - set(view.best["ticker"]))
    st.caption(f"A row per ticker: its highest-scoring match, the best first. {SCORE_RULE}"
               + (f" Matches without a score (no usable IV, so no POP): {', '.join(unranked)}." if unranked else ""))
    if view.best.empty:
        st.info("No match shown has a score.")
        return
    picker.table(select(view.best, TABLE_COLUMNS), view.best.index, key=f"{key}-best", column_config=TABLE_CONFIG)
