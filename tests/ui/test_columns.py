"""The tables' column config derives from the column schema: labels, formats and help, in the shown order."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from scanner.schema import BY_NAME, Display
from scanner.store.scans import ScanStore
from scanner.ui.columns import DECISION_COLUMNS, column, decision_first, shown_value, tooltip
from scanner.ui.results import COLUMN_CONFIG, SHOWN_COLUMNS, SUMMARY_CONFIG

FORMATS = {  # today's formats, pinned: a change here is a change users see
    "strike": "$%.2f", "bid": "$%.2f", "premium": "$%.2f", "annualized_return_pct": "%.2f%%",
    "spread_pct": "%.2f%%", "prob_otm": "percent", "iv": "percent", "delta": "%.3f", "dte": "%d", "volume": "%d",
    "open_interest": "%d", "expiration": "YYYY-MM-DD",
}


def test_per_ticker_tables_keep_the_shown_order_and_take_labels_and_help_from_the_schema() -> None:
    assert tuple(COLUMN_CONFIG) == SHOWN_COLUMNS
    for name, config in COLUMN_CONFIG.items():
        assert config["label"] == BY_NAME[name].label
        assert config["help"] == (BY_NAME[name].help or None)


@pytest.mark.parametrize(("name", "expected"), FORMATS.items())
def test_formats_follow_the_display(name: str, expected: str) -> None:
    assert COLUMN_CONFIG[name]["type_config"]["format"] == expected


def test_flags_are_checkboxes_and_text_is_text() -> None:
    assert COLUMN_CONFIG["new"]["type_config"]["type"] == "checkbox"
    assert COLUMN_CONFIG["option_symbol"]["type_config"]["type"] == "text"
    assert COLUMN_CONFIG["expiration"]["type_config"]["type"] == "date"


def test_every_display_has_a_column_type() -> None:
    for display in Display:
        assert column(display, "x")["label"] == "x"
    assert column(Display.NUMBER, "x")["type_config"]["format"] == "%.2f"  # the score: two decimals, as the CSV


def test_the_summary_formats_like_the_tables() -> None:
    assert SUMMARY_CONFIG["best_annualized"]["type_config"]["format"] == "%.2f%%"
    assert SUMMARY_CONFIG["best_strike"]["type_config"]["format"] == "$%.2f"
    assert SUMMARY_CONFIG["passing"]["type_config"]["format"] == "%d"
    assert SUMMARY_CONFIG["best_expiration"]["type_config"]["format"] == "YYYY-MM-DD"


def test_the_per_ticker_tables_start_with_the_decision_columns_and_show_otm() -> None:
    assert DECISION_COLUMNS == ("ticker", "strike", "expiration", "bid", "annualized_return_pct", "side", "dte",
                                "delta", "open_interest", "spread_pct")  # the first five fit a phone (issue 12, 8)
    assert SHOWN_COLUMNS[:9] == DECISION_COLUMNS[1:]  # the expander names the ticker
    assert "ticker" not in SHOWN_COLUMNS
    assert COLUMN_CONFIG["otm_pct"]["label"] == "OTM" and COLUMN_CONFIG["otm_pct"]["type_config"]["format"] == "%.2f%%"


def test_decision_first_moves_the_decision_columns_ahead_and_keeps_the_rest_in_order() -> None:
    assert decision_first(["option_symbol", "bid", "match", "ticker", "strike", "volume"]) == [
        "ticker", "strike", "bid", "option_symbol", "match", "volume"]


def test_the_summary_headers_are_the_schema_labels_short_enough_for_a_phone_and_the_best_contract_comes_first(
) -> None:
    labels = [config["label"] for config in SUMMARY_CONFIG.values()]
    assert labels == ["Ticker", "Strike", "Expiration", "Bid", "Ann. %", "Side", "Delta", "Open int.", "Contracts",
                      "Underlying", "Nearest expiration", "Next earnings", "IV30", "IV rank", "HV20",
                      "Last scan (ET)"]
    assert SUMMARY_CONFIG["best_annualized"]["help"] == (
        "Annualized of the ticker's best contract, the highest annualized return of either side")
    assert SUMMARY_CONFIG["best_delta"]["type_config"]["format"] == "%.3f"
    assert SUMMARY_CONFIG["best_open_interest"]["type_config"]["format"] == "%d"


@pytest.mark.parametrize(("name", "kind", "title", "field", "fmt"), [
    ("strike", "Q", "Strike", "strike", "$,.2f"),
    ("annualized_return_pct", "Q", "Annualized", "annualized_return_pct_fraction", ".2%"),  # 43.98 → 43.98%
    ("prob_otm", "Q", "P(OTM)", "prob_otm", ".2%"),  # already a fraction
    ("delta", "Q", "Delta", "delta", ".3f"),
    ("expiration", "T", "Expiration", "expiration", "%Y-%m-%d"),
    ("option_symbol", "N", "Contract", "option_symbol", None),
])
def test_chart_tooltips_take_the_schema_label_and_format(name: str, kind: str, title: str, field: str,
                                                         fmt: str | None) -> None:
    spec = tooltip(name, kind).to_dict()
    assert spec["title"] == title and spec["field"] == field and spec.get("format") == fmt


def test_the_rendered_table_carries_the_config(scanner_env, real_store: ScanStore) -> None:
    """An AppTest of the main page: the per-ticker table the browser gets has the schema's labels and formats."""
    from streamlit.testing.v1 import AppTest

    from scanner.config import Settings
    from scanner.scan.engine import ScanRequest, begin_scan, run_scan
    from tests.support.paths import ROOT
    from tests.support.results_view import opened

    settings = Settings.from_env()
    started = begin_scan(settings, real_store, ScanRequest(tickers=["AAPL", "MSFT"]))
    run_scan(settings, real_store, started.scan_id, started.token)
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    for name, value in {"rules": "0", "side": "all", "min_ann": "", "delta_min": "", "delta_max": ""}.items():
        at.query_params[name] = value  # every screened row, matching or not
    at.run()
    assert not at.exception and at.expander
    opened(at)
    sent = json.loads(at.expander[0].dataframe[0].proto.columns)
    assert sent["strike"]["label"] == "Strike" and sent["strike"]["type_config"]["format"] == "$%.2f"
    assert sent["prob_otm"]["type_config"]["format"] == "percent"
    assert sent["delta"]["help"] == BY_NAME["delta"].help


def test_the_new_columns_follow_the_decision_columns_under_the_schemas_labels() -> None:
    assert SHOWN_COLUMNS[9:20] == ("score", "annualized_period_return_pct", "pop_pct", "events", "break_even",
                                   "collateral", "premium", "if_called_return_pct", "expected_move", "atm_iv", "reason")
    assert [COLUMN_CONFIG[name]["label"] for name in SHOWN_COLUMNS[9:12]] == ["Score", "Annualized on capital", "POP"]
    assert COLUMN_CONFIG["score"]["help"] == BY_NAME["score"].help


@pytest.mark.parametrize(("name", "value", "shown"), [
    ("collateral", 20_000.0, "$20,000.00"), ("pop_pct", 92.1, "92.10%"), ("iv", 0.3, "30.00%"),
    ("delta", -0.15, "-0.150"), ("open_interest", 1200, "1,200"), ("score", 31.456, "31.46"),
    ("expiration", pd.Timestamp("2026-12-04"), "2026-12-04"), ("match", True, "yes"), ("reason", "", "—"),
    ("if_called_return_pct", float("nan"), "—"), ("volume", pd.NA, "—"),
])
def test_a_figure_written_out_reads_as_its_table_shows_it(name: str, value: object, shown: str) -> None:
    assert shown_value(name, value) == shown
