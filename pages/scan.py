"""Options Scanner, the main page: the scan button, live progress while a scan runs, the results and exports."""

from scanner.ui import scan_page

scan_page.render()
