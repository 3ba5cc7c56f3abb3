"""Access control for every page, from ``.streamlit/secrets.toml``.

Three modes, picked by what the secrets hold:
- ``oidc``: an ``[auth]`` section (Streamlit's OpenID Connect login). Every page requires ``st.login``; admin
  actions are limited to the e-mails in ``[admin] emails``.
- ``password``: no ``[auth]`` but ``[admin] password``. Anyone may look; admin actions need the password,
  compared in constant time, once per browser session. It is never shown, logged or kept in a widget.
- ``open``: neither. The app runs open for local use and says so in the sidebar.

The admin secrets live in a section rather than at the top level because Streamlit copies top-level string
secrets into the process environment.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

import streamlit as st
from streamlit.errors import StreamlitSecretNotFoundError

_UNLOCKED = "_admin_unlocked"
_WRONG = "_admin_wrong_password"


class AccessMode(Enum):
    """How access works here, picked by what the secrets hold (the module docstring says each)."""

    OIDC = "oidc"
    PASSWORD = "password"
    OPEN = "open"


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


def _secrets() -> Mapping[str, Any]:
    """The secrets, or {} when there is no secrets file. An unreadable file stops the page: running open
    because of a typo in secrets.toml would drop the protection it was meant to configure."""
    try:
        return st.secrets.to_dict()
    except StreamlitSecretNotFoundError as exc:
        if getattr(exc, "error_id", None) == "no-secrets-found":
            return {}
        st.error("Access control is misconfigured: .streamlit/secrets.toml could not be read. "
                 "Fix the file and reload; the app stays closed until then.")
        st.stop()


def _admin_emails(admin: Mapping[str, Any]) -> set[str]:
    raw = admin.get("emails", [])
    items = raw.split(",") if isinstance(raw, str) else raw if isinstance(raw, list) else []
    return {str(item).strip().lower() for item in items if str(item).strip()}


def current_access() -> Access:
    secrets = _secrets()
    admin = secrets.get("admin") if isinstance(secrets.get("admin"), Mapping) else {}
    if isinstance(secrets.get("auth"), Mapping):
        user = st.user.to_dict()
        logged_in = bool(user.get("is_logged_in"))
        email = str(user.get("email") or "").strip().lower() or None
        verified = user.get("email_verified", True) is not False
        return Access(AccessMode.OIDC, email, logged_in,
                      admin=logged_in and verified and email is not None and email in _admin_emails(admin))
    if isinstance(admin.get("password"), str) and admin["password"]:
        return Access(AccessMode.PASSWORD, None, False, admin=bool(st.session_state.get(_UNLOCKED)))
    return Access(AccessMode.OPEN, None, False, admin=True)


def _providers() -> list[str | None]:
    """st.login's provider names: None for a provider configured in [auth] itself, else [auth.<name>]."""
    auth = _secrets()["auth"]
    named = [name for name, value in auth.items() if isinstance(value, Mapping)]
    return ([None] if "client_id" in auth or not named else []) + named


def _login_buttons() -> None:
    for provider in _providers():
        label = "Log in" if provider is None else f"Log in with {provider}"
        st.button(label, key=f"login-{provider or 'default'}", on_click=st.login, args=(provider,) if provider else ())


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
    return access


def _lock() -> None:
    st.session_state[_UNLOCKED] = False


def _check_password(key: str) -> None:
    """Widget callback: compare in constant time, then clear the widget so the password is not kept."""
    given = str(st.session_state.get(key) or "")
    st.session_state[key] = ""
    secret = str(_secrets().get("admin", {}).get("password", ""))
    ok = bool(secret) and hmac.compare_digest(given.encode(), secret.encode())
    st.session_state[_UNLOCKED] = ok
    st.session_state[_WRONG] = bool(given) and not ok


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
        if st.session_state.get(_WRONG):
            st.error("Wrong admin password.")
    elif access.logged_in:
        st.info(f"Only admins may {action}; {access.email or 'your account'} is not on the admin list.")
    else:
        st.info(f"Log in as an admin to {action}.")
        _login_buttons()
    return False
