"""Alerts on the real embedded server, delivered to real local receivers: an SMTP server (aiosmtpd) gets the e-mail,
an HTTP server the ``json://`` post; a failing channel is retried with backoff, recorded, and never stops the others;
a contract is alerted once per screen per trading day; only completed scans alert."""

from __future__ import annotations

import time

import pandas as pd
import pytest

from scanner.config import Settings
from scanner.scan.alerts import SEND_BACKOFF, Alerter, AlertLog, Delivery
from scanner.store.scans import ScanStatus, ScanStore
from scanner.store.screens import ScreensRecord
from tests.support.alert_servers import PostSink, SmtpSink
from tests.support.rows import known_rows
from tests.support.stored import store_scan

QUERY = {"rules": "1", "side": "put"}  # the scan's matches, puts
NEW_ROW = {"ticker": "NVDA", "side": "put", "expiration": pd.Timestamp("2026-12-18"), "dte": 19, "strike": 110.0,
           "bid": 0.9, "delta": -0.11, "annualized_return_pct": 31.4, "open_interest": 400, "volume": 30,
           "spread_pct": 6.0, "change_pct": 10.0, "otm_pct": 9.0, "option_symbol": "NVDA  261218P00110000",
           "match": True}


@pytest.fixture
def settings(scanner_env: dict[str, str]) -> Settings:
    return Settings.from_env({**scanner_env, "SCANNER_PUBLIC_URL": "https://scanner.example.com"})


def _alerter(settings: Settings, store: ScanStore, waits: list[float] | None = None) -> Alerter:
    return Alerter(settings, store, sleep=(waits if waits is not None else []).append)


def _scan(store: ScanStore, scan_id: str, rows: pd.DataFrame) -> None:
    store_scan(store, scan_id, rows, time.time())


def test_the_email_and_the_json_post_arrive_and_a_failing_channel_does_not_stop_them(
        settings: Settings, real_store: ScanStore) -> None:
    record = ScreensRecord(real_store.client, real_store.keys)
    record.save("Rich puts", QUERY)
    with SmtpSink() as smtp, PostSink() as hook, PostSink(status=500) as broken:
        record.add_channel("Rich puts", f"json://127.0.0.1:{broken.port}/down")
        record.add_channel("Rich puts", f"mailto://127.0.0.1:{smtp.port}?from=alerts@example.com"
                                        "&to=trader@example.com&mode=insecure")
        record.add_channel("Rich puts", f"json://127.0.0.1:{hook.port}/hook")
        _scan(real_store, "a1", known_rows())
        waits: list[float] = []
        sent = _alerter(settings, real_store, waits).after_scan(real_store.get("a1"))
        assert [r.result for r in sent] == [Delivery.FAILED, Delivery.SENT, Delivery.SENT]
        assert sent[0].attempts == len(SEND_BACKOFF) + 1 and waits == list(SEND_BACKOFF)
        assert len(broken.posts) == len(SEND_BACKOFF) + 1
        (mail,) = smtp.messages
        (post,) = hook.posts
    assert mail["Subject"] == post["title"] == "Options scanner: 2 new matches for 'Rich puts'"
    body = mail.get_payload(decode=True).decode() if not mail.is_multipart() else mail.get_payload(0).get_payload(
        decode=True).decode()
    for text in (body, post["message"]):
        assert "AAPL" in text and "MSFT" in text and "200.00" in text and "Ann. %" in text and "Delta" in text
        assert "https://scanner.example.com/?rules=1&side=put" in text
    history = AlertLog(real_store.client, real_store.keys).recent()
    assert [(h.result, h.contracts) for h in history] == [(Delivery.SENT, 2), (Delivery.SENT, 2), (Delivery.FAILED, 2)]


def test_the_same_matches_alert_once_and_a_new_match_alone(settings: Settings, real_store: ScanStore) -> None:
    record = ScreensRecord(real_store.client, real_store.keys)
    record.save("Rich puts", QUERY)
    with PostSink() as hook:
        record.add_channel("Rich puts", f"json://127.0.0.1:{hook.port}/hook")
        alerter = _alerter(settings, real_store)
        _scan(real_store, "b1", known_rows())
        assert len(alerter.after_scan(real_store.get("b1"))) == 1
        _scan(real_store, "b2", known_rows())
        assert alerter.after_scan(real_store.get("b2")) == [] and len(hook.posts) == 1
        _scan(real_store, "b3", pd.concat([known_rows(), pd.DataFrame([NEW_ROW])], ignore_index=True))
        (sent,) = alerter.after_scan(real_store.get("b3"))
        assert sent.contracts == 1 and sent.symbols == "NVDA  261218P00110000"
    new = hook.posts[1]
    assert new["title"] == "Options scanner: 1 new match for 'Rich puts'"
    assert "NVDA" in new["message"] and "AAPL" not in new["message"] and "MSFT" not in new["message"]


def test_a_scan_that_did_not_complete_alerts_nothing(settings: Settings, real_store: ScanStore) -> None:
    record = ScreensRecord(real_store.client, real_store.keys)
    record.save("Rich puts", QUERY)
    with PostSink() as hook:
        record.add_channel("Rich puts", f"json://127.0.0.1:{hook.port}/hook")
        real_store.create("c1", provider="demo", provider_label="Demo", criteria={}, tickers=["AAPL"])
        real_store.finish("c1", ScanStatus.CANCELLED, "Cancelled.")
        assert _alerter(settings, real_store).after_scan(real_store.get("c1")) == [] and hook.posts == []


def test_a_test_alert_goes_to_every_channel_and_is_recorded_as_a_test(settings: Settings,
                                                                      real_store: ScanStore) -> None:
    record = ScreensRecord(real_store.client, real_store.keys)
    record.save("Rich puts", QUERY)
    _scan(real_store, "d1", known_rows())
    with PostSink() as hook:
        record.add_channel("Rich puts", f"json://127.0.0.1:{hook.port}/hook")
        (sent,) = _alerter(settings, real_store).test("", "Rich puts")
        assert sent.result == Delivery.SENT and sent.test
        assert hook.posts[0]["title"].startswith("[test] Options scanner: 2 new matches")
    # a test alert marks nothing: the scan's own alert still goes out
    with PostSink() as hook:
        record.remove_channel(sent.channel_id)
        record.add_channel("Rich puts", f"json://127.0.0.1:{hook.port}/hook")
        assert len(_alerter(settings, real_store).after_scan(real_store.get("d1"))) == 1


def test_a_cli_scan_alerts_after_its_end_is_recorded_and_a_dead_channel_never_fails_it(
        scanner_env: dict[str, str], real_store: ScanStore) -> None:
    from tests.support.processes import run_cli

    # demo matches at any hour, on any day (its earnings may fall inside every expiration)
    real_store.criteria.save({"min_put_annualized": 0.0, "put_delta_floor": -1.0, "earnings": "flag"})
    record = ScreensRecord(real_store.client, real_store.keys)
    record.save("All matches", {"rules": "1", "side": "both"})
    with PostSink() as hook:
        record.add_channel("All matches", "json://127.0.0.1:1/nobody-listens")
        record.add_channel("All matches", f"json://127.0.0.1:{hook.port}/hook")
        scan = run_cli(["scan", "--tickers", "AAPL,MSFT"], scanner_env)
        assert scan.returncode == 0 and " completed: " in scan.stdout, scan.stderr
        (post,) = hook.posts
    latest = real_store.get(real_store.latest_id())
    assert latest.status == ScanStatus.COMPLETED and latest.matches > 0
    assert post["title"].startswith(f"Options scanner: {latest.matches} new match")
    history = AlertLog(real_store.client, real_store.keys).recent()
    assert sorted(h.result for h in history) == [Delivery.FAILED, Delivery.SENT]
    assert all(h.scan_id == latest.scan_id for h in history)


def test_a_scan_run_with_a_users_book_alerts_others_screens_without_it(settings: Settings,
                                                                       real_store: ScanStore) -> None:
    """Ann's book added NVDA for its calls: her screen alerts them, Bob's only what the scan has without her book."""
    from scanner.scan.engine import ScanRequest, begin_scan, run_scan
    from scanner.store.positions import PositionsRecord

    PositionsRecord(real_store.client, real_store.keys, "ann@example.com").add_stock("NVDA", 100, 1.0)
    real_store.criteria.save({"min_put_annualized": 0, "min_call_annualized": 0, "earnings": "flag"})  # on any day
    with PostSink() as ann, PostSink() as bob:
        for user, hook in (("ann@example.com", ann), ("bob@example.com", bob)):
            record = ScreensRecord(real_store.client, real_store.keys, user)
            record.save("Everything", {"rules": "1", "side": "both"})
            record.add_channel("Everything", f"json://127.0.0.1:{hook.port}/hook")
        started = begin_scan(settings, real_store, ScanRequest(tickers=["MSFT"], side="put", weeks=1,
                                                               book_user="ann@example.com"))
        meta = run_scan(settings, real_store, started.scan_id, started.token)  # alerts once it has ended
        rows = real_store.results(meta.scan_id).frame
        assert rows[rows.ticker == "NVDA"]["match"].any()  # calls above Ann's basis match
    ((to_ann,), (to_bob,)) = ann.posts, bob.posts
    assert "NVDA" in to_ann["message"] and "MSFT" in to_ann["message"]
    assert "NVDA" not in to_bob["message"] and "MSFT" in to_bob["message"]
