"""No secret reaches a page, a log line, an export or ``status --json``: a scan runs with known secrets and
every output is searched for them."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import redis
from streamlit.testing.v1 import AppTest

from scanner.config import Settings
from scanner.market.calendar import today_ny, weekly_expirations
from scanner.scan.engine import ScanRequest, start_background
from scanner.scan.launcher import NETWORK_ENV, child_env, log_path
from scanner.store.connection import mask_url
from scanner.store.scans import FINISHED, open_store
from tests.support.http_replay import Answer, ReplayServer, chain_payload
from tests.support.paths import ROOT
from tests.support.processes import LONG_SCAN, run_cli, wait_for
from tests.support.redis_servers import make_tls_files, redis7_binary

REDIS_PASSWORD = "pw-7f3c9a51e2b84d06"
API_KEY = "mdkey-0c2e5b7d9a4f4e61b3"
CHANNEL_PASSWORD = "hookpw-7d41c2a9"
CHANNEL_URL = f"json://bot:{CHANNEL_PASSWORD}@127.0.0.1:1/hook"
SLACK_TOKEN = "TIiajkdnlazkcOXrIdevi7FQ"
SLACK_URL = f"slack://T1JJ3T3L2/A1BRTD4JD/{SLACK_TOKEN}"


@pytest.fixture
def api() -> Iterator[ReplayServer]:
    """A local MarketData stand-in: AAPL and MSFT chains, and an error that echoes the API key back (as a
    misbehaving server might), so the key is really sent and redaction is really exercised."""
    with ReplayServer() as server:
        for symbol in ("AAPL", "MSFT"):
            for expiration in weekly_expirations(today_ny(), 4):
                server.script(f"/v1/options/chain/{symbol}/", Answer(200, chain_payload(symbol, expiration)),
                              when={"expiration": expiration.isoformat()})
        server.script("/v1/options/chain/LEAK/", Answer(200, {"s": "error", "errmsg": f"token {API_KEY} is bad"}))
        yield server


URL_FORMS = ("user-info", "query", "tls-query")


@pytest.fixture
def secret_env(request: pytest.FixtureRequest, scanner_env: dict[str, str], api: ReplayServer, valkey_server,
               tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A password-protected server on loopback, and the MarketData source with an API key in the environment.

    The password is in the URL's user-info part (``user-info``, the default), in its query (``query``:
    ``?password=``), or in the query of a TLS URL with client-certificate files (``tls-query``: Debian's Redis 7
    with ``--tls-auth-clients yes``, ``?ssl_ca_certs=...&ssl_certfile=...&ssl_keyfile=...&password=``)."""
    form = getattr(request, "param", "user-info")
    if form == "tls-query":
        tls = make_tls_files(tmp_path / "tls")
        server = valkey_server("--requirepass", REDIS_PASSWORD, binary=redis7_binary(), tls=tls,
                               client_certificates=True)
        url = server.url(scheme="rediss", query=f"{tls.query()}&password={REDIS_PASSWORD}")
    else:
        server = valkey_server("--requirepass", REDIS_PASSWORD)
        url = server.url(password=REDIS_PASSWORD) if form == "user-info" else server.url(
            query=f"password={REDIS_PASSWORD}")
    values = {"REDIS_URL": url, "MD_API_KEY": API_KEY, "MD_URL_BASE": api.url, "SCANNER_PROVIDER": "marketdata",
              "SCANNER_ENFORCE_MARKET_HOURS": "false", "AWS_SECRET_ACCESS_KEY": "not-for-the-scan"}
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return {**scanner_env, **values}


def _page_text(at: AppTest) -> str:
    """Every label and value on the page and in its sidebar, walked through the element tree."""
    parts: list[str] = []

    def walk(node) -> None:  # noqa: ANN001
        for attr in ("label", "value", "body", "help", "placeholder"):
            with contextlib.suppress(Exception):  # some elements compute values lazily and have none here
                parts.append(str(getattr(node, attr, "") or ""))
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at.main)
    walk(at.sidebar)
    return "\n".join(parts)


@pytest.mark.parametrize("secret_env", URL_FORMS, indirect=True)
def test_no_output_holds_a_secret(secret_env: dict[str, str], api: ReplayServer, tmp_path: Path) -> None:
    outputs: list[str] = []
    # alert channels: a password in a json:// URL's user-info (alerted after each scan, to a port nobody listens on,
    # so it fails and is logged), a Slack token in the path (on a screen that matches nothing: never sent)
    assert run_cli(["screens", "save", "Matches", "--query", "rules=1&min_ann=&delta_min=&delta_max="],
                   secret_env).returncode == 0
    assert run_cli(["screens", "save", "None", "--query", "tickers=ZZZZ"], secret_env).returncode == 0
    for screen, url in (("Matches", CHANNEL_URL), ("None", SLACK_URL)):
        added = run_cli(["alerts", "add", screen, url], secret_env)
        assert added.returncode == 0, added.stderr
        outputs += [added.stdout, added.stderr]
    scan = run_cli(["scan", "--tickers", "AAPL,MSFT,LEAK"], secret_env)
    assert scan.returncode == 0, scan.stderr
    assert re.search(r"[1-9]\d* contracts, [1-9]\d* matches, 1 error", scan.stdout), scan.stdout  # rows, LEAK fails
    assert all(seen.headers.get("Authorization") == f"Bearer {API_KEY}" for seen in api.seen)  # the key was used
    outputs += [scan.stdout, scan.stderr]
    store = open_store(Settings.from_env(secret_env))
    errors = store.errors(store.latest_id())
    assert "token [redacted] is bad" in errors["LEAK"]  # what the monitor page shows for the ticker
    outputs += list(errors.values())
    for args in (["status", "--json"], ["history", "--json"], ["status"], ["history"],
                 ["export", "--all", "--output", "-"], ["server", "status"], ["alerts", "list"],
                 ["alerts", "list", "--json"], ["alerts", "history", "--json"], ["screens", "list", "--json"],
                 ["screens", "show", "None"]):
        done = run_cli(args, secret_env)
        outputs += [done.stdout, done.stderr]
    parquet = tmp_path / "all.parquet"
    assert run_cli(["export", "--all", "--format", "parquet", "--output", str(parquet)], secret_env).returncode == 0
    outputs.append(parquet.read_bytes().decode("latin-1"))

    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60).run()
    at.button[0].click().run()
    outputs.append(_page_text(at))
    settings = Settings.from_env(secret_env)
    store_url = secret_env["REDIS_URL"]
    client = redis.Redis.from_url(store_url, decode_responses=True)
    current = client.get(f"{{{settings.prefix}}}:current")
    wait_for(lambda: client.hget(f"{{{settings.prefix}}}:scan:{current}", "status") in FINISHED, timeout=90)
    status = client.hget(f"{{{settings.prefix}}}:scan:{current}", "status")
    assert status == "completed", log_path(settings, current).read_text()
    outputs.append(log_path(settings, current).read_text())
    final_page = _page_text(at.run())
    assert mask_url(store_url) in final_page and "Download CSV" in final_page  # the page was searched
    assert "***" in mask_url(store_url)
    outputs.append(final_page)

    wrong = {**secret_env, "REDIS_URL": store_url.replace(f":{urlsplit(store_url).port}/", ":1/")}
    down = run_cli(["status"], wrong)
    assert down.returncode == 1 and "127.0.0.1:1" in down.stderr
    outputs += [down.stdout, down.stderr]

    settings_page = AppTest.from_file(str(ROOT / "pages" / "settings.py"), default_timeout=60).run()
    assert "bot:****@127.0.0.1" in _page_text(settings_page)  # the alerts section was searched
    outputs.append(_page_text(settings_page))
    history = run_cli(["alerts", "history", "--json"], secret_env).stdout
    assert '"failed"' in history  # the json:// channel was really tried after the scans
    outputs.append(history)

    for text in outputs:
        assert REDIS_PASSWORD not in text
        assert API_KEY not in text
        assert CHANNEL_PASSWORD not in text and SLACK_TOKEN not in text


NEEDED = {"PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "VIRTUAL_ENV", "REDIS_URL", "MD_API_KEY", "MD_URL_BASE",
          "PYTHONUNBUFFERED", "SCANNER_LOCK_TOKEN"}


def test_the_scan_process_gets_only_the_environment_it_needs(secret_env: dict[str, str]) -> None:
    env = child_env(Settings.from_env(secret_env), token="t0ken", provider="marketdata")
    assert "AWS_SECRET_ACCESS_KEY" not in env
    assert env["SCANNER_LOCK_TOKEN"] == "t0ken" and env["REDIS_URL"] == secret_env["REDIS_URL"]
    assert set(env) <= NEEDED | set(NETWORK_ENV) | {name for name in env if name.startswith("SCANNER_")}


def test_the_scan_process_the_page_starts_runs_with_only_that_environment(secret_env: dict[str, str],
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {"SCANNER_PROVIDER": "demo", "SCANNER_DEMO_DELAY_MS": "300", "SCANNER_CONCURRENCY": "1"}.items():
        monkeypatch.setenv(name, value)  # a long demo scan, so the process is still there to be read
    settings = Settings.from_env()
    store = open_store(settings)
    scan_id = start_background(settings, store, ScanRequest(tickers=LONG_SCAN))
    pid = store.get(scan_id).pid
    raw = Path(f"/proc/{pid}/environ").read_bytes()  # the environment the process was started with
    started_with = dict(entry.split(b"=", 1) for entry in raw.split(b"\0") if b"=" in entry)
    names = {name.decode() for name in started_with}
    assert "AWS_SECRET_ACCESS_KEY" not in names and "MD_API_KEY" not in names  # a demo scan: no MarketData key
    assert names <= NEEDED | set(NETWORK_ENV) | {name for name in names if name.startswith("SCANNER_")}
    assert started_with[b"REDIS_URL"].decode() == secret_env["REDIS_URL"]
    store.request_cancel(scan_id)
    wait_for(lambda: not store.get(scan_id).active, timeout=60)
