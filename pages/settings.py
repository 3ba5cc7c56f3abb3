"""Watch-list and criteria: the tickers scans run on and the screening rules (edits by admins)."""

from scanner.ui import settings_page

settings_page.render()
