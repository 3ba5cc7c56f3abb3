"""User-supplied text quoted on a page renders as text: no link, no image, no emphasis (AppTest on a stored scan)."""

from __future__ import annotations

import re

import pytest
from streamlit.testing.v1 import AppTest

from scanner.store.scans import ScanStore
from scanner.ui.markdown import plain
from tests.support.paths import ROOT
from tests.support.rows import known_rows
from tests.support.stored import store_scan

ATTACK = "**Session expired.** [Sign in again](http://x) ![](http://x/i.png) :red[x] www.x.com"
SYNTAX = re.compile(r"(?<!\\)[\[\]()*!:]")  # an unescaped bracket, parenthesis, star, bang or colon


@pytest.fixture
def stored(scanner_env, real_store: ScanStore) -> ScanStore:
    store_scan(real_store, "known", known_rows(), 1_700_100_000.0)
    return real_store


def _run(page: str, query: dict[str, str]) -> AppTest:
    at = AppTest.from_file(str(ROOT / page), default_timeout=60)
    for name, value in query.items():
        at.query_params[name] = value
    return at.run()


def _quoting(at: AppTest, fragment: str) -> list[str]:
    """Every warning of the page (sidebar included) that quotes ``fragment`` as escaped markdown."""
    return [w.value for w in [*at.warning, *at.sidebar.warning] if plain(fragment) in w.value]


def test_plain_text_renders_as_itself_with_no_markdown_syntax_left() -> None:
    assert not SYNTAX.search(plain(ATTACK))
    assert re.sub(r"\\(.)", r"\1", plain(ATTACK)) == ATTACK
    assert plain("a\n# b\n\n- c") == r"a \# b \- c"


def test_markdown_in_the_tickers_parameter_is_shown_as_text(stored) -> None:
    at = _run("dashboard.py", {"tickers": ATTACK})
    assert not at.exception
    notes = _quoting(at, "Session expired")
    assert notes and not any(SYNTAX.search(note) for note in notes)
    assert not any("](http" in w.value for w in [*at.warning, *at.sidebar.warning])


def test_markdown_in_historys_scan_parameter_is_shown_as_text(stored) -> None:
    at = _run("pages/history.py", {"scan": ATTACK})
    assert not at.exception
    notes = _quoting(at, ATTACK[:40])
    assert notes and not any("](http" in note or "![" in note for note in notes)
