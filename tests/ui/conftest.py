"""Fixtures of the page tests."""

from __future__ import annotations

import pytest

from scanner.ui import refresh, results
from tests.support.rows_clock import RowsClock


@pytest.fixture
def rows_clock(monkeypatch: pytest.MonkeyPatch) -> RowsClock:
    """The shared rows cache's clock, moved only by the test (``RowsClock.past_the_window``)."""
    clock = RowsClock()
    monkeypatch.setattr(results.ROWS, "clock", clock)
    return clock


@pytest.fixture(autouse=True)
def refresh_spread(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Each page's refresh interval undrawn (its exact value) unless a test sets the draw it wants."""
    draws = [0.0]
    monkeypatch.setattr(refresh, "draw_spread", lambda: draws[0])
    return draws
