"""Scan monitor: the lock, the running scan, its errors and log; cancel and release (admins)."""

import streamlit as st

from scanner.ui import monitor

st.set_page_config(page_title="Scan monitor · Options Scanner", page_icon=":material/monitor_heart:", layout="wide")
monitor.render()
