"""Page pieces shared by ``dashboard.py`` and ``pages/``: the only package that imports streamlit."""
