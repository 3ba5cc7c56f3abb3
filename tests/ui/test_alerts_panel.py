"""AppTest of the criteria page's alerts against the real embedded server and a real local HTTP receiver: a channel
added (shown only masked), a test alert sent and in the history, an unsupported URL refused, a channel removed."""

from __future__ import annotations

import time

from streamlit.testing.v1 import AppTest

from scanner.store.scans import ScanStore
from scanner.store.screens import ScreensRecord
from tests.support.alert_servers import PostSink
from tests.support.paths import ROOT
from tests.support.rows import known_rows
from tests.support.stored import store_scan

PASSWORD = "hook-pw-93c1"


def _click(at: AppTest, label: str) -> AppTest:
    (button,) = [b for b in at.button if b.label == label]
    return button.click().run()


def test_a_channel_is_added_masked_tested_and_removed(real_store: ScanStore) -> None:
    store_scan(real_store, "s1", known_rows(), time.time() - 60)
    record = ScreensRecord(real_store.client, real_store.keys)
    record.save("Rich puts", {"rules": "1"})
    with PostSink() as hook:
        at = AppTest.from_file(str(ROOT / "pages" / "settings.py"), default_timeout=60).run()
        (url,) = [t for t in at.text_input if t.label == "Add a channel (Apprise URL)"]
        url.set_value("foo://nothing")
        at = _click(at, "Add channel")
        assert [e.value for e in at.error][0].startswith("Nothing was changed: not an alert URL Apprise supports")
        (url,) = [t for t in at.text_input if t.label == "Add a channel (Apprise URL)"]
        url.set_value(f"json://bot:{PASSWORD}@127.0.0.1:{hook.port}/hook")
        at = _click(at, "Add channel")
        assert not at.exception and len(record.get("Rich puts").channels) == 1
        at = _click(at, "Send test alert")
        assert [s.value for s in at.success] == ["Test alert of 'Rich puts' sent to 1 channel(s)."]
        assert hook.posts[0]["title"] == "[test] Options scanner: 2 new matches for 'Rich puts'"
    shown = [c.value for c in at.code] + [str(d.value.to_dict()) for d in at.dataframe]
    assert any("bot:****@127.0.0.1" in text for text in shown) and not any(PASSWORD in text for text in shown)
    assert any("'result': {0: 'sent'}" in text for text in shown)  # the history table
    (channel,) = record.get("Rich puts").channels
    at = at.button(key=f"alert-remove-{channel.channel_id}").click().run()
    assert not at.exception and record.get("Rich puts").channels == ()
