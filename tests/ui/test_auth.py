"""AppTest of each access-control gate on the real pages: open, admin password (right and wrong), and OIDC
(logged out, non-admin, admin). The admin password never appears on a page."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from scanner.store.scans import ScanStore
from tests.support.paths import ROOT

PASSWORD = "correct horse battery staple"
OIDC = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "cookie-secret-value",
        "client_id": "scanner", "client_secret": "oidc-client-secret",
        "server_metadata_url": "https://login.example.com/.well-known/openid-configuration"}
PAGES = ("pages/settings.py", "pages/monitor.py")
ALL_PAGES = PAGES + ("dashboard.py", "pages/history.py")


def _page(path: str = PAGES[0], secrets: dict | None = None, user: dict | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / path), default_timeout=60)
    at.secrets = secrets or {}
    if user is not None:
        at.user = user
    return at.run()


def _all_text(at: AppTest) -> str:
    parts = []
    for kind in ("title", "subheader", "markdown", "caption", "info", "error", "warning", "success", "text_input"):
        parts += [str(getattr(e, "value", "")) + str(getattr(e, "label", "")) for e in getattr(at, kind)]
    return "\n".join(parts)


def _labels(at: AppTest) -> list[str]:
    return [b.label for b in at.button]


@pytest.mark.parametrize("path", PAGES)
def test_open_mode_says_so_and_allows_admin_actions(scanner_env, path: str) -> None:
    at = _page(path)
    assert not at.exception
    assert any(c.value.startswith("Open access") for c in at.sidebar.caption)
    assert ("Add" if path == "pages/settings.py" else "Cancel scan") in _labels(at)
    assert not any(t.label.startswith("Admin password") for t in at.text_input)


def test_password_gate_wrong_then_right(scanner_env, real_store: ScanStore) -> None:
    secrets = {"admin": {"password": PASSWORD}}
    at = _page(secrets=secrets)
    assert not at.exception
    assert "Add" not in _labels(at) and "Reset to defaults" not in _labels(at)
    assert any(c.value == "Admin actions need the admin password." for c in at.sidebar.caption)
    prompt = at.text_input(key="admin-password-edit-the-watch-list-or-criteria")
    prompt.input("guess").run()
    assert "Wrong admin password." in [e.value for e in at.error]
    assert "Add" not in _labels(at)
    at.text_input(key="admin-password-edit-the-watch-list-or-criteria").input(PASSWORD).run()
    assert not at.exception
    assert "Add" in _labels(at) and not at.error
    assert at.session_state["admin-password-edit-the-watch-list-or-criteria"] == ""  # not kept
    assert PASSWORD not in _all_text(at)
    at.text_area(key="wl-add").input("zm").run()
    at.button(key="wl-add-button").click().run()
    assert "ZM" in real_store.watchlist.tickers()
    at.button(key="admin-lock").click().run()
    assert "Add" not in _labels(at)


def test_password_gate_on_the_monitor(scanner_env) -> None:
    at = _page(PAGES[1], secrets={"admin": {"password": PASSWORD}})
    assert "Cancel scan" not in _labels(at)
    at.text_input(key="admin-password-cancel-a-scan-or-release-the-lock").input(PASSWORD).run()
    assert "Cancel scan" in _labels(at) and PASSWORD not in _all_text(at)


@pytest.mark.parametrize("path", ALL_PAGES)
def test_oidc_logged_out_sees_only_the_login(scanner_env, path: str) -> None:
    at = _page(path, secrets={"auth": OIDC, "admin": {"emails": ["boss@example.com"]}},
               user={"is_logged_in": False})
    assert not at.exception
    assert _labels(at) == ["Log in"]
    assert "Please log in to use the Options Scanner." in [i.value for i in at.info]
    assert not at.subheader and not at.dataframe


def test_oidc_named_providers_get_one_button_each(scanner_env) -> None:
    auth = {"redirect_uri": OIDC["redirect_uri"], "cookie_secret": "x",
            "google": {"client_id": "a", "client_secret": "b", "server_metadata_url": "https://g/x"},
            "okta": {"client_id": "a", "client_secret": "b", "server_metadata_url": "https://o/x"}}
    at = _page(secrets={"auth": auth}, user={"is_logged_in": False})
    assert _labels(at) == ["Log in with google", "Log in with okta"]


def test_oidc_non_admin_may_look_but_not_edit(scanner_env) -> None:
    at = _page(secrets={"auth": OIDC, "admin": {"emails": ["boss@example.com"]}},
               user={"is_logged_in": True, "email": "analyst@example.com"})
    assert not at.exception
    assert "Add" not in _labels(at) and "Log out" in _labels(at)
    assert any("analyst@example.com is not on the admin list" in i.value for i in at.info)
    assert [s.value for s in at.subheader] == ["Watch-list", "Criteria"]
    assert at.get("download_button")  # looking and exporting are allowed


def test_oidc_admin_may_edit_and_unverified_email_may_not(scanner_env, real_store: ScanStore) -> None:
    secrets = {"auth": OIDC, "admin": {"emails": ["Boss@Example.com", "other@example.com"]}}
    at = _page(secrets=secrets, user={"is_logged_in": True, "email": "boss@example.com"})
    assert "Add" in _labels(at)
    assert any(c.value == "Signed in as **boss@example.com** (admin)" for c in at.sidebar.caption)
    at.multiselect(key="wl-pick").select("AAPL").run()
    at.button(key="wl-deactivate").click().run()
    assert "AAPL" not in real_store.watchlist.tickers()
    unverified = _page(secrets=secrets, user={"is_logged_in": True, "email": "boss@example.com",
                                              "email_verified": False})
    assert "Add" not in _labels(unverified)


def test_no_secret_reaches_the_page(scanner_env) -> None:
    secrets = {"auth": OIDC, "admin": {"emails": ["boss@example.com"], "password": PASSWORD}}
    for path in ALL_PAGES:
        text = _all_text(_page(path, secrets=secrets, user={"is_logged_in": True, "email": "boss@example.com"}))
        for secret in (PASSWORD, OIDC["client_secret"], OIDC["cookie_secret"]):
            assert secret not in text
