"""What one dashboard process shares between its sessions: values per scan version, tables converted once."""

from __future__ import annotations

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from scanner.store.scans import ScanStore
from scanner.ui.shared import NewestVersion, arrow_table, select
from tests.support.paths import ROOT
from tests.support.rows import known_rows
from tests.support.stored import store_scan


class Builds:
    """A build that counts its calls and hands out a fresh object each time."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> list[int]:
        self.calls += 1
        return [self.calls]


def test_a_version_is_built_once_for_every_caller() -> None:
    cache, build = NewestVersion[list[int]](max_keys=4), Builds()
    first = cache.get("scan", 7, build)
    assert cache.get("scan", 7, build) is first
    assert build.calls == 1


def test_a_newer_version_replaces_the_older_one_and_serves_who_asks_for_the_older() -> None:
    cache, build = NewestVersion[list[int]](max_keys=4), Builds()
    cache.get("scan", 7, build)
    newer = cache.get("scan", 8, build)
    assert cache.get("scan", 8, build) is newer
    assert cache.get("scan", 7, build) is newer  # a session that read version 7 just before 8 was built
    assert build.calls == 2


def test_keys_hold_their_own_versions_and_the_least_recently_used_goes_past_the_limit() -> None:
    cache, build = NewestVersion[list[int]](max_keys=2), Builds()
    a, b = cache.get("a", 1, build), cache.get("b", 1, build)
    assert cache.get("a", 1, build) is a  # a used last: b is the oldest
    cache.get("c", 1, build)
    assert cache.get("a", 1, build) is a
    assert cache.get("b", 1, build) is not b
    assert build.calls == 4


def test_a_failed_build_stores_nothing() -> None:
    cache, build = NewestVersion[list[int]](max_keys=2), Builds()
    kept = cache.get("scan", 1, build)

    def failing() -> list[int]:
        raise ConnectionError("Redis went away")

    with pytest.raises(ConnectionError):
        cache.get("scan", 2, failing)
    assert cache.get("scan", 1, build) is kept
    assert cache.get("scan", 2, build) == [2]


def test_a_frame_is_converted_to_arrow_once_while_it_lives_without_its_index() -> None:
    frame = pd.DataFrame({"ticker": ["AAPL", "MSFT"], "strike": [150.0, 300.0]}, index=[10, 42])
    table = arrow_table(frame)
    assert arrow_table(frame) is table
    assert table.column_names == ["ticker", "strike"]
    assert table.to_pandas().equals(frame.reset_index(drop=True))
    assert arrow_table(frame.copy()) is not table


def test_select_gives_the_same_frame_for_the_same_columns_and_rows() -> None:
    frame = pd.DataFrame({"ticker": ["AAPL", "MSFT", "NVDA"], "strike": [150.0, 300.0, 120.0], "bid": [1.0, 2.0, 3.0]})
    shown = select(frame, ("strike", "ticker"), 2)
    assert select(frame, ("strike", "ticker"), 2) is shown
    assert list(shown.columns) == ["strike", "ticker"] and list(shown["ticker"]) == ["AAPL", "MSFT"]
    assert select(frame, ("strike", "ticker")) is not shown
    assert len(select(frame, ("strike", "ticker"))) == 3


def test_two_viewers_of_one_scan_version_read_and_decode_its_rows_once(real_store: ScanStore,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    store_scan(real_store, "known", known_rows(), 1_700_100_000.0)
    decoded: list[str] = []
    results = ScanStore.results

    def counted(store: ScanStore, scan_id: str):  # noqa: ANN202 (the real read, counted)
        decoded.append(scan_id)
        return results(store, scan_id)

    monkeypatch.setattr(ScanStore, "results", counted)
    viewers = [AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60).run() for _ in range(2)]
    viewers[0].run()
    assert not any(viewer.exception for viewer in viewers)
    assert viewers[0].dataframe[0].value.equals(viewers[1].dataframe[0].value)
    assert viewers[0].dataframe[0].value["ticker"].tolist() == ["AAPL", "MSFT"]
    assert decoded == ["known"]


def test_an_older_value_built_within_the_reuse_window_is_served_with_its_version() -> None:
    now = [100.0]
    cache, build = NewestVersion[list[int]](max_keys=2, clock=lambda: now[0]), Builds()
    first = cache.held("scan", 7, build, reuse_within=5)
    now[0] += 4.9
    assert cache.held("scan", 9, build, reuse_within=5) == (7, first[1])  # a running scan's rows, 4.9 s old
    assert cache.held("scan", 9, build)[0] == 9  # no reuse asked: the newer version is read
    now[0] += 5
    assert cache.held("scan", 10, build, reuse_within=5)[0] == 10  # the window past: read again
    assert build.calls == 3
