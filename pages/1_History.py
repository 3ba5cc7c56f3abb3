"""Scan history: every finished scan, its results with filters, comparison and exports."""

import streamlit as st

from scanner.ui import history_page

st.set_page_config(page_title="History · Options Scanner", page_icon=":material/history:", layout="wide")
history_page.render()
