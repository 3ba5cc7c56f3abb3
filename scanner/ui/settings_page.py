"""The watch-list and criteria page: everyone sees them; admins add, remove, switch, import and edit.

Every change goes through the store's watch-list and criteria records, which validate first: a refused input is
reported with the offending entries and nothing is saved.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st

from scanner.errors import SettingsError
from scanner.scan.criteria import ANNUALIZED_RANGE, SIDE_CHOICES, Criteria, EarningsRule, format_delta_table
from scanner.scan.watchlist import Entry, to_csv
from scanner.ui.alerts_panel import render_alerts
from scanner.ui.auth import admin_gate
from scanner.ui.context import PageContext
from scanner.ui.page import Notice, admin_action, page_frame
from scanner.ui.schedule_panel import render_schedule
from scanner.ui.uploads import upload_bytes

_NOTICE = "settings_notice"  # one slot: each section shows the notices about its own controls
WATCHLIST, CRITERIA = Notice(_NOTICE, "watchlist"), Notice(_NOTICE, "criteria")
ADD, PICK, FILE, MODE = "wl-add", "wl-pick", "wl-file", "wl-mode"


def _change(notice: Notice) -> Callable[..., None]:
    """The callback that runs one change of a section: on success its inputs are cleared, on refusal (a
    SettingsError) they are kept for correction."""

    @admin_action(notice, denied="Only admins may change these; nothing was saved.",
                  unavailable="Redis unavailable: nothing was saved.", refused="Nothing was saved: {error}")
    def apply(action: Callable[[], str], clear: tuple[str, ...] = ()) -> str:
        outcome = action()
        for key in clear:
            st.session_state.pop(key, None)
        return outcome

    return apply


_change_watchlist, _change_criteria = _change(WATCHLIST), _change(CRITERIA)


# ---- watch-list ----
def _add(ctx: PageContext) -> str:
    outcome = ctx.store.watchlist.add(st.session_state.get(ADD, ""))
    already = f"; already listed: {', '.join(outcome.already)}" if outcome.already else ""
    return f"Added {', '.join(outcome.added) or 'nothing new'}{already}."


def _edit(ctx: PageContext, how: str) -> str:
    picked = st.session_state.get(PICK) or []
    ctx.store.watchlist.edit(**{how: picked})
    return f"{how.capitalize()}: {', '.join(picked)}."


def _import(ctx: PageContext) -> str:
    upload = st.session_state.get(FILE)
    if upload is None:
        raise SettingsError("choose a CSV file first")
    replace = st.session_state.get(MODE) == "Replace the list"
    entries = ctx.store.watchlist.import_csv(upload_bytes(upload), replace=replace)
    return f"Imported {upload.name}: {len(entries)} symbols, {sum(e.active for e in entries)} active."


def _watchlist(ctx: PageContext, entries: list[Entry], can_edit: bool) -> None:
    st.subheader("Watch-list")
    WATCHLIST.show()
    active = sum(entry.active for entry in entries)
    st.caption(f"{len(entries)} tickers, {active} active: scans run on the active ones.")
    frame = pd.DataFrame([entry.to_dict() for entry in entries], columns=["symbol", "active"])
    st.dataframe(frame, hide_index=True, width="content", height=min(35 * (len(entries) + 1) + 3, 400))
    st.download_button("Export CSV", to_csv(entries), file_name="watchlist.csv", mime="text/csv",
                       on_click="ignore", key="wl-export")
    if not can_edit:
        return
    st.text_area("Add tickers: one, or a pasted list (spaces, commas or new lines)", key=ADD, height=80)
    st.button("Add", on_click=_change_watchlist, args=(lambda: _add(ctx), (ADD,)), key="wl-add-button")
    st.multiselect("Tickers to switch or remove", [entry.symbol for entry in entries], key=PICK)
    columns = st.columns(3)
    for column, how in zip(columns, ("activate", "deactivate", "remove"), strict=True):
        column.button(how.capitalize(), key=f"wl-{how}", on_click=_change_watchlist,
                      args=(lambda how=how: _edit(ctx, how), (PICK,)))
    st.file_uploader("Import a CSV (rows symbol[,active]; a header row is optional)", type=["csv", "txt"], key=FILE)
    st.radio("Import mode", ("Merge into the list", "Replace the list"), key=MODE, horizontal=True)
    st.button("Import", on_click=_change_watchlist, args=(lambda: _import(ctx),), key="wl-import")


# ---- criteria ----
def _criteria_values(generation: str) -> dict[str, Any]:
    return {name: st.session_state.get(f"crit-{name}-{generation}") for name in Criteria.__dataclass_fields__}


def _save(ctx: PageContext, generation: str) -> str:
    ctx.store.criteria.save(_criteria_values(generation))
    return "Criteria saved; the next scan uses them."


def _reset(ctx: PageContext) -> str:
    ctx.store.criteria.reset()
    return "Criteria reset to the defaults."


# The optional criteria: (field, label, step). No widget bounds: Criteria says what is out of range and nothing is
# saved, so a value typed outside 0-730 is refused with its reason instead of being clamped silently.
_FURTHER = (
    ("min_dte", "Minimum DTE (0-730)", 1),
    ("max_dte", "Maximum DTE (0-730)", 1),
    ("put_delta_ceiling", "Put delta ceiling (puts match at delta ≤ this, e.g. -0.10)", 0.01),
    ("min_open_interest", "Minimum open interest", 1),
    ("min_volume", "Minimum volume", 1),
    ("min_bid", "Minimum bid ($)", 0.05),
    ("max_spread_pct", "Maximum bid-ask spread (% of mid)", 1.0),
)


def _criteria(ctx: PageContext, criteria: Criteria, can_edit: bool) -> None:
    st.subheader("Criteria")
    CRITERIA.show()
    # Widget keys carry a digest of the stored criteria, so the form re-reads them after a save or reset here or
    # elsewhere, and keeps a refused entry on screen for correction.
    generation = hashlib.sha1(json.dumps(criteria.to_dict(), sort_keys=True).encode()).hexdigest()[:10]

    def key(name: str) -> str:
        return f"crit-{name}-{generation}"

    low, high = ANNUALIZED_RANGE
    with st.form("criteria"):
        st.selectbox("Side", SIDE_CHOICES, index=SIDE_CHOICES.index(criteria.side), key=key("side"),
                     disabled=not can_edit)
        st.selectbox("Earnings inside a contract's life", list(EarningsRule), key=key("earnings"),
                     index=list(EarningsRule).index(criteria.earnings), disabled=not can_edit,
                     help="exclude: such a contract never matches, its reason names the report; flag: it only "
                          "carries the marker")
        left, right = st.columns(2)
        left.number_input("Weeks ahead", 1, 52, criteria.weeks, key=key("weeks"), disabled=not can_edit)
        right.number_input("Strikes per expiration", 1, 50, criteria.strike_limit, key=key("strike_limit"),
                           disabled=not can_edit)
        left.number_input("Minimum annualized % (puts)", low, high, criteria.min_put_annualized, step=1.0,
                          key=key("min_put_annualized"), disabled=not can_edit)
        right.number_input("Minimum annualized % (calls)", low, high, criteria.min_call_annualized, step=1.0,
                           key=key("min_call_annualized"), disabled=not can_edit)
        left.number_input("Put delta floor (puts match at delta ≥ this)", -1.0, 0.0, criteria.put_delta_floor,
                          step=0.01, key=key("put_delta_floor"), disabled=not can_edit)
        right.number_input("Call max delta beyond the table", 0.0, 1.0, criteria.call_delta_beyond, step=0.01,
                           key=key("call_delta_beyond"), disabled=not can_edit)
        st.text_input("Call delta table: DTE up to : max delta, …", format_delta_table(criteria),
                      key=key("call_delta_table"), disabled=not can_edit)
        st.caption("Further rules, off when empty. A DTE window (0-730 days, inclusive) takes every listed expiration "
                   "in it instead of the weeks ahead.")
        left, right = st.columns(2)
        for column, (name, label, step) in zip((left, right) * 4, _FURTHER, strict=False):
            column.number_input(label, value=getattr(criteria, name), step=step, placeholder="off", key=key(name),
                                disabled=not can_edit)
        st.checkbox("Covered calls on shares held may strike at the cost basis less the call's bid (else at the basis "
                    "or above)", criteria.call_strike_below_basis_by_bid, key=key("call_strike_below_basis_by_bid"),
                    disabled=not can_edit)
        st.form_submit_button("Save criteria", disabled=not can_edit, on_click=_change_criteria,
                              args=(lambda: _save(ctx, generation),))
    if can_edit:
        st.button("Reset to defaults", key="crit-reset", on_click=_change_criteria, args=(lambda: _reset(ctx),))


def render() -> None:
    with page_frame("Watch-list and criteria") as page:
        entries, criteria = page.store.watchlist.entries(), page.store.criteria.load()
        can_edit = admin_gate("edit the watch-list or criteria")
        _watchlist(page, entries, can_edit)
        _criteria(page, criteria, can_edit)
        render_schedule(page, can_edit)
        render_alerts(page)
