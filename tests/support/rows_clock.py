"""The shared rows cache's clock under a test's control, so a running scan's reuse window
(``results.RUNNING_ROWS_SECONDS``) is passed on purpose rather than by how slow the machine is."""

from __future__ import annotations

from scanner.ui import results


class RowsClock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now

    def past_the_window(self) -> None:
        """As a rerun more than the reuse window after the last read of the rows."""
        self.now += results.RUNNING_ROWS_SECONDS

