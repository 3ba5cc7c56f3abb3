"""Positions: the trader's book, the best covered call per holding, and the open options' rolls."""

from scanner.ui import positions_page

positions_page.render()
