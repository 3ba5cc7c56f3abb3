"""Saved screens and their alert channels in Redis (``Keys.screens``), one owner's at a time.

A screen is a named filter state, stored whole (every field, defaults included: ``screens.full_query``), so it
means the same after a new scan moves the defaults. With login each user (e-mail) owns theirs; without, the owner
is '' and the screens are shared. Edits are read-modify-write under WATCH, so two edits at once never lose one.
A channel is an Apprise URL, which holds secrets (user-info, and path tokens for Slack or Telegram): only
``Channel.masked`` (Apprise's own privacy form) is ever shown, logged or exported.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import apprise
import redis

from scanner.errors import SettingsError
from scanner.store.connection import Client
from scanner.store.keys import Keys

# Apprise logs the URL it could not parse or send to, secrets and all: its own lines never reach a log here (every
# outcome is recorded by the alerts module with the masked URL instead).
logging.getLogger("apprise").setLevel(logging.CRITICAL + 1)

MAX_NAME = 60
MAX_SCREENS = 100
MAX_CHANNELS = 10


def _apprise_plugin(url: str) -> Any | None:
    """The Apprise plugin for ``url``, or None when Apprise supports no such URL."""
    return apprise.Apprise.instantiate(url.strip(), suppress_exceptions=True)


def masked_url(url: str) -> str:
    """The URL as Apprise's privacy form shows it: passwords and tokens (user-info and path) cut to their ends."""
    plugin = _apprise_plugin(url)
    return plugin.url(privacy=True) if plugin is not None else "(an unsupported URL)"


@dataclass(frozen=True)
class Channel:
    channel_id: str
    url: str = field(repr=False)

    @property
    def masked(self) -> str:
        return masked_url(self.url)

    def to_dict(self) -> dict[str, str]:
        return {"id": self.channel_id, "url": self.url}


@dataclass(frozen=True)
class Screen:
    name: str
    query: dict[str, str]  # every filter's URL parameter (results.filters.QUERY_NAMES), defaults included
    channels: tuple[Channel, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"query": self.query, "channels": [c.to_dict() for c in self.channels]}

    @classmethod
    def from_dict(cls, name: str, raw: Any) -> Screen | None:
        if not isinstance(raw, dict) or not isinstance(raw.get("query"), dict):
            return None
        channels = tuple(Channel(str(c["id"]), str(c["url"])) for c in raw.get("channels", [])
                         if isinstance(c, dict) and "id" in c and "url" in c)
        return cls(name, {str(k): str(v) for k, v in raw["query"].items()}, channels)


def screen_name(raw: str) -> str:
    """A name as typed, trimmed; SettingsError when empty, too long or holding control characters."""
    name = " ".join(str(raw).split())
    if not name:
        raise SettingsError("a screen needs a name")
    if len(name) > MAX_NAME or not name.isprintable():
        raise SettingsError(f"a screen name is at most {MAX_NAME} printable characters")
    return name


def channel_url(raw: str) -> str:
    """An Apprise URL Apprise supports; SettingsError (naming only its scheme) otherwise."""
    url = str(raw).strip()
    if _apprise_plugin(url) is None:
        scheme = url.split("://", 1)[0][:20] if "://" in url else "(none)"
        raise SettingsError(f"not an alert URL Apprise supports (scheme {scheme!r}): see the Apprise URL list")
    return url


def owners(client: Client, keys: Keys) -> list[str]:
    """Every owner with saved screens (what a finished scan alerts for)."""
    return sorted(client.hkeys(keys.screens))


class ScreensRecord:
    """One owner's saved screens."""

    def __init__(self, client: Client, keys: Keys, owner: str = "") -> None:
        self._client = client
        self._key = keys.screens
        self.owner = owner.strip().lower()

    def _decode(self, raw: str | None) -> dict[str, Screen]:
        try:
            loaded = json.loads(raw) if raw else {}
        except ValueError:
            loaded = {}
        screens = {name: Screen.from_dict(name, value) for name, value in (loaded or {}).items()}
        return {name: screen for name, screen in screens.items() if screen is not None}

    def list(self) -> list[Screen]:
        return sorted(self._decode(self._client.hget(self._key, self.owner)).values(), key=lambda s: s.name.lower())

    def get(self, name: str) -> Screen:
        screens = self._decode(self._client.hget(self._key, self.owner))
        if name not in screens:
            raise SettingsError(f"no saved screen named {name!r}")
        return screens[name]

    def _update(self, change: Callable[[dict[str, Screen]], Any]) -> Any:
        """Apply ``change`` to this owner's screens atomically (retried if another edit lands in between)."""
        outcome: list[Any] = []

        def transaction(pipe: redis.client.Pipeline) -> None:
            screens = self._decode(pipe.hget(self._key, self.owner))
            outcome[:] = [change(screens)]
            pipe.multi()
            if screens:
                pipe.hset(self._key, self.owner, json.dumps({n: s.to_dict() for n, s in screens.items()}))
            else:
                pipe.hdel(self._key, self.owner)

        self._client.transaction(transaction, self._key)
        return outcome[0]

    def save(self, name: str, query: dict[str, str]) -> Screen:
        """Save (or overwrite) a screen's filters; its channels stay."""
        name = screen_name(name)

        def change(screens: dict[str, Screen]) -> Screen:
            if name not in screens and len(screens) >= MAX_SCREENS:
                raise SettingsError(f"at most {MAX_SCREENS} saved screens")
            old = screens.get(name)
            screens[name] = Screen(name, dict(query), old.channels if old else ())
            return screens[name]

        return self._update(change)

    def rename(self, old: str, new: str) -> Screen:
        new = screen_name(new)

        def change(screens: dict[str, Screen]) -> Screen:
            if old not in screens:
                raise SettingsError(f"no saved screen named {old!r}")
            if new in screens and new != old:
                raise SettingsError(f"a screen named {new!r} exists already")
            screens[new] = replace(screens.pop(old), name=new)
            return screens[new]

        return self._update(change)

    def delete(self, name: str) -> None:
        def change(screens: dict[str, Screen]) -> None:
            if screens.pop(name, None) is None:
                raise SettingsError(f"no saved screen named {name!r}")

        self._update(change)

    def add_channel(self, name: str, url: str) -> Channel:
        url = channel_url(url)

        def change(screens: dict[str, Screen]) -> Channel:
            if name not in screens:
                raise SettingsError(f"no saved screen named {name!r}")
            if len(screens[name].channels) >= MAX_CHANNELS:
                raise SettingsError(f"at most {MAX_CHANNELS} channels per screen")
            channel = Channel(secrets.token_hex(4), url)
            screens[name] = replace(screens[name], channels=(*screens[name].channels, channel))
            return channel

        return self._update(change)

    def remove_channel(self, channel_id: str) -> Screen:
        """Remove the channel ``channel_id`` from whichever of this owner's screens has it."""

        def change(screens: dict[str, Screen]) -> Screen:
            for name, screen in screens.items():
                kept = tuple(c for c in screen.channels if c.channel_id != channel_id)
                if len(kept) != len(screen.channels):
                    screens[name] = replace(screen, channels=kept)
                    return screens[name]
            raise SettingsError(f"no alert channel with id {channel_id!r}")

        return self._update(change)
