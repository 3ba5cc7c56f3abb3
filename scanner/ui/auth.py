"""Access control for every page, from ``.streamlit/secrets.toml``.

Three modes, picked by what the secrets hold (``access_config`` reads and checks them):
- ``oidc``: an ``[auth]`` section (Streamlit's OpenID Connect login). Every page requires ``st.login``; admin
  actions are limited to the e-mails in ``[admin] emails`` whose provider says ``email_verified = true`` (or, for
  a provider listed in ``[admin] providers_without_email_verified``, sends no such claim at all).
- ``password``: no ``[auth]`` but ``[admin] password``. Anyone may look; admin actions need the password, compared
  in constant time. It is never shown, logged or kept in a widget. Wrong ones are slowed down per session and
  counted in Redis per client address, which is locked out for a while past a threshold; an unlock is a record
  in Redis with an expiry, holding a fingerprint of the password, address and browser it was granted under.
- ``open``: neither ``[admin]`` nor ``[auth]`` at all. The app runs open for local use and says so in the sidebar
  (with a warning when the server listens beyond loopback).

Anything else (a section present but unusable, an access-like key misplaced) closes the app with a message naming
the key, never its value: a typo must not turn protection off. The admin secrets live in a section rather than at
the top level because Streamlit copies top-level string secrets into the process environment.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import secrets as token_source
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, NoReturn

import streamlit as st
from streamlit import config as streamlit_config
from streamlit.errors import StreamlitSecretNotFoundError
from streamlit.web.server.starlette.starlette_app_utils import decode_xsrf_token_string
from streamlit.web.server.starlette.starlette_server_config import XSRF_COOKIE_NAME

from scanner.config import Settings
from scanner.errors import REDIS_ERRORS, ConfigError, RedisFailure
from scanner.store.connection import Client, connect
from scanner.store.keys import Keys

_TOKEN = "_admin_unlock_token"  # session state: the id of this session's unlock record in Redis
_FAILURES = "_admin_password_failures"  # session state: wrong passwords in this session (its growing delay)
_REFUSAL = "_admin_password_refusal"  # session state: why the last entry did not unlock, shown once
_log = logging.getLogger(__name__)
_sleep = time.sleep  # the delay after a wrong password (a test records it instead of waiting)
_SALT = token_source.token_bytes(32)
"""The fingerprints' HMAC key: per process, never stored, so Redis alone cannot be used to test guesses offline
(an unlock lives in this process's session state anyway, so no other replica needs to check it)."""

ADMIN_KEYS = frozenset({"password", "emails", "providers_without_email_verified"})
PROVIDER_KEYS = ("client_id", "client_secret", "server_metadata_url")
_ACCESS_WORDS = ("admin", "auth", "password", "passwd", "login", "oidc")
_AUTH_KEYS = frozenset({"redirect_uri", "cookie_secret", *PROVIDER_KEYS, "emails"})
LOCAL = "local"
"""The client address of a loopback connection (Streamlit reports none for it): all local tabs share one count."""


class AccessMode(Enum):
    """How access works here, picked by what the secrets hold (the module docstring says each)."""

    OIDC = "oidc"
    PASSWORD = "password"
    OPEN = "open"


@dataclass(frozen=True)
class GuessPolicy:
    """How wrong admin passwords are slowed down and locked out."""

    threshold: int = 10  # wrong passwords from one address within the window that lock it out
    window_seconds: int = 900  # the count's lifetime from its first failure, so also the longest lock-out
    first_delay: float = 0.5  # seconds after a session's first wrong password, doubling with each next one
    max_delay: float = 8.0
    unlock_seconds: int = 3600  # how long an unlock lasts before the password is asked again

    def delay(self, failures: int) -> float:
        """The wait after a session's ``failures``-th wrong password."""
        return min(self.first_delay * 2 ** (failures - 1), self.max_delay)


POLICY = GuessPolicy()


@dataclass(frozen=True)
class AccessConfig:
    """What the secrets configure, checked (``access_config``)."""

    mode: AccessMode
    password: str | None = field(default=None, repr=False)
    admin_emails: frozenset[str] = frozenset()
    providers_without_email_verified: frozenset[str] = frozenset()
    auth: Mapping[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class Access:
    mode: AccessMode
    email: str | None  # the signed-in user (oidc only)
    logged_in: bool
    admin: bool

    @property
    def actor(self) -> str:
        """Who did it, as recorded on a scan (never a secret)."""
        if self.mode is AccessMode.OIDC:
            return self.email or "unknown user"
        return "admin (password)" if self.mode is AccessMode.PASSWORD else "open access"


def _misconfigured(what: str) -> ConfigError:
    return ConfigError(f"{what} in .streamlit/secrets.toml")


def _text(section: Mapping[str, Any], name: str, where: str) -> str:
    value = section.get(name)
    if not isinstance(value, str) or not value.strip():
        raise _misconfigured(f"`{where} {name}` must be a non-empty quoted string")
    return value


def _names(section: Mapping[str, Any], name: str, what: str) -> frozenset[str]:
    """A list of strings (or one comma-separated string), lower-cased."""
    raw = section.get(name, [])
    items = raw.split(",") if isinstance(raw, str) else raw
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise _misconfigured(f"`[admin] {name}` must be a list of {what} in quotes")
    return frozenset(item.strip().lower() for item in items if item.strip())


def _check_auth(auth: Any) -> Mapping[str, Any]:
    """Streamlit's ``[auth]``: its own keys, and a provider in the section itself or one ``[auth.<name>]`` each."""
    if not isinstance(auth, Mapping):
        raise _misconfigured("`auth` must be an [auth] table")
    _text(auth, "redirect_uri", "[auth]")
    _text(auth, "cookie_secret", "[auth]")
    named = {name: value for name, value in auth.items() if isinstance(value, Mapping) and name != "client_kwargs"}
    if not named and "client_id" not in auth:
        raise _misconfigured("`[auth]` names no provider (client_id ..., or an [auth.<name>] table)")
    if "client_id" in auth:
        for key in PROVIDER_KEYS:
            _text(auth, key, "[auth]")
    for name, provider in named.items():
        for key in PROVIDER_KEYS:
            _text(provider, key, f"[auth.{name}]")
    return auth


def access_config(secrets: Mapping[str, Any]) -> AccessConfig:
    """The access configuration the secrets hold, or a ``ConfigError`` naming the key that is wrong (never its
    value). Open mode only when neither ``admin`` nor ``auth`` is there at all and nothing looks like them."""
    for key in secrets:
        lowered = key.lower()
        if key not in ("admin", "auth") and (lowered in _AUTH_KEYS or any(w in lowered for w in _ACCESS_WORDS)):
            raise _misconfigured(f"`{key}` at the top level looks like an access setting; those belong in the "
                                 "[admin] or [auth] table, spelled in lower case")
    admin = secrets.get("admin", {})
    if not isinstance(admin, Mapping):
        raise _misconfigured("`admin` must be an [admin] table")
    for key in admin:
        if key not in ADMIN_KEYS:
            raise _misconfigured(f"`[admin] {key}` is not a setting (known: {', '.join(sorted(ADMIN_KEYS))})")
    if "password" in admin:
        _text(admin, "password", "[admin]")
    emails = _names(admin, "emails", "e-mail addresses")
    unverified = _names(admin, "providers_without_email_verified", "provider names")
    if "auth" in secrets:
        return AccessConfig(AccessMode.OIDC, admin_emails=emails, providers_without_email_verified=unverified,
                            auth=_check_auth(secrets["auth"]))
    if "admin" in secrets:
        return AccessConfig(AccessMode.PASSWORD, password=_text(admin, "password", "[admin]"))
    return AccessConfig(AccessMode.OPEN)


def _secrets() -> Mapping[str, Any]:
    """The secrets, or {} when there is no secrets file; an unreadable file stops the page."""
    try:
        return st.secrets.to_dict()
    except StreamlitSecretNotFoundError as exc:
        if getattr(exc, "error_id", None) == "no-secrets-found":
            return {}
        _closed(".streamlit/secrets.toml could not be read")


def _closed(reason: str) -> NoReturn:
    st.error(f"Access control is misconfigured: {reason}. Fix it and reload; the app stays closed until then.")
    st.stop()


def _config() -> AccessConfig:
    try:
        return access_config(_secrets())
    except ConfigError as exc:
        _closed(str(exc))


def email_verified(user: Mapping[str, Any], config: AccessConfig) -> bool:
    """``email_verified`` exactly true; a missing claim passes only for a provider the secrets say never sends it."""
    if "email_verified" not in user:
        return str(user.get("provider") or "").lower() in config.providers_without_email_verified
    return user["email_verified"] is True


# ---- the password gate's records in Redis ----
@st.cache_resource(show_spinner=False)
def _redis(_settings: Settings, location: tuple[str | None, str]) -> Client:
    """One client per process and Redis location (it reconnects by itself)."""
    return connect(_settings)


def _gate_store() -> tuple[Client, Keys]:
    """Redis and the keys of the password gate; raises ``RedisFailure`` (or ``ConfigError``) when unusable."""
    settings = Settings.from_env()
    return _redis(settings, (settings.redis_url, str(settings.data_dir))), Keys(settings.prefix)


def client_address() -> str:
    """The address wrong passwords are counted under: the connection's IP, or ``LOCAL`` for loopback."""
    address = st.context.ip_address
    return address if isinstance(address, str) and address else LOCAL  # AppTest's connection answers a mock


def browser_id() -> str:
    """The browser's XSRF token (Streamlit's ``_streamlit_xsrf`` cookie, unmasked: it keeps its token across
    re-issues), which a client presenting only a session id does not have; empty without the cookie."""
    cookie = st.context.cookies.get(XSRF_COOKIE_NAME)
    token, _ = decode_xsrf_token_string(cookie) if isinstance(cookie, str) else (None, None)
    return token.hex() if token else ""


def fingerprint(password: str, client: str) -> str:
    """What an unlock record holds: an HMAC of the password and client (address and browser) under the salt."""
    return hmac.new(_SALT, f"{client}\0{password}".encode(), hashlib.sha256).hexdigest()


def _client() -> str:
    """Who an unlock is granted to: this address and this browser."""
    return f"{client_address()} {browser_id()}"


def _unlocked(config: AccessConfig) -> bool:
    """Whether this session holds an unlock whose record is still in Redis, for this password and address."""
    token = st.session_state.get(_TOKEN)
    if not token or config.password is None:
        return False
    try:
        redis, keys = _gate_store()
        held = redis.get(keys.admin_unlock(token))
    except (*REDIS_ERRORS, RedisFailure, ConfigError):
        return False  # fail closed: no record can be read
    return held is not None and hmac.compare_digest(held, fingerprint(config.password, _client()))


def _lock() -> None:
    """End this session's unlock (its record first, so another holder of the token gains nothing)."""
    token = st.session_state.pop(_TOKEN, None)
    if token:
        try:
            redis, keys = _gate_store()
            redis.delete(keys.admin_unlock(token))
        except (*REDIS_ERRORS, RedisFailure, ConfigError):
            pass  # the record then ends at its expiry; the session no longer holds its token


def _locked_out(redis: Client, keys: Keys, address: str) -> int:
    """Seconds the address stays locked out, 0 when it is not."""
    failures = keys.password_failures(address)
    count = int(redis.get(failures) or 0)
    return max(int(redis.ttl(failures)), 1) if count >= POLICY.threshold else 0


def _count_failure(redis: Client, keys: Keys, address: str) -> int:
    """Count one wrong password from ``address`` (the window starts at its first); the count so far."""
    failures = keys.password_failures(address)
    with redis.pipeline(transaction=True) as pipe:
        pipe.set(failures, 0, ex=POLICY.window_seconds, nx=True)
        pipe.incr(failures)
        return int(pipe.execute()[1])


def _in_minutes(seconds: int) -> str:
    minutes = -(-seconds // 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def _check_password(key: str) -> None:
    """Widget callback: clear the widget at once (the password is not kept), refuse while the address is locked out,
    compare in constant time; a right one records an unlock, a wrong one is counted, logged and slowed down."""
    given = str(st.session_state.get(key) or "")
    st.session_state[key] = ""
    config = _config()
    if not given or config.password is None:
        return
    address = client_address()
    try:
        redis, keys = _gate_store()
        locked_for = _locked_out(redis, keys, address)
        if locked_for:
            _log.warning("Admin password entry from %s not checked: locked out for %d s more", address, locked_for)
            st.session_state[_REFUSAL] = (f"Too many wrong admin passwords from your address: the password is not "
                                          f"checked for {_in_minutes(locked_for)}.")
            return
        if hmac.compare_digest(given.encode(), config.password.encode()):
            token = token_source.token_urlsafe(32)
            redis.set(keys.admin_unlock(token), fingerprint(config.password, _client()), ex=POLICY.unlock_seconds)
            st.session_state[_TOKEN] = token
            st.session_state[_FAILURES] = 0
            return
        count = _count_failure(redis, keys, address)
    except (*REDIS_ERRORS, RedisFailure, ConfigError):
        st.session_state[_REFUSAL] = "Redis is unavailable, so the password cannot be checked; nothing was unlocked."
        return
    _log.warning("Wrong admin password from %s (%d within %d minutes; %d lock the address out)", address, count,
                 POLICY.window_seconds // 60, POLICY.threshold)
    failures = st.session_state.get(_FAILURES, 0) + 1
    st.session_state[_FAILURES] = failures
    st.session_state[_REFUSAL] = "Wrong admin password."
    _sleep(POLICY.delay(failures))


# ---- what pages call ----
def current_access() -> Access:
    config = _config()
    if config.mode is AccessMode.OIDC:
        user = st.user.to_dict()
        logged_in = bool(user.get("is_logged_in"))
        email = str(user.get("email") or "").strip().lower() or None
        admin = logged_in and email is not None and email in config.admin_emails and email_verified(user, config)
        return Access(AccessMode.OIDC, email, logged_in, admin=admin)
    if config.mode is AccessMode.PASSWORD:
        return Access(AccessMode.PASSWORD, None, False, admin=_unlocked(config))
    return Access(AccessMode.OPEN, None, False, admin=True)


def _providers() -> list[str | None]:
    """st.login's provider names: None for a provider configured in [auth] itself, else [auth.<name>]."""
    auth = _config().auth
    named = [name for name, value in auth.items() if isinstance(value, Mapping) and name != "client_kwargs"]
    return ([None] if "client_id" in auth else []) + named


def _login_buttons() -> None:
    for provider in _providers():
        label = "Log in" if provider is None else f"Log in with {provider}"
        st.button(label, key=f"login-{provider or 'default'}", on_click=st.login, args=(provider,) if provider else ())


def listens_beyond_loopback() -> bool:
    """Whether ``server.address`` lets other machines connect (unset or empty: every interface)."""
    address = str(streamlit_config.get_option("server.address") or "").strip("[]")
    if address == "localhost":
        return False
    try:
        return not ipaddress.ip_address(address).is_loopback
    except ValueError:  # unset, or a host name: it may resolve beyond loopback
        return True


def guard_page() -> Access:
    """Call first on every page: with OIDC, a logged-out visitor sees only a login prompt; the sidebar tells
    everyone how access works here."""
    access = current_access()
    if access.mode is AccessMode.OIDC and not access.logged_in:
        st.info("Please log in to use the Options Scanner.")
        _login_buttons()
        st.stop()
    with st.sidebar:
        if access.mode is AccessMode.OIDC:
            st.caption(f"Signed in as **{access.email}**" + (" (admin)" if access.admin else ""))
            st.button("Log out", key="logout", on_click=st.logout)
        elif access.mode is AccessMode.PASSWORD:
            st.caption("Admin actions unlocked for this session." if access.admin
                       else "Admin actions need the admin password.")
            if access.admin:
                st.button("Lock admin actions", key="admin-lock", on_click=_lock)
        else:
            st.caption("Open access: no login or admin password is configured, so anyone who can reach this app "
                       "may start, cancel and edit (fine for local use; see README, Access control).")
            if listens_beyond_loopback():
                st.warning("Open access, and the server listens beyond this machine (server.address is not a "
                           "loopback address): anyone on the network may start, cancel and edit. Set an admin "
                           "password or a login (README, Access control).")
    return access


def admin_gate(action: str) -> bool:
    """Whether the current user may ``action`` (e.g. "start a scan"); when not, draws why and how (the password
    prompt, the login button or a not-allowed note) in place. Call it once per gated block."""
    access = current_access()
    if access.admin:
        return True
    slug = "".join(ch if ch.isalnum() else "-" for ch in action.lower())
    if access.mode is AccessMode.PASSWORD:
        key = f"admin-password-{slug}"
        st.text_input(f"Admin password (needed to {action})", type="password", key=key,
                      on_change=_check_password, args=(key,))
        refusal = st.session_state.pop(_REFUSAL, None)
        if refusal:
            st.error(refusal)
    elif access.logged_in:
        st.info(f"Only admins may {action}; {access.email or 'your account'} is not on the admin list.")
    else:
        st.info(f"Log in as an admin to {action}.")
        _login_buttons()
    return False
