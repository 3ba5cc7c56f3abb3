"""The sidebar names where the data lives (the data directory, the Redis host and port) to admins only."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from scanner.config import Settings
from scanner.store.connection import where
from tests.support.paths import ROOT

PASSWORD = "correct horse battery staple"
GATE = "admin-password-cancel-a-scan-or-release-the-lock"


def _sidebar_text(at: AppTest) -> str:
    return "\n".join(c.value for c in at.sidebar.caption)


def test_the_data_directory_and_redis_location_are_shown_to_admins_only(scanner_env) -> None:
    location = where(Settings.from_env())
    assert scanner_env["SCANNER_DATA_DIR"] in location
    at = AppTest.from_file(str(ROOT / "pages" / "monitor.py"), default_timeout=60)
    at.secrets = {"admin": {"password": PASSWORD}}
    at.run()
    assert not at.exception
    assert "Data source:" in _sidebar_text(at)
    assert "Redis:" not in _sidebar_text(at) and scanner_env["SCANNER_DATA_DIR"] not in _sidebar_text(at)
    at.text_input(key=GATE).input(PASSWORD).run()
    at.run()
    assert f"Redis: {location}" in _sidebar_text(at)


def test_open_access_is_admin_and_sees_where_the_data_lives(scanner_env) -> None:
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60).run()
    assert f"Redis: {where(Settings.from_env())}" in _sidebar_text(at)
