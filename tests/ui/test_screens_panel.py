"""AppTest of saved screens in the sidebar against the real embedded server: the filtered view saved whole under a
name, listed, opened (the filters come back), renamed and deleted; a bad name is refused and nothing saved."""

from __future__ import annotations

import time

from streamlit.testing.v1 import AppTest

from scanner.store.scans import ScanStore
from scanner.store.screens import ScreensRecord
from tests.support.paths import ROOT
from tests.support.rows import known_rows
from tests.support.stored import store_scan


def _click(at: AppTest, label: str) -> AppTest:
    (button,) = [b for b in at.sidebar.button if b.label == label]
    return button.click().run()


def _text(at: AppTest, label: str):
    (found,) = [t for t in at.sidebar.text_input if t.label == label]
    return found


def _number(at: AppTest, label: str):
    (found,) = [n for n in at.sidebar.number_input if n.label == label]
    return found


def test_a_view_is_saved_opened_renamed_and_deleted(real_store: ScanStore) -> None:
    store_scan(real_store, "s1", known_rows(), time.time() - 60)
    record = ScreensRecord(real_store.client, real_store.keys)
    at = AppTest.from_file(str(ROOT / "pages" / "scan.py"), default_timeout=60).run()
    assert not at.exception and "No saved screens yet." in [c.value for c in at.sidebar.caption]
    _number(at, "Min annualized return %").set_value(36.0)
    at.run()
    _text(at, "Save this view as").set_value("Rich puts")
    at = _click(at, "Save view")
    assert not at.exception and [s.value for s in at.sidebar.success] == ["Saved this view as 'Rich puts'."]
    saved = record.get("Rich puts")
    assert saved.query["min_ann"] == "36" and saved.query["side"] == "put" and saved.query["delta_min"] == "-0.2"

    _number(at, "Min annualized return %").set_value(10.0)
    at.run()
    at = _click(at, "Open")
    assert not at.exception and _number(at, "Min annualized return %").value == 36.0
    assert at.query_params == {"min_ann": "36"}  # the rest equal this scan's defaults

    _text(at, "Save this view as").set_value("")
    at = _click(at, "Save view")
    assert [e.value for e in at.sidebar.error] == ["Nothing was changed: a screen needs a name"]
    _text(at, "Rename the picked screen to").set_value("Richer puts")
    at = _click(at, "Rename")
    assert [s.name for s in record.list()] == ["Richer puts"]
    at = _click(at, "Delete")
    assert not at.exception and record.list() == []
