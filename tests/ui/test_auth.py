"""AppTest of each access-control gate on the real pages: open, admin password (right and wrong), and OIDC
(logged out, non-admin, admin). The admin password never appears on a page.

Then the attacks of issue 14: a mistaken secrets.toml (closed, naming the key), unverified OIDC e-mails, password
guessing (slowed per session, counted in the real Redis per address, locked out) and an unlock that must be a live
record in Redis (an expiry, the password it was granted under). The guessing tests run a one-gate app, so 200
guesses are 200 quick reruns; the delay between them is recorded instead of waited.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

import pytest
from streamlit import config as streamlit_config
from streamlit.testing.v1 import AppTest

from scanner.config import Settings
from scanner.errors import ConfigError
from scanner.store.connection import Client, connect
from scanner.store.keys import Keys
from scanner.store.scans import ScanStore
from scanner.ui import auth
from scanner.ui.auth import POLICY, AccessMode, access_config
from tests.support.paths import ROOT
from tests.support.processes import wait_for

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
    assert "Add" not in _labels(at) and "Save schedule" not in _labels(at) and "Log out" in _labels(at)
    assert any("analyst@example.com is not on the admin list" in i.value for i in at.info)
    assert [s.value for s in at.subheader] == ["Watch-list", "Criteria", "Schedule", "Alerts"]
    assert at.get("download_button")  # looking and exporting are allowed


def test_oidc_admin_may_edit_and_unverified_email_may_not(scanner_env, real_store: ScanStore) -> None:
    secrets = {"auth": OIDC, "admin": {"emails": ["Boss@Example.com", "other@example.com"]}}
    at = _page(secrets=secrets, user={"is_logged_in": True, "email": "boss@example.com", "email_verified": True})
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


# ---- issue 14, item 1: open mode beyond loopback ----
@pytest.fixture
def server_address() -> Iterator[None]:
    """Run with ``server.address = 0.0.0.0``, as an operator who sets it explicitly; restored after."""
    before = streamlit_config.get_option("server.address")
    streamlit_config.set_option("server.address", "0.0.0.0")
    yield
    streamlit_config.set_option("server.address", before)


def test_open_mode_on_loopback_does_not_warn(scanner_env) -> None:
    assert streamlit_config.get_option("server.address") == "127.0.0.1"  # .streamlit/config.toml
    assert not _page().sidebar.warning


def test_open_mode_listening_beyond_loopback_warns_in_the_sidebar(scanner_env, server_address) -> None:
    at = _page()
    assert any("listens beyond this machine" in w.value for w in at.sidebar.warning)


# ---- item 2: a mistaken secrets.toml closes the app ----
MISTAKES = [  # secrets, the key the message names, a value it must not show
    ({"admin": {"password": 12345678}}, "`[admin] password`", "12345678"),
    ({"admin": {"password": True}}, "`[admin] password`", "True"),
    ({"admin": {"password": ""}}, "`[admin] password`", None),
    ({"admin": {"password": "   "}}, "`[admin] password`", None),
    ({"admin": {"emails": ["boss@example.com"]}}, "`[admin] password`", "boss@example.com"),
    ({"admin": {"pasword": "a-secret-typo"}}, "`[admin] pasword`", "a-secret-typo"),
    ({"admin": "a-secret-string"}, "`admin`", "a-secret-string"),
    ({"Admin": {"password": "a-secret-case"}}, "`Admin`", "a-secret-case"),
    ({"admin_password": "a-secret-top"}, "`admin_password`", "a-secret-top"),
    ({"PASSWORD": "a-secret-top"}, "`PASSWORD`", "a-secret-top"),
    ({"cookie_secret": "a-secret-cookie"}, "`cookie_secret`", "a-secret-cookie"),
    ({"auth": "google"}, "`auth`", "google"),
    ({"auth": {"redirect_uri": OIDC["redirect_uri"], "cookie_secret": "a-secret-cookie"}}, "`[auth]`",
     "a-secret-cookie"),
    ({"auth": {**OIDC, "client_secret": 42}}, "`[auth] client_secret`", "42"),
    ({"auth": {**OIDC, "google": {"client_id": "a", "server_metadata_url": "https://g/x"}}},
     "`[auth.google] client_secret`", OIDC["client_secret"]),
    ({"auth": OIDC, "admin": {"emails": "boss@example.com", "password": 7}}, "`[admin] password`", "7"),
    ({"auth": OIDC, "admin": {"emails": [1, 2]}}, "`[admin] emails`", None),
]


@pytest.mark.parametrize(("secrets", "key", "value"), MISTAKES, ids=lambda v: str(v)[:40])
def test_a_mistaken_secrets_file_closes_the_app_naming_the_key(scanner_env, secrets: dict, key: str,
                                                               value: str | None) -> None:
    for path in ("pages/settings.py", "dashboard.py"):
        at = _page(path, secrets=secrets, user={"is_logged_in": True, "email": "boss@example.com",
                                               "email_verified": True})
        assert not at.exception
        [error] = [e.value for e in at.error]
        assert error.startswith("Access control is misconfigured: ") and key in error
        assert value is None or value not in _all_text(at)
        assert not at.button and not at.text_input and not at.subheader and not at.sidebar.caption
    with pytest.raises(ConfigError, match=re.escape(key)):
        access_config(secrets)


def test_open_mode_only_when_neither_admin_nor_auth_is_there() -> None:
    assert access_config({}).mode is AccessMode.OPEN
    assert access_config({"MD_API_KEY": "k", "connections": {"x": {}}}).mode is AccessMode.OPEN
    assert access_config({"admin": {"password": PASSWORD}}).mode is AccessMode.PASSWORD
    assert access_config({"auth": OIDC}).mode is AccessMode.OIDC
    assert PASSWORD not in repr(access_config({"admin": {"password": PASSWORD}}))


# ---- item 3: OIDC admin needs email_verified exactly true ----
ADMINS = {"auth": OIDC, "admin": {"emails": ["boss@example.com"]}}


def _oidc_admin(secrets: dict, **claims) -> bool:
    at = _page(secrets=secrets, user={"is_logged_in": True, "email": "boss@example.com", **claims})
    assert not at.exception
    return "Add" in _labels(at)


@pytest.mark.parametrize("claim", ["false", "true", 0, 1, None, False, "yes"], ids=repr)
def test_oidc_admin_is_refused_unless_email_verified_is_exactly_true(scanner_env, claim) -> None:
    assert not _oidc_admin(ADMINS, email_verified=claim)
    assert _oidc_admin(ADMINS, email_verified=True)


def test_oidc_admin_is_refused_when_email_verified_is_missing(scanner_env) -> None:
    assert not _oidc_admin(ADMINS, provider="default")


def test_a_provider_opted_out_may_omit_email_verified_but_not_send_it_false(scanner_env) -> None:
    secrets = {"auth": OIDC, "admin": {"emails": ["boss@example.com"],
                                       "providers_without_email_verified": ["Default"]}}
    assert _oidc_admin(secrets, provider="default")
    assert not _oidc_admin(secrets, provider="default", email_verified="false")
    assert not _oidc_admin(secrets, provider="okta")  # not opted out


# ---- items 4 and 5: the password gate ----
def _gate_app() -> None:
    import streamlit as st

    from scanner.ui.auth import admin_gate, guard_page

    guard_page()
    st.markdown("unlocked" if admin_gate("test the gate") else "gated")


GATE = "admin-password-test-the-gate"


def _gate(password: str = PASSWORD) -> AppTest:
    at = AppTest.from_function(_gate_app, default_timeout=30)
    at.secrets = {"admin": {"password": password}}
    return at.run()


def _unlocked(at: AppTest) -> bool:
    assert not at.exception
    return at.markdown[-1].value == "unlocked"


def _enter(at: AppTest, text: str) -> AppTest:
    return at.text_input(key=GATE).input(text).run()


@pytest.fixture
def delays(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The waits the gate asks for after wrong passwords, recorded instead of slept."""
    asked: list[float] = []
    monkeypatch.setattr(auth, "_sleep", asked.append)
    return asked


@pytest.fixture
def gate_redis(scanner_env) -> tuple[Client, Keys]:
    settings = Settings.from_env(scanner_env)
    return connect(settings), Keys(settings.prefix)


def test_wrong_passwords_wait_longer_each_time_and_are_logged_without_their_text(
        scanner_env, delays: list[float], caplog: pytest.LogCaptureFixture) -> None:
    at = _gate()
    with caplog.at_level(logging.WARNING, logger="scanner.ui.auth"):
        for guess in ("guess-one", "guess-two", "guess-three", "guess-four"):
            _enter(at, guess)
            assert "Wrong admin password." in [e.value for e in at.error] and not _unlocked(at)
    assert delays == [0.5, 1.0, 2.0, 4.0]
    logged = [r.getMessage() for r in caplog.records if r.name == "scanner.ui.auth"]
    assert len(logged) == 4 and all(m.startswith("Wrong admin password from local") for m in logged)
    assert not any(guess in m for m in logged for guess in ("guess", PASSWORD))
    _enter(at, PASSWORD)
    assert _unlocked(at)


def test_200_wrong_passwords_lock_the_address_out_and_the_right_one_then_does_not_unlock(
        scanner_env, delays: list[float], gate_redis: tuple[Client, Keys], caplog: pytest.LogCaptureFixture) -> None:
    redis, keys = gate_redis
    at = _gate()
    with caplog.at_level(logging.WARNING, logger="scanner.ui.auth"):
        for attempt in range(200):
            _enter(at, f"guess-{attempt}")
        _enter(at, PASSWORD)
    logged = [r.getMessage() for r in caplog.records if r.name == "scanner.ui.auth"]
    assert len(logged) == 201 and sum(m.startswith("Wrong admin password from local") for m in logged) == 10
    assert all("not checked: locked out" in m for m in logged[10:]) and not any("guess-" in m for m in logged)
    assert not _unlocked(at)
    [error] = [e.value for e in at.error]
    assert error.startswith("Too many wrong admin passwords from your address") and "15 minutes" in error
    failures = keys.password_failures(auth.LOCAL)
    assert int(redis.get(failures)) == POLICY.threshold  # counted in Redis; refused entries are not checked
    assert 0 < redis.ttl(failures) <= POLICY.window_seconds
    assert len(delays) == POLICY.threshold
    another_tab = _gate()  # the count is the address's, not the session's
    _enter(another_tab, PASSWORD)
    assert not _unlocked(another_tab)
    redis.delete(failures)  # the window ends
    _enter(another_tab, PASSWORD)
    assert _unlocked(another_tab)


def test_an_unlock_is_a_record_in_redis_with_an_expiry_and_no_password(
        scanner_env, gate_redis: tuple[Client, Keys]) -> None:
    redis, keys = gate_redis
    at = _enter(_gate(), PASSWORD)
    assert _unlocked(at)
    record = keys.admin_unlock(at.session_state[auth._TOKEN])
    assert 0 < redis.ttl(record) <= POLICY.unlock_seconds
    assert PASSWORD not in redis.get(record)
    at.button(key="admin-lock").click().run()
    assert not _unlocked(at) and not redis.exists(record)


def test_an_unlock_ends_when_its_record_expires(scanner_env, gate_redis: tuple[Client, Keys]) -> None:
    redis, keys = gate_redis
    at = _enter(_gate(), PASSWORD)
    record = keys.admin_unlock(at.session_state[auth._TOKEN])
    redis.pexpire(record, 1)
    wait_for(lambda: not redis.exists(record), timeout=10)
    assert not _unlocked(at.run())


def test_a_changed_password_ends_an_unlock(scanner_env) -> None:
    at = _enter(_gate(), PASSWORD)
    assert _unlocked(at)
    at.secrets = {"admin": {"password": "a new passphrase"}}
    assert not _unlocked(at.run())
    assert _unlocked(_enter(at, "a new passphrase"))


def test_session_state_alone_does_not_unlock(scanner_env) -> None:
    at = AppTest.from_function(_gate_app, default_timeout=30)
    at.secrets = {"admin": {"password": PASSWORD}}
    at.session_state["_admin_unlocked"] = True  # the flag an unlock used to be
    at.session_state[auth._TOKEN] = "a-token-with-no-record"
    assert not _unlocked(at.run())


def test_an_unlock_is_bound_to_the_client_address(scanner_env, monkeypatch: pytest.MonkeyPatch) -> None:
    at = _enter(_gate(), PASSWORD)
    assert _unlocked(at)
    monkeypatch.setattr(auth, "client_address", lambda: "203.0.113.9")  # the session resumed from elsewhere
    assert not _unlocked(at.run())


def test_redis_down_keeps_the_gate_closed(scanner_env, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    at = _enter(_gate(), PASSWORD)
    assert not _unlocked(at)
    assert [e.value for e in at.error] == ["Redis is unavailable, so the password cannot be checked; nothing was "
                                           "unlocked."]
