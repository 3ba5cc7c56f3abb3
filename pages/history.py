"""Scan history: every finished scan, its results with filters, comparison and exports."""

from scanner.ui import history_page

history_page.render()
