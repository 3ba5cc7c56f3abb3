"""Saved screens in the sidebar: save the filtered view under a name (its whole filter state), open, rename, delete.

With login a user's screens are their own; without, they are shared (admins edit them). Everything goes through
``scanner.store.screens`` and ``scanner.results.screens``, the CLI's code.
"""

from __future__ import annotations

import streamlit as st

from scanner.results.filters import Filters
from scanner.store.scans import ScanStore
from scanner.store.screens import Screen, ScreensRecord
from scanner.ui.auth import Access, AccessMode, current_access
from scanner.ui.filters_panel import show_view
from scanner.ui.page import Notice, admin_action
from scanner.ui.refresh import SHARED_READ_SECONDS

NOTICE = Notice("screens_notice")
NAME, PICK, NEW_NAME = "screen-name", "screen-pick", "screen-rename"


def owner(access: Access) -> str:
    """Whose screens: the signed-in user's e-mail with login, '' (shared) without."""
    return (access.email or "") if access.mode is AccessMode.OIDC else ""


def may_edit(access: Access) -> bool:
    """A signed-in user edits their own; shared screens are the admins' to edit."""
    return access.admin or (access.mode is AccessMode.OIDC and access.logged_in)


def records(store: ScanStore) -> ScreensRecord:
    return ScreensRecord(store.client, store.keys, owner(current_access()))


@st.cache_data(ttl=SHARED_READ_SECONDS, show_spinner=False)
def _listed(_store: ScanStore, prefix: str, whose: str) -> list[Screen]:
    """The sidebar's list, kept between reruns (the idle check stays at two round trips); edits here clear it."""
    return ScreensRecord(_store.client, _store.keys, whose).list()


_action = admin_action(NOTICE, denied="Sign in (or unlock as admin) to change saved screens; nothing was changed.",
                       unavailable="Redis unavailable: nothing was changed.", refused="Nothing was changed: {error}",
                       allowed=may_edit)


@_action
def _save(store: ScanStore, filters: Filters) -> str:
    screen = records(store).save(st.session_state.get(NAME, ""), filters.to_query(None))
    _listed.clear()
    st.session_state.pop(NAME, None)
    return f"Saved this view as '{screen.name}'."


@_action
def _rename(store: ScanStore, name: str) -> str:
    screen = records(store).rename(name, st.session_state.get(NEW_NAME, ""))
    _listed.clear()
    st.session_state.pop(NEW_NAME, None)
    st.session_state[PICK] = screen.name
    return f"Renamed '{name}' to '{screen.name}'."


@_action
def _delete(store: ScanStore, name: str) -> str:
    records(store).delete(name)
    _listed.clear()
    st.session_state.pop(PICK, None)
    return f"Deleted '{name}'."


@admin_action(NOTICE, denied="", unavailable="Redis unavailable: the screen was not opened.",
              refused="The screen was not opened: {error}", allowed=lambda access: True)
def _open(store: ScanStore, name: str) -> str:
    """Opening needs no permission: it only sets the filters, as the screen's URL would."""
    show_view(records(store).get(name).query)
    return f"Opened '{name}'."


def render_saved_screens(store: ScanStore, filters: Filters) -> None:
    """The sidebar's section, below the filters."""
    access = current_access()
    screens = _listed(store, store.keys.root, owner(access))
    with st.sidebar:
        st.header("Saved screens")
        NOTICE.show()
        names = [s.name for s in screens]
        if names:
            picked = st.selectbox("Screen", names, key=PICK)
            st.button("Open", key="screen-open", on_click=_open, args=(store, picked))
        else:
            st.caption("No saved screens yet.")
        if not may_edit(access):
            return
        st.text_input("Save this view as", max_chars=60, key=NAME)
        st.button("Save view", key="screen-save", on_click=_save, args=(store, filters))
        if names:
            st.text_input("Rename the picked screen to", max_chars=60, key=NEW_NAME)
            left, right = st.columns(2)
            left.button("Rename", key="screen-rename-button", on_click=_rename, args=(store, picked))
            right.button("Delete", key="screen-delete", on_click=_delete, args=(store, picked))
