"""Options Scanner: the entry point (``streamlit run dashboard.py``). It lists the pages in the sidebar by
title (``scanner.ui.navigation.PAGES``), sets the page config (only here) and runs the page picked."""

import streamlit as st

from scanner.ui.navigation import navigation

page, entry = navigation()
st.set_page_config(page_title=entry.tab, page_icon=entry.icon, layout="wide")
page.run()
