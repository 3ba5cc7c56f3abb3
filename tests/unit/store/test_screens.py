"""Saved screens and their channels: per owner, validated, renamed and deleted atomically, URLs only ever masked."""

from __future__ import annotations

import pytest

from scanner.errors import SettingsError
from scanner.results.filters import Filters
from scanner.results.screens import screen_filters, screen_link, screen_query
from scanner.store.scans import ScanStore
from scanner.store.screens import Screen, ScreensRecord, masked_url, owners

SLACK = "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ"
TELEGRAM = "tgram://123456789:AABBccddEEFFggHHiiJJkkLLmm/12345678/"
MAIL = "mailto://bob:s3cretPW@localhost:2525?from=a@example.com&to=b@example.com"


def test_a_screen_is_saved_whole_renamed_and_deleted(fake_store: ScanStore) -> None:
    record = ScreensRecord(fake_store.client, fake_store.keys)
    query = screen_query("min_ann=40&side=put", Filters.for_criteria({}))
    saved = record.save("  High   puts ", query)
    assert saved.name == "High puts" and saved.query["delta_min"] == "-0.2" and saved.query["dte_min"] == ""
    assert screen_filters(saved) == Filters(side="put", min_annualized=40.0, delta_min=-0.2, delta_max=0.0)
    record.add_channel("High puts", SLACK)
    renamed = record.rename("High puts", "Rich puts")
    assert [s.name for s in record.list()] == ["Rich puts"] and len(renamed.channels) == 1
    with pytest.raises(SettingsError, match="no saved screen named 'High puts'"):
        record.get("High puts")
    record.delete("Rich puts")
    assert record.list() == [] and owners(fake_store.client, fake_store.keys) == []


def test_each_users_screens_are_their_own(fake_store: ScanStore) -> None:
    ann = ScreensRecord(fake_store.client, fake_store.keys, "Ann@Example.com")
    bob = ScreensRecord(fake_store.client, fake_store.keys, "bob@example.com")
    shared = ScreensRecord(fake_store.client, fake_store.keys)
    ann.save("mine", {"side": "put"})
    assert bob.list() == [] and shared.list() == []
    assert owners(fake_store.client, fake_store.keys) == ["ann@example.com"]


@pytest.mark.parametrize(("query", "says"), [
    ("min_ann=abc", "min_ann='abc': not a number"),
    ("zz=1&min_ann=40", "unknown filter parameters: zz"),
    ("delta_min=0.5&delta_max=0.1", "the minimum is above the maximum"),
])
def test_a_bad_query_is_refused_naming_the_parameter(fake_store: ScanStore, query: str, says: str) -> None:
    with pytest.raises(SettingsError, match=says):
        screen_query(query, Filters())


def test_bad_names_and_urls_are_refused_and_nothing_saved(fake_store: ScanStore) -> None:
    record = ScreensRecord(fake_store.client, fake_store.keys)
    for name in ("", "x" * 61, "tab\there\x00"):
        with pytest.raises(SettingsError):
            record.save(name, {})
    record.save("s", {})
    with pytest.raises(SettingsError, match="scheme 'foo'"):
        record.add_channel("s", "foo://secret-token@host")
    with pytest.raises(SettingsError, match="no alert channel"):
        record.remove_channel("nope")
    assert record.get("s").channels == ()


@pytest.mark.parametrize(("url", "secret"), [(SLACK, "TIiajkdnlazkcOXrIdevi7FQ"),
                                             (TELEGRAM, "AABBccddEEFFggHHiiJJkkLLmm"), (MAIL, "s3cretPW")])
def test_a_channel_shows_only_apprises_privacy_form(fake_store: ScanStore, url: str, secret: str) -> None:
    record = ScreensRecord(fake_store.client, fake_store.keys)
    record.save("s", {})
    channel = record.add_channel("s", url)
    assert secret not in channel.masked and secret not in repr(channel) and secret not in masked_url(url)
    assert channel.masked.split("://")[0] == url.split("://")[0]
    assert record.remove_channel(channel.channel_id).channels == ()


def test_the_link_opens_the_screens_view() -> None:
    screen = Screen("s", {"side": "put", "min_ann": "40", "q": ""})
    assert screen_link("https://scanner.example.com", screen) == "https://scanner.example.com/?side=put&min_ann=40&q="
    assert screen_link("", screen) == ""
