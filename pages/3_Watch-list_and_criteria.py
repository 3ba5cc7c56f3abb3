"""Watch-list and criteria: the tickers scans run on and the screening rules (edits by admins)."""

import streamlit as st

from scanner.ui import settings_page

st.set_page_config(page_title="Watch-list and criteria · Options Scanner", page_icon=":material/checklist:",
                   layout="wide")
settings_page.render()
