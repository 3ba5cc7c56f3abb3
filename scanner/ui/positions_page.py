"""The Positions page: the trader's book (stock, open short options, cash for puts), the book against the last
completed scan (best covered call per holding), and the open options' rolls.

With login the book is the signed-in user's own (``scanner.store.positions``: keyed by a digest of the e-mail, so no
input names another's); without login, the shared book. Edits are admin-gated and go through the book's record,
which validates first: a refusal names every bad entry and nothing is saved.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import streamlit as st

from scanner.errors import SettingsError
from scanner.scan.book import BookPlan, apply_book, best_calls, others_view
from scanner.scan.criteria import Criteria
from scanner.scan.positions import CSV_HELP, Book, describe, table_column, to_csv
from scanner.scan.rolls import OpenStatus, latest_rows, open_statuses, today
from scanner.store.positions import PositionsRecord, book_field
from scanner.store.scans import ScanMeta
from scanner.ui.auth import Access, AccessMode, admin_gate, current_access
from scanner.ui.columns import column
from scanner.ui.page import Notice, admin_action, page_frame
from scanner.ui.uploads import upload_bytes

NOTICE = Notice("positions_notice")
STOCK, SHARES, BASIS = "pos-ticker", "pos-shares", "pos-basis"
OPTION, CONTRACTS, PREMIUM, OPENED = "pos-option", "pos-contracts", "pos-premium", "pos-opened"
CASH, PICK, FILE, MODE = "pos-cash", "pos-pick", "pos-file", "pos-mode"


def book_user(access: Access) -> str | None:
    """Whose book a page shows and a scan started there runs with: the signed-in user's with login, else None (the
    shared one)."""
    return access.email if access.mode is AccessMode.OIDC else None


BOOK_HIDDEN = ("This scan ran with the book of the user who started it, which is theirs alone: its columns (Fits, "
               "If called (basis)), the calls it screened against their shares and the rows fetched only for it "
               "are hidden here and in the exports.")


def started_by_viewer(meta: ScanMeta) -> bool:
    """Whether the signed-in viewer's book is the one `meta` ran with (always, without login: one shared book)."""
    return _viewers(BookPlan.of_scan(meta.positions))


def _viewers(plan: BookPlan) -> bool:
    return plan.owner == book_field(book_user(current_access()))


@st.cache_resource(max_entries=4, show_spinner=False)  # few: a running scan's older versions are not read again
def _others_rows(_rows: pd.DataFrame, prefix: str, scan_id: str, version: int, _meta: ScanMeta) -> pd.DataFrame:
    """The scan's rows without its starter's book (scan.book.others_view): one copy for every other viewer."""
    return others_view(_rows, _meta.positions, _meta.criteria)


def hides_book(meta: ScanMeta) -> bool:
    """Whether the signed-in viewer sees `meta`'s rows without its book: another's scan, run with a book."""
    plan = BookPlan.of_scan(meta.positions)  # first: most scans run without a book, then nothing else is read
    return not plan.empty and not _viewers(plan)


def viewer_rows(rows: pd.DataFrame, meta: ScanMeta, prefix: str) -> pd.DataFrame:
    """A scan's `rows` as the signed-in viewer may see them: its starter's book only to its starter."""
    return _others_rows(rows, prefix, meta.scan_id, meta.version, meta) if hides_book(meta) else rows


def viewer_meta(meta: ScanMeta) -> ScanMeta:
    """A scan's record as the signed-in viewer may read it: its tickers, counts and message without what its
    starter's book brought, to anyone but its starter."""
    return meta.without_book(BookPlan.of_scan(meta.positions).added_tickers) if hides_book(meta) else meta


@admin_action(NOTICE, denied="Only admins may change positions; nothing was saved.",
              unavailable="Redis unavailable: nothing was saved.", refused="Nothing was saved: {error}")
def _change(action: Callable[[], str], clear: tuple[str, ...] = ()) -> str:
    """One change of the book: on success its inputs are cleared, on a refusal kept for correction."""
    outcome = action()
    for key in clear:
        st.session_state.pop(key, None)
    return outcome


def _then(action: Callable[[], object], text: Callable[[], str]) -> Callable[[], str]:
    """An action whose outcome is `text` (read before it runs: the inputs it names are cleared after)."""
    def run() -> str:
        words = text()
        action()
        return words
    return run


def _value(key: str) -> str:
    return str(st.session_state.get(key) or "")


def _import(record: PositionsRecord) -> str:
    upload = st.session_state.get(FILE)
    if upload is None:
        raise SettingsError("choose a CSV file first")
    book = record.import_csv(upload_bytes(upload), replace=st.session_state.get(MODE) == "Replace the book")
    return f"Imported {upload.name}: {len(book.holdings)} holdings, {len(book.options)} open options."


def _table(frame: pd.DataFrame) -> None:
    """A book or roll table under the labels, formats and help the results tables use (``table_column``)."""
    config = {name: column(entry.display, entry.label, entry.help)
              for name, entry in ((name, table_column(name)) for name in frame.columns)}
    st.dataframe(frame, column_config=config, hide_index=True, width="content")


def _book_tables(book: Book, statuses: list[OpenStatus]) -> None:
    st.subheader("Stock")
    if book.holdings:
        _table(pd.DataFrame([{**h.to_dict(), "calls_written": book.calls_written(h.ticker),
                              "calls_free": book.calls_free(h.ticker)} for h in book.holdings]))
    else:
        st.caption("No stock held.")
    st.subheader("Open short options")
    if statuses:
        _table(pd.DataFrame([{**s.option.to_dict(), "opened_on": s.option.opened_on, "side": str(s.contract.side),
                              "strike": s.contract.strike, "expiration": s.contract.expiration, "bid": s.bid,
                              "ask": s.ask, "stock": s.underlying, "expired": s.expired, "tested": s.tested}
                             for s in statuses]))
    else:
        st.caption("No open short options.")
    if book.cash is None:
        st.caption("Cash for puts: not set (puts are not sized).")
    else:
        st.caption(f"Cash for puts: ${book.cash:,.2f}; free after the open puts' collateral "
                   f"(${book.put_collateral:,.2f}): ${book.free_cash:,.2f}.")


def _edits(record: PositionsRecord, book: Book) -> None:
    left, middle, right = st.columns(3)
    with left:
        st.text_input("Ticker", key=STOCK)
        st.text_input("Shares", key=SHARES)
        st.text_input("Cost basis per share ($)", key=BASIS)
        st.button("Add stock", key="pos-add-stock", on_click=_change, args=(
            lambda: f"Holding: {describe([record.add_stock(_value(STOCK), _value(SHARES), _value(BASIS))])}.",
            (STOCK, SHARES, BASIS)))
    with middle:
        st.text_input("Option symbol (OCC, e.g. AAPL261218P00150000)", key=OPTION)
        st.text_input("Contracts", key=CONTRACTS)
        st.text_input("Premium received per share ($)", key=PREMIUM)
        st.text_input("Opened on (YYYY-MM-DD, optional)", key=OPENED)
        st.button("Add option", key="pos-add-option", on_click=_change, args=(
            lambda: "Open option: " + describe([record.add_option(_value(OPTION), _value(CONTRACTS), _value(PREMIUM),
                                                                  _value(OPENED) or None)]) + ".",
            (OPTION, CONTRACTS, PREMIUM, OPENED)))
    with right:
        st.text_input("Cash available for puts ($)", key=CASH)
        st.button("Set cash", key="pos-set-cash", on_click=_change, args=(
            lambda: f"Cash for puts: ${record.set_cash(_value(CASH)).cash:,.2f}.", (CASH,)))
        symbols = [h.ticker for h in book.holdings] + [o.option_symbol for o in book.options]
        st.selectbox("Position to remove", symbols, index=None, key=PICK)
        st.button("Remove", key="pos-remove", on_click=_change, args=(
            _then(lambda: record.remove(_value(PICK)), lambda: f"Removed {_value(PICK)}."), (PICK,)))
    st.file_uploader(f"Import a CSV ({CSV_HELP})", type=["csv", "txt"], key=FILE)
    st.radio("Import mode", ("Merge into the book", "Replace the book"), key=MODE, horizontal=True)
    st.button("Import", key="pos-import", on_click=_change, args=(lambda: _import(record),))


def _expired(record: PositionsRecord, statuses: list[OpenStatus], can_edit: bool) -> None:
    """Each open option past its expiration asks to be recorded: expired worthless, or assigned."""
    for status in (s for s in statuses if s.expired):
        symbol = status.option.option_symbol
        st.warning(f"{symbol} expired on {status.contract.expiration}: record how it ended.")
        if can_edit:
            left, right = st.columns(2)
            left.button("Expired worthless (remove)", key=f"pos-worthless-{symbol}", on_click=_change,
                        args=(_then(lambda s=symbol: record.remove(s), lambda s=symbol: f"{s}: expired worthless."),))
            right.button("Assigned", key=f"pos-assigned-{symbol}", on_click=_change,
                         args=(_then(lambda s=symbol: record.record_assigned(s),
                                     lambda s=symbol: f"{s}: assigned; the book's stock is updated."),))


def _rolls(statuses: list[OpenStatus], scanned: bool) -> None:
    st.subheader("Rolls")
    if not statuses:
        st.caption("No open short options to roll.")
        return
    if not scanned:
        st.info("No completed scan yet: run one to quote the open options and find their rolls.")
    for status in statuses:
        line = status.headline
        st.markdown(f":red[**{line} — tested**]" if status.tested else line)
        if len(status.candidates):
            _table(status.candidates)
        elif scanned:
            st.caption("No later expiration on the right side of the strike in the scan.")


def render() -> None:
    with page_frame("Positions", notice=NOTICE) as page:
        user = book_user(page.access)
        record = PositionsRecord(page.store.client, page.store.keys, user)
        book = record.load()
        meta, rows = latest_rows(page.store)
        if meta is not None and len(rows) and not started_by_viewer(meta):  # another's scan: against this book here
            rows = apply_book(viewer_rows(rows, meta, page.store.keys.root), book, Criteria.of_scan(meta.criteria))
        statuses = open_statuses(book, rows, today(page.settings), page.settings.roll_alert_pct)
        st.caption(f"Your book ({user})." if user else "The shared book (no login configured).")
        can_edit = admin_gate("edit positions")
        _book_tables(book, statuses)
        _expired(record, statuses, can_edit)
        st.download_button("Export CSV", to_csv(book), file_name="positions.csv", mime="text/csv",
                           on_click="ignore", key="pos-export")
        if can_edit:
            _edits(record, book)
        st.subheader("Book against the last scan")
        if meta is None:
            st.caption("No completed scan yet.")
        else:
            st.caption(f"Scan {meta.scan_id}: per holding of 100 shares or more, the best matching call (by score).")
            _table(best_calls(book, rows))
        _rolls(statuses, meta is not None)
