"""AppTest of the criteria form's earnings rule (issue 16) against the real embedded server: exclude by default,
flag saved from the form, and criteria stored before the rule existed load with the default."""

from __future__ import annotations

import json

from streamlit.testing.v1 import AppTest

from scanner.scan.criteria import Criteria, EarningsRule
from scanner.store.scans import ScanStore
from tests.support.paths import ROOT

LABEL = "Earnings inside a contract's life"


def _page() -> AppTest:
    return AppTest.from_file(str(ROOT / "pages" / "settings.py"), default_timeout=60).run()


def _rule(at: AppTest):
    (found,) = [widget for widget in at.selectbox if widget.label == LABEL]
    return found


def test_the_earnings_rule_is_exclude_by_default_and_flag_saves_from_the_form(real_store: ScanStore) -> None:
    at = _page()
    assert not at.exception and _rule(at).value == EarningsRule.EXCLUDE
    _rule(at).set_value(EarningsRule.FLAG)
    (button,) = [b for b in at.button if b.label == "Save criteria"]
    at = button.click().run()
    assert [s.value for s in at.success] == ["Criteria saved; the next scan uses them."]
    assert real_store.criteria.load() == Criteria(earnings=EarningsRule.FLAG)
    assert json.loads(real_store.client.get(real_store.keys.criteria))["earnings"] == "flag"
    assert _rule(at).value == EarningsRule.FLAG


def test_criteria_stored_before_the_rule_load_with_exclude(real_store: ScanStore) -> None:
    stored = Criteria(min_dte=30).to_dict()
    del stored["earnings"]
    real_store.client.set(real_store.keys.criteria, json.dumps(stored))
    assert real_store.criteria.load().earnings is EarningsRule.EXCLUDE
    assert _rule(_page()).value == EarningsRule.EXCLUDE
