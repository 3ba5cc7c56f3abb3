"""AppTest of the main page against the real embedded server: each state a user can meet."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from scanner.config import Settings
from scanner.scan.engine import ScanRequest, begin_scan, counters, run_scan
from scanner.store.lock import ScanLock
from scanner.store.scans import ScanStore
from tests.support.paths import ROOT
from tests.support.results_view import opened
from tests.support.rows_clock import RowsClock


def _page() -> AppTest:
    return AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60).run()


def _texts(at: AppTest, kind: str) -> list[str]:
    return [element.value for element in getattr(at, kind)]


def _completed_scan(store: ScanStore, tickers: list[str]) -> str:
    settings = Settings.from_env()
    started = begin_scan(settings, store, ScanRequest(tickers=tickers))
    return run_scan(settings, store, started.scan_id, started.token).scan_id


def _rows(ticker: str, matches: list[bool]) -> pd.DataFrame:
    n = len(matches)
    return pd.DataFrame({
        "ticker": [ticker] * n, "side": ["put"] * n, "expiration": pd.to_datetime(["2026-12-04"] * n),
        "dte": [5] * n, "strike": [100.0 - i for i in range(n)], "bid": [0.5] * n, "ask": [0.6] * n,
        "delta": [-0.1] * n, "annualized_return_pct": [36.5] * n, "match": matches,
    })


def test_idle_page(scanner_env) -> None:
    at = _page()
    assert not at.exception
    assert at.title[0].value == "Options Scanner"
    assert at.button[0].label == "Scan for options"
    assert "No completed scan yet." in _texts(at, "caption")
    assert not at.expander
    assert any("Demo market (simulated data)" in c for c in _texts(at, "caption"))


@pytest.mark.parametrize("page", ["dashboard.py", "pages/history.py", "pages/monitor.py", "pages/settings.py"])
def test_the_data_source_label_shows_on_the_main_area_of_every_page(scanner_env, page: str) -> None:
    """On a phone the sidebar is collapsed: "simulated data" must be read without opening it."""
    at = AppTest.from_file(str(ROOT / page), default_timeout=60).run()
    assert not at.exception
    assert "Data source: **Demo market (simulated data)**" in [c.value for c in at.main.caption]


def test_completed_scan_shows_one_expander_per_ticker_with_matches(scanner_env, real_store: ScanStore) -> None:
    scan_id = _completed_scan(real_store, ["AAPL", "MSFT", "NVDA", "AMZN"])
    meta = real_store.get(scan_id)
    frame = real_store.results(scan_id).frame
    expected = frame[frame["match"]].groupby("ticker").size()
    at = _page()
    assert not at.exception
    line = next(m for m in _texts(at, "markdown") if m.startswith("**Last scan:**"))
    assert re.search(rf"\d{{4}}-\d\d-\d\d \d\d:\d\d ET — 4 tickers, {meta.matches} matches", line)
    labels = [e.label for e in at.expander]
    assert len(labels) == len(expected) > 0
    for label, (ticker, count) in zip(labels, expected.items(), strict=True):
        assert re.fullmatch(rf"{ticker} — {count} options?( — .+)? — last scan \d\d:\d\d", label)
    shown = opened(at).expander[0].dataframe[0].value
    assert list(shown["expiration"]) == sorted(shown["expiration"])
    assert len(shown) == expected.iloc[0]


def _finished_scan(store: ScanStore, scan_id: str, ticker: str, matches: list[bool], status: str,
                   message: str = "") -> None:
    store.create(scan_id, provider="demo", provider_label="Demo", criteria={"side": "put"}, tickers=[ticker])
    store.record_ticker(scan_id, ticker, _rows(ticker, matches), None,
                        counters(1, 1, len(matches), sum(matches), 0, ticker))
    store.finish(scan_id, status, message)


def test_no_matches(scanner_env, real_store: ScanStore) -> None:
    _finished_scan(real_store, "s1", "AAPL", [False, False], "completed")
    at = _page()
    assert "No options found." in _texts(at, "info")
    assert not at.expander


def test_failed_scan_banner_keeps_the_last_completed_results(scanner_env, real_store: ScanStore) -> None:
    _finished_scan(real_store, "s1", "AAPL", [True, False], "completed")
    _finished_scan(real_store, "s2", "MSFT", [True], "failed", "Credits exhausted")
    at = _page()
    assert any("failed: Credits exhausted" in e for e in _texts(at, "error"))
    assert [e.label.split(" — ")[0] for e in at.expander] == ["AAPL"]


def _running_scan(store: ScanStore, matches: list[bool]) -> str:
    _finished_scan(store, "old", "ZZZ", [True], "completed")
    token = ScanLock(store.client, store.keys, ttl=30).acquire()
    assert token
    store.create("live", provider="demo", provider_label="Demo", criteria={"side": "put"}, tickers=["AAPL", "MSFT"])
    store.mark_running("live", pid=1, host="test")
    store.record_ticker("live", "AAPL", _rows("AAPL", matches), None,
                        counters(1, 2, len(matches), sum(matches), 0, "AAPL"))
    return token


def test_running_scan_shows_progress_and_only_its_own_results(scanner_env, real_store: ScanStore) -> None:
    _running_scan(real_store, [True, True, False])
    at = _page()
    assert not at.exception
    assert "Scan in progress... (50% complete)" in _texts(at, "info")
    assert at.get("progress")[0].value == 50
    assert "Results updating in real-time" in _texts(at, "caption")
    assert [e.label.split(" — ")[:2] for e in at.expander] == [["AAPL", "2 options"]]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Tickers"] == "1/2" and metrics["Matches so far"] == "2"
    assert not at.get("download_button")  # a running scan is never exported


def test_a_rerun_after_the_scan_wrote_a_new_version_shows_the_new_rows(scanner_env, real_store: ScanStore,
                                                                       rows_clock: RowsClock) -> None:
    _running_scan(real_store, [True])
    at = _page()
    assert [e.label.split(" — ")[:2] for e in at.expander] == [["AAPL", "1 option"]]
    real_store.record_ticker("live", "MSFT", _rows("MSFT", [True, True]), None, counters(2, 2, 3, 3, 0, "MSFT"))
    at.run()  # within the reuse window: the progress is current, the rows are those read a moment ago
    assert [e.label.split(" — ")[:2] for e in at.expander] == [["AAPL", "1 option"]]
    assert {m.label: m.value for m in at.metric}["Tickers"] == "2/2"
    rows_clock.past_the_window()
    at.run()  # what the 15 s autorefresh does
    assert [e.label.split(" — ")[:2] for e in at.expander] == [["AAPL", "1 option"], ["MSFT", "2 options"]]


def test_running_scan_without_matches_yet(scanner_env, real_store: ScanStore) -> None:
    _running_scan(real_store, [False])
    at = _page()
    assert "No options found yet. Scanning..." in _texts(at, "caption") + _texts(at, "info")
    assert not at.expander


def test_a_scan_starting_shows_its_starting_state_once(scanner_env, real_store: ScanStore) -> None:
    _finished_scan(real_store, "old", "ZZZ", [True], "completed")
    assert ScanLock(real_store.client, real_store.keys, ttl=30).acquire()
    real_store.create("live", provider="demo", provider_label="Demo", criteria={"side": "put"},
                      tickers=["AAPL", "MSFT"])  # the click's rerun: the scan exists, no ticker is in yet
    for status in ("starting", "running"):
        real_store.set_fields("live", status=status)
        at = _page()
        assert not at.exception
        assert _texts(at, "info") == ["Scan in progress... (starting)"]
        assert not at.metric and not at.get("progress") and not at.expander
        assert "No options found yet. Scanning..." not in _texts(at, "caption")


def test_no_match_yet_is_said_once(scanner_env, real_store: ScanStore) -> None:
    _running_scan(real_store, [False])
    at = _page()
    assert (_texts(at, "caption") + _texts(at, "info")).count("No options found yet. Scanning...") == 1


def test_second_click_while_running_starts_nothing(scanner_env, real_store: ScanStore) -> None:
    _running_scan(real_store, [True])
    at = _page()
    at.button[0].click().run()
    assert any("already running" in text for text in _texts(at, "info"))
    assert [m.scan_id for m in real_store.history()] == ["live", "old"]


def test_market_closed_click(scanner_env, real_store: ScanStore, monkeypatch: pytest.MonkeyPatch) -> None:
    _finished_scan(real_store, "s1", "AAPL", [True], "completed")
    monkeypatch.setenv("SCANNER_ENFORCE_MARKET_HOURS", "true")
    monkeypatch.setenv("SCANNER_NOW", "2026-11-26T11:00:00-05:00")  # Thanksgiving
    at = _page()
    at.button[0].click().run()
    warning = next(w for w in _texts(at, "warning") if w.startswith("Market is closed."))
    assert "Scans only run during market hours (9:30 AM - 4:00 PM ET)." in warning
    assert "Next open: Fri 2026-11-27 09:30 ET" in warning
    assert [m.scan_id for m in real_store.history()] == ["s1"]
    assert [e.label.split(" — ")[0] for e in at.expander] == ["AAPL"]


def test_click_starts_a_scan_subprocess(scanner_env, real_store: ScanStore) -> None:
    at = _page()
    at.button[0].click().run()
    assert any(text.startswith("Scan ") and text.endswith(" started.") for text in _texts(at, "success"))
    current = real_store.get(real_store.current_id())
    assert current is not None and current.tickers_total == 26


def test_redis_down_is_a_banner_not_a_traceback(scanner_env, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://:hunter2@127.0.0.1:1/0")
    at = _page()
    assert not at.exception
    errors = _texts(at, "error")
    assert errors and "Redis unavailable" in errors[0] and "hunter2" not in errors[0]


def test_corrupted_results_entry_shows_the_rest_and_a_warning(scanner_env, real_store: ScanStore) -> None:
    token = _running_scan(real_store, [True])
    real_store.record_ticker("live", "MSFT", _rows("MSFT", [True]), None, counters(2, 2, 2, 2, 0, "MSFT"))
    real_store.client.hset(real_store.keys.results("live"), "AAPL", "not an arrow batch")
    at = _page()
    assert not at.exception
    assert any("AAPL" in w and "could not be read" in w for w in _texts(at, "warning"))
    assert [e.label.split(" — ")[0] for e in at.expander] == ["MSFT"]
    # once finished, the entry that could not be read is still named
    real_store.finish("live", "completed")
    assert ScanLock.attach(real_store.client, real_store.keys, 30, token).release()
    at = _page()
    assert any("AAPL" in w and "could not be read" in w for w in _texts(at, "warning"))
    assert [e.label.split(" — ")[0] for e in at.expander] == ["MSFT"]


def test_corrupted_finished_scan_is_a_warning_not_a_traceback(scanner_env, real_store: ScanStore) -> None:
    _finished_scan(real_store, "s1", "AAPL", [True], "completed")
    real_store.client.set(real_store.keys.table("s1"), "garbage")
    at = _page()
    assert not at.exception
    assert any("could not be read" in w for w in _texts(at, "warning"))


def test_scan_button_behind_the_admin_password(scanner_env, real_store: ScanStore) -> None:
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    at.secrets = {"admin": {"password": "s3cret-admin"}}
    at.run()
    assert "Scan for options" not in [b.label for b in at.button]
    prompt = next(t for t in at.text_input if t.label.startswith("Admin password"))
    prompt.input("wrong").run()
    assert "Wrong admin password." in _texts(at, "error")
    assert "Scan for options" not in [b.label for b in at.button]
    next(t for t in at.text_input if t.label.startswith("Admin password")).input("s3cret-admin").run()
    next(b for b in at.button if b.label == "Scan for options").click().run()
    assert any(text.endswith(" started.") for text in _texts(at, "success"))
    assert real_store.current_id() is not None


def test_credits_of_a_metered_source_are_shown(scanner_env, real_store: ScanStore) -> None:
    _finished_scan(real_store, "s1", "AAPL", [True], "completed")
    real_store.set_fields("s1", credits_used=184, credits_remaining=9816)
    at = _page()
    assert "API credits used by this scan: 184 · remaining today: 9816" in _texts(at, "caption")
