"""Options Scanner: the main page (``streamlit run dashboard.py``)."""

import streamlit as st

from scanner.ui import scan_page

st.set_page_config(page_title="Options Scanner", page_icon=":material/query_stats:", layout="wide")
scan_page.render()
