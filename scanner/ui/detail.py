"""One contract in detail, opened by picking a row of any results table: its figures, its payoff at expiration,
and the neighbouring strikes of its expiration and side.

The detail is a dialog, drawn over wherever the row was picked (a page of 25 expanders leaves no "below" to look
at). A pick opens it once: ``Picker.table`` notes each table's picked row, and only a row newly picked opens it,
so the page's own reruns (the idle check, a running scan's refresh) keep it open while it is open and do not
reopen it after it was closed, though the table still shows the row as picked. The open contract is held by what
it is (ticker, side, expiration, strike), not by its row, so it stays open while a running scan adds tickers.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st
from streamlit.elements.lib.column_types import ColumnConfig

from scanner.results.events_marks import detail_lines
from scanner.results.payoff import payoff, price_grid
from scanner.schema import BY_NAME, Display, Side
from scanner.ui.columns import column, schema_columns, shown_value
from scanner.ui.markdown import plain
from scanner.ui.shared import arrow_table

OPEN = "contract-detail"  # session key: (the scan, the contract's IDENTITY values) of the detail open
PICKS = "contract-detail-picks"  # session key: table key → the rows picked in it at the last run
FIGURES = ("premium", "collateral", "period_return_pct", "annualized_period_return_pct", "annualized_return_pct",
           "pop_pct", "break_even", "expected_move", "delta", "iv", "atm_iv", "spread_pct", "open_interest",
           "volume", "dte", "if_called_return_pct")  # the detail's figures, under their schema labels
IDENTITY = ("ticker", "side", "expiration", "strike")  # one contract of a scan, whatever its row
NEIGHBOURS = 3  # strikes shown either side of the picked one
NEIGHBOUR_COLUMNS = ("strike", "bid", "annualized_period_return_pct", "annualized_return_pct", "pop_pct", "delta",
                     "open_interest", "spread_pct", "score", "match", "reason")
NEIGHBOUR_CONFIG = {"picked": column(Display.FLAG, "This one"), **schema_columns(NEIGHBOUR_COLUMNS)}
LINE_COLOUR = "#262730"  # the payoff line: the theme's text colour, apart from every mark's
MARKS = {  # the payoff chart's vertical rules: name → how it is drawn (a colour, dashed or not)
    "Break-even": ("#d62728", False), "Strike": ("#1f77b4", False), "Price now": ("#7f7f7f", False),
    "−1 exp. move": ("#9467bd", True), "+1 exp. move": ("#9467bd", True),
}


@dataclass(frozen=True)
class Picker:
    """The tables of one scan's rows (``frame``: every row it screened) whose rows open a contract's detail;
    ``scan`` names the scan, whatever its version."""

    frame: pd.DataFrame
    scan: Hashable

    def table(self, shown: pd.DataFrame, labels: pd.Index, *, key: str,
              column_config: dict[str, ColumnConfig]) -> int | None:
        """``shown`` as a table whose rows can be picked one at a time (``labels``: each row's label in
        ``frame``, NaN for none); a row newly picked opens its detail. Returns the picked row's position, if any."""
        event = st.dataframe(arrow_table(shown), hide_index=True, column_config=column_config, width="stretch",
                             on_select="rerun", selection_mode="single-row", key=key)
        rows = tuple(event.selection.rows) if event is not None else ()
        picks = st.session_state.setdefault(PICKS, {})
        if rows and picks.get(key) != rows and rows[0] < len(labels) and labels[rows[0]] in self.frame.index:
            contract = self.frame.loc[labels[rows[0]]]
            st.session_state[OPEN] = (self.scan, tuple(contract[name] for name in IDENTITY))
        picks[key] = rows
        return rows[0] if rows else None

    def show(self) -> None:
        """The open detail's dialog, if its contract is one of this scan's; once per run, after every table."""
        opened = st.session_state.get(OPEN)
        if opened is None or opened[0] != self.scan:
            return
        same = np.logical_and.reduce([(self.frame[name] == value).to_numpy(dtype=bool, na_value=False)
                                      for name, value in zip(IDENTITY, opened[1], strict=True)])
        if same.any():
            row = self.frame[same].iloc[0]
            st.dialog(title(row), width="large", on_dismiss=_close)(_detail)(row, self.frame)


def _close() -> None:
    st.session_state.pop(OPEN, None)


def title(row: pd.Series) -> str:
    """"AAPL $200.00 put, 2026-12-04 (12 DTE)"."""
    return (f"{row['ticker']} {shown_value('strike', row['strike'])} {row['side']}, "
            f"{shown_value('expiration', row['expiration'])} ({shown_value('dte', row['dte'])} DTE)")


def _detail(row: pd.Series, frame: pd.DataFrame) -> None:
    if bool(row["match"]):
        st.success("Passes the scan's rules.")
    else:
        st.warning(f"Not a match: {row['reason'] or 'it fails the scan rules'}.")
    for line, warning in detail_lines(row):
        st.markdown(f":red[{plain(line)}]" if warning else plain(line))
    names = [name for name in FIGURES if not (name == "if_called_return_pct" and row["side"] != Side.CALL)]
    with st.container(horizontal=True, wrap=True, gap="medium"):  # as many a row as fit: two on a phone
        for name in names:
            st.metric(BY_NAME[name].label, shown_value(name, row[name]), help=BY_NAME[name].help or None,
                      width="content")
    st.altair_chart(payoff_chart(row), width="stretch")
    st.caption("Profit and loss per contract (100 shares) at expiration, against the stock's price then: "
               + ("the put sold for its bid, cash-secured." if row["side"] == Side.PUT
                  else "the call sold for its bid, on 100 shares bought at the price now."))
    near = neighbours(frame, row)
    st.markdown(f"**Strikes around it** — the same expiration, {row['side']}s")
    st.dataframe(near[list(NEIGHBOUR_CONFIG)], hide_index=True, column_config=NEIGHBOUR_CONFIG, width="stretch")


def payoff_chart(row: pd.Series) -> alt.LayerChart:
    """Profit and loss at expiration against the stock's price, with the break-even, the strike, the price now
    and one expected move either side of it marked."""
    strike, bid, spot = (float(row[name]) for name in ("strike", "bid", "underlying_price"))
    break_even = float(row["break_even"]) if pd.notna(row["break_even"]) else np.nan
    move = float(row["expected_move"]) if pd.notna(row["expected_move"]) else np.nan
    prices = price_grid(strike, break_even, spot, move)
    curve = pd.DataFrame({"price": prices, "pnl": payoff(row["side"], strike, bid, spot, prices)})
    line = alt.Chart(curve).mark_line(color=LINE_COLOUR, strokeWidth=2.5).encode(
        x=alt.X("price:Q", title="Stock price at expiration", axis=alt.Axis(format="$,.0f"),
                scale=alt.Scale(domain=[float(prices[0]), float(prices[-1])], nice=False)),
        y=alt.Y("pnl:Q", title="Profit / loss per contract", axis=alt.Axis(format="$,.0f")),
        tooltip=[alt.Tooltip("price:Q", title="Stock at expiration", format="$,.2f"),
                 alt.Tooltip("pnl:Q", title="Profit / loss", format="$,.2f")])
    at = {"Break-even": break_even, "Strike": strike, "Price now": spot, "−1 exp. move": spot - move,
          "+1 exp. move": spot + move}
    marks = pd.DataFrame([{"mark": name, "price": price, "dashed": MARKS[name][1]}
                          for name, price in at.items() if np.isfinite(price)])
    rules = alt.Chart(marks).mark_rule(strokeWidth=2).encode(
        x="price:Q",
        color=alt.Color("mark:N", title=None, legend=alt.Legend(orient="bottom", columns=2),
                        scale=alt.Scale(domain=list(marks["mark"]), range=[MARKS[m][0] for m in marks["mark"]])),
        strokeDash=alt.condition("datum.dashed", alt.value([6, 4]), alt.value([1, 0])),
        tooltip=[alt.Tooltip("mark:N", title="Mark"), alt.Tooltip("price:Q", title="At", format="$,.2f")])
    zero = alt.Chart(pd.DataFrame({"pnl": [0.0]})).mark_rule(color="#444", strokeWidth=1).encode(y="pnl:Q")
    return alt.layer(line, zero, rules)


def neighbours(frame: pd.DataFrame, row: pd.Series, count: int = NEIGHBOURS) -> pd.DataFrame:
    """The screened contracts of ``row``'s ticker, expiration and side, ``count`` strikes either side of it by
    strike, with ``picked`` marking the row itself."""
    same = frame[(frame["ticker"] == row["ticker"]) & (frame["expiration"] == row["expiration"])
                 & (frame["side"] == row["side"])].sort_values("strike", kind="stable")
    place = same.index.get_loc(row.name)
    near = same.iloc[max(0, place - count):place + count + 1]
    return near.assign(picked=near.index == row.name)
