"""AppTest of the schedule against the real embedded server: edited on the criteria page (a bad cron refused with its
reason, nothing saved), the next scheduled scan shown on the main page and the Monitor, scheduled scans marked."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from scanner.scan.schedule import Schedule
from scanner.store.scans import ScanStatus, ScanStore, ScanTrigger
from scanner.store.schedule import ScheduleRecord
from tests.support.paths import ROOT


def _page(name: str) -> AppTest:
    return AppTest.from_file(str(ROOT / "pages" / f"{name}.py"), default_timeout=60).run()


def _click(at: AppTest, label: str) -> AppTest:
    (button,) = [b for b in at.button if b.label == label]
    return button.click().run()


def _captions(at: AppTest) -> list[str]:
    """Captions and markdown as read (the schedule's line is escaped markdown: its backslashes dropped)."""
    return [c.value.replace("\\", "") for c in at.caption] + [m.value.replace("\\", "") for m in at.markdown]


def test_the_schedule_is_set_from_the_criteria_page_and_a_bad_cron_refused(real_store: ScanStore) -> None:
    record = ScheduleRecord(real_store.client, real_store.keys)
    at = _page("settings")
    assert not at.exception and any("No scan is scheduled." in text for text in _captions(at))
    (cron,) = [t for t in at.text_input if t.label.startswith("Cron expression")]
    cron.set_value("61 9 * * 1-5")
    at = _click(at, "Save schedule")
    assert [e.value for e in at.error] == ["Nothing was saved: not a cron expression: '61 9 * * 1-5' (Bad minute)"]
    assert record.load() is None
    (cron,) = [t for t in at.text_input if t.label.startswith("Cron expression")]
    cron.set_value("*/30 9-16 * * 1-5")
    at = _click(at, "Save schedule")
    assert not at.exception and record.load() == Schedule.parse(cron="*/30 9-16 * * 1-5")
    assert any("Next scheduled scan:" in text and "*/30 9-16" in text for text in _captions(at))
    at = _click(at, "Clear schedule")
    assert record.load() is None and [s.value for s in at.success] == ["Schedule cleared: no scan runs by itself."]


def test_the_main_page_and_monitor_show_the_next_scan_and_a_scheduled_scan_as_such(real_store: ScanStore) -> None:
    ScheduleRecord(real_store.client, real_store.keys).save(Schedule.parse(every_minutes=30))
    real_store.create("sched-1", provider="demo", provider_label="Demo", criteria={}, tickers=["AAPL"],
                      trigger=ScanTrigger.SCHEDULE)
    real_store.finish("sched-1", ScanStatus.COMPLETED, "1/1 ticker.")
    for name in ("scan", "monitor"):
        at = _page(name)
        assert not at.exception
        assert any(text.startswith("Next scheduled scan:") and "every 30 minutes" in text for text in _captions(at))
    assert any("by the schedule" in text for text in _captions(_page("monitor")))
    history = _page("history")
    assert not history.exception and list(history.dataframe[0].value["trigger"]) == ["schedule"]
