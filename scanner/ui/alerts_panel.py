"""Alerts on the criteria page: each saved screen's channels (Apprise URLs, only ever shown masked), adding and
removing them, a "send test alert" button, and the delivery history. Through ``scanner.scan.alerts`` and
``scanner.store.screens``, the CLI's code."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from scanner import clock
from scanner.scan.alerts import Alerter, AlertLog, Delivery
from scanner.ui.auth import current_access
from scanner.ui.context import PageContext
from scanner.ui.page import Notice, NoticeKind, Outcome, admin_action
from scanner.ui.screens_panel import may_edit, owner, records

NOTICE = Notice("settings_notice", "alerts")
URL = "alert-url-{}"

_action = admin_action(NOTICE, denied="Sign in (or unlock as admin) to change alerts; nothing was changed.",
                       unavailable="Redis unavailable: nothing was changed.", refused="Nothing was changed: {error}",
                       allowed=may_edit)


@_action
def _add(ctx: PageContext, name: str, key: str) -> str:
    channel = records(ctx.store).add_channel(name, st.session_state.get(key, ""))
    st.session_state.pop(key, None)
    return f"Added {channel.masked} to '{name}'."


@_action
def _remove(ctx: PageContext, channel_id: str) -> str:
    return f"Removed channel {channel_id} from '{records(ctx.store).remove_channel(channel_id).name}'."


@_action
def _test(ctx: PageContext, name: str) -> Outcome:
    sent = Alerter(ctx.settings, ctx.store).test(owner(current_access()), name)
    failed = [r.channel_id for r in sent if r.result == Delivery.FAILED]
    if not sent:
        return NoticeKind.WARNING, f"'{name}' has no channels: add one first."
    if failed:
        return NoticeKind.ERROR, f"Test alert of '{name}': failed on {', '.join(failed)} (see the history)."
    return f"Test alert of '{name}' sent to {len(sent)} channel(s)."


def _history(ctx: PageContext) -> None:
    entries = AlertLog(ctx.store.client, ctx.store.keys).recent(50, owner=owner(current_access()))
    st.markdown("**Alert history**")
    if not entries:
        st.caption("No alert sent yet.")
        return
    st.dataframe(pd.DataFrame([{
        "sent (ET)": clock.fmt_ny(e.at, "%Y-%m-%d %H:%M:%S"), "screen": e.screen, "result": e.result,
        "test": e.test, "contracts": e.contracts, "channel": e.channel, "attempts": e.attempts, "symbols": e.symbols,
        "scan": e.scan_id} for e in entries]), hide_index=True, width="stretch")


def render_alerts(ctx: PageContext) -> None:
    st.subheader("Alerts")
    NOTICE.show()
    st.caption("After each completed scan (page, command line or schedule), a saved screen's matches not alerted "
               "today go to its channels as one message. A channel is an Apprise URL: mailto://, json://, "
               "slack://, tgram://, discord:// and the rest Apprise supports.")
    screens = records(ctx.store).list()
    editable = may_edit(current_access())
    if not screens:
        st.caption("Save a filtered view as a screen (sidebar of the results) to alert on it.")
    for index, screen in enumerate(screens):
        with st.expander(f"{screen.name}: {len(screen.channels)} channel(s)"):
            for channel in screen.channels:
                left, right = st.columns([5, 1])
                left.code(channel.masked, language=None)
                if editable:
                    right.button("Remove", key=f"alert-remove-{channel.channel_id}", on_click=_remove,
                                 args=(ctx, channel.channel_id))
            if editable:
                key = URL.format(index)
                st.text_input("Add a channel (Apprise URL)", key=key, type="password")
                left, right = st.columns(2)
                left.button("Add channel", key=f"alert-add-{index}", on_click=_add, args=(ctx, screen.name, key))
                right.button("Send test alert", key=f"alert-test-{index}", on_click=_test, args=(ctx, screen.name),
                             disabled=not screen.channels)
    _history(ctx)
