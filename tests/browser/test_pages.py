"""A real ``streamlit run`` driven by a real headless Chromium (Debian's) through Playwright.

The pages that watch a running scan (its progress, two replicas sharing it) run it on the MarketData source against
a local ReplayServer that holds each ticker's answer at a gate the test opens, one ticker per step: the page is at
each step for as long as the test needs, however fast or slow the machine is.
"""

from __future__ import annotations

import math
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest

from scanner.config import Settings
from scanner.market.calendar import today_ny, weekly_expirations
from scanner.store.scans import ScanMeta, ScanStore, open_store
from tests.support.http_replay import ReplayServer, chain_path, scan_env, serve_chains
from tests.support.paths import ROOT
from tests.support.processes import wait_for, wait_parked

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)")
PROGRESS = re.compile(r"Scan in progress\.\.\. \((\d+)% complete\)")
RUNNING = re.compile(r"Scan in progress\.\.\. \((starting|\d+% complete)\)")  # "starting" until a ticker is in
TITLE = re.compile(r"^[A-Z.\-]+ — \d+ options?( — .+)? — last scan \d\d:\d\d$")  # between: earnings, volatility
GATED = ["AAPL", "MSFT", "NVDA", "AMZN"]
"""The watch-list of a gated scan: one fetch at a time, so the page shows "starting", then 25, 50 and 75 %."""
STEP_TIMEOUT = 120
"""Seconds a page may take to show what the scan's store already holds (autorefresh reruns, a loaded machine)."""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _dashboard(env: dict[str, str], log_path: Path) -> tuple[subprocess.Popen, str]:
    """A real ``streamlit run`` of the dashboard on a free port, ready to serve."""
    port = _free_port()
    with open(log_path, "w") as log:  # the child keeps its own handle
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "dashboard.py", "--server.port", str(port),
             "--server.address", "127.0.0.1", "--server.headless", "true"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).status == 200:
                return proc, url
        except OSError:
            time.sleep(0.3)
    proc.kill()
    pytest.fail("streamlit did not start: " + log_path.read_text())


@contextmanager
def _replicas(env: dict[str, str], tmp_path: Path) -> Iterator[Callable[[], str]]:
    """``start()`` starts one more dashboard with ``env`` (replicas when on one Redis); all are stopped at the end."""
    started: list[subprocess.Popen] = []

    def start() -> str:
        proc, url = _dashboard(env, tmp_path / f"streamlit-{len(started)}.log")
        started.append(proc)
        return url

    try:
        yield start
    finally:
        for proc in started:
            proc.terminate()
            proc.wait(timeout=20)


@pytest.fixture
def dashboards(scanner_env: dict[str, str], tmp_path: Path):
    """Start dashboards on one Redis (replicas), on the demo source."""
    env = {**scanner_env, "SCANNER_POLL_SECONDS": "2", "SCANNER_DEMO_DELAY_MS": "200", "SCANNER_CONCURRENCY": "1",
           "SCANNER_LOCK_TTL": "20"}
    store = open_store(Settings.from_env(env))
    store.watchlist.import_csv("\n".join("AAPL MSFT NVDA AMZN META GOOGL NFLX UBER V MA JPM CRM".split()), replace=True)
    with _replicas(env, tmp_path) as start:
        yield start, store


@dataclass
class GatedScan:
    """Dashboards whose scans fetch GATED from ``api`` one at a time, each ticker's answer held until ``let_go``."""

    start: Callable[[], str]
    store: ScanStore
    api: ReplayServer
    gates: dict[str, threading.Event]

    def parked(self, done: int) -> ScanMeta:
        """Wait until the scan has recorded ``done`` tickers and waits for the next one's answer."""
        return wait_parked(self.store, self.api, GATED[done], done, timeout=STEP_TIMEOUT)

    def let_go(self, done: int) -> None:
        """Answer the ticker the scan parked at after ``done`` tickers."""
        self.gates[GATED[done]].set()


@pytest.fixture
def gated(scanner_env: dict[str, str], tmp_path: Path):
    """Dashboards (replicas on one Redis) on the MarketData source, pointed at a ReplayServer serving GATED with
    one weekly expiration, each ticker's answer held at its own gate; autorefresh reruns every second."""
    with ReplayServer() as api:
        gates = {ticker: threading.Event() for ticker in GATED}
        today = today_ny()  # the scan's quote date; the next day's expiration too, for a scan that starts past midnight
        expirations = sorted({*weekly_expirations(today, 1), *weekly_expirations(today + timedelta(days=1), 1)})
        serve_chains(api, GATED, expirations, gates=gates)
        # a long TTL: the holder's heartbeat need not keep up with a loaded machine while it waits at a gate
        env = {**scan_env(scanner_env, api), "SCANNER_POLL_SECONDS": "1", "SCANNER_CONCURRENCY": "1",
               "SCANNER_LOCK_TTL": "60"}
        store = open_store(Settings.from_env(env))
        store.watchlist.import_csv("\n".join(GATED), replace=True)
        store.criteria.save({"weeks": 1})
        with _replicas(env, tmp_path) as start:
            yield GatedScan(start, store, api, gates)
            for gate in gates.values():  # a test that failed half way: the scan ends while its source still answers
                gate.set()
            with suppress(AssertionError):
                wait_for(lambda: not store.lock().held, timeout=60)


def _progress_shown(page, pct: int, seen: list[int]) -> None:  # noqa: ANN001
    """Wait (no user action: only autorefresh reruns the page) until ``page`` shows ``pct`` % complete, noting in
    ``seen`` each progress value it shows on the way."""
    deadline = time.monotonic() + STEP_TIMEOUT
    while time.monotonic() < deadline:
        match = PROGRESS.search(page.inner_text("body"))
        if match and (not seen or int(match.group(1)) != seen[-1]):
            seen.append(int(match.group(1)))
        if seen and seen[-1] == pct:
            return
        time.sleep(0.2)
    pytest.fail(f"the page did not show {pct}% complete within {STEP_TIMEOUT} s; it showed {seen} at {page.url}")


def _pct(done: int) -> int:
    return round(100 * done / len(GATED))


@pytest.fixture
def server(dashboards):
    start, store = dashboards
    return start(), store


def _expanders_settle(page, count: int) -> None:  # noqa: ANN001
    """Wait until the page shows ``count`` expanders and no element left over from the previous run."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(
            "n => document.querySelectorAll('[data-testid=stExpander]').length === n"
            " && !document.querySelector('[data-stale=true]')", arg=count, timeout=60_000)
    except PlaywrightTimeout:
        shown = page.locator("[data-testid=stExpander]").count()
        pytest.fail(f"expected {count} expanders, the page shows {shown} at {page.url}")


def _choose(page, box: str, option: str) -> None:  # noqa: ANN001
    """Pick ``option`` in the selectbox labelled ``box``. A rerun still drawing the sidebar redraws the box and
    closes its list under the click: open it again then (three tries)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for _ in range(3):
        page.get_by_role("combobox", name=box).click()
        try:
            page.get_by_role("option", name=option, exact=True).click(timeout=10_000)
            return
        except PlaywrightTimeout:
            continue
    pytest.fail(f"the {box!r} box never listed {option!r} at {page.url}")


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    return browser.new_context(accept_downloads=True).new_page()


def test_scan_progress_results_and_csv(gated: GatedScan, page, tmp_path: Path) -> None:
    store = gated.store
    page.goto(gated.start())
    page.get_by_text("Options Scanner").first.wait_for(timeout=60_000)
    page.get_by_text("MarketData.app").first.wait_for()
    page.get_by_role("button", name="Scan for options").click()

    gated.parked(0)  # no user action from here: only autorefresh reruns the page
    page.get_by_text(RUNNING).first.wait_for(timeout=STEP_TIMEOUT * 1000)
    gated.let_go(0)
    seen: list[int] = []
    for done in range(1, len(GATED)):
        gated.parked(done)
        _progress_shown(page, _pct(done), seen)
        gated.let_go(done)
    page.get_by_role("button", name="Download CSV", exact=True).wait_for(timeout=STEP_TIMEOUT * 1000)  # the final view
    assert seen == [_pct(done) for done in range(1, len(GATED))], seen  # 25, 50, 75: each step, in order
    assert len(set(seen)) >= 2 and seen == sorted(seen)

    latest = store.get(store.latest_id())
    assert latest is not None and latest.status == "completed"
    frame = store.results(latest.scan_id).frame
    _expanders_settle(page, frame.loc[frame["match"], "ticker"].nunique())
    titles = page.get_by_text(TITLE)
    assert titles.count() == frame.loc[frame["match"], "ticker"].nunique() > 0

    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download CSV", exact=True).click()
    path = tmp_path / "matches.csv"
    download_info.value.save_as(path)
    exported = pd.read_csv(path)
    assert len(exported) == latest.matches == int(frame["match"].sum())
    assert set(exported["ticker"]) == set(frame.loc[frame["match"], "ticker"])
    assert exported["match"].all()
    page.screenshot(path=str(tmp_path / "final.png"), full_page=True)


def test_filter_history_page_and_export(server, page, tmp_path: Path) -> None:
    from dataclasses import replace

    from scanner.results.filters import Filters
    from scanner.scan.engine import ScanRequest, begin_scan, run_scan

    url, store = server
    settings = replace(Settings.from_env(), demo_delay_ms=0)
    started = begin_scan(settings, store, ScanRequest(tickers=["AAPL", "MSFT", "NVDA", "AMZN", "META", "TSLA"]))
    meta = run_scan(settings, store, started.scan_id, started.token)
    frame = store.results(meta.scan_id).frame

    page.goto(url)
    titles = page.get_by_text(re.compile(r"^[A-Z.\-]+ — \d+ options?( — .+)? — last scan"))
    titles.first.wait_for(timeout=60_000)
    # a threshold at a middle ticker's best annualized return (cut to cents): some tickers stay, some go
    loose = replace(Filters.for_criteria(meta.criteria), only_matches=False, side="both", min_annualized=None)
    best = loose.apply(frame).groupby("ticker")["annualized_return_pct"].max().sort_values().to_numpy()
    assert len(best) >= 2, "the demo market gave fewer than two tickers to tell apart"
    threshold = math.floor(best[len(best) // 2] * 100) / 100
    expected = replace(loose, min_annualized=threshold).apply(frame)["ticker"].nunique()
    assert 0 < expected < len(best)
    page.get_by_label("Only rows that pass the scan's rules").uncheck(force=True)
    page.wait_for_url(re.compile(r"rules=0"))
    _choose(page, "Side", "both")
    annual = page.get_by_label("Min annualized return %")
    annual.fill(str(threshold))
    annual.press("Enter")
    page.wait_for_url(re.compile(r"min_ann=\d"))
    _expanders_settle(page, expected)
    assert titles.count() == expected
    assert "delta_min" not in page.url and "delta_max" not in page.url  # the scan's delta bounds still apply

    page.get_by_role("link", name=re.compile("history", re.I)).first.click()
    page.get_by_text("Scan history").first.wait_for(timeout=60_000)
    page.get_by_text(f"Scan {meta.scan_id} — completed").first.wait_for(timeout=30_000)
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download CSV (all contracts)").click()
    assert meta.scan_id in download_info.value.suggested_filename
    path = tmp_path / "all.csv"
    download_info.value.save_as(path)
    exported = pd.read_csv(path)
    assert len(exported) == meta.contracts == len(frame)
    assert sorted(exported["option_symbol"]) == sorted(frame["option_symbol"])
    page.screenshot(path=str(tmp_path / "history.png"), full_page=True)


def test_filters_keep_their_values_when_the_number_inputs_load_late(server, page) -> None:
    """On a first visit the browser fetches each widget's code when it first needs it. A click that reruns the
    page before the number inputs' code has arrived must not turn the scan's delta bounds into "no limit"."""
    from scanner.scan.engine import ScanRequest, begin_scan, run_scan

    url, store = server
    settings = Settings.from_env()
    started = begin_scan(settings, store, ScanRequest(tickers=["AAPL", "MSFT"]))
    run_scan(settings, store, started.scan_id, started.token)
    held: list = []  # the number inputs' code, answered only once the click's rerun is done
    page.route(re.compile(r"/NumberInput\.[\w-]+\.js$"), lambda route: held.append(route))
    page.goto(url)
    rules = page.get_by_label("Only rows that pass the scan's rules")
    rules.wait_for(state="attached", timeout=60_000)
    rules.uncheck(force=True)
    page.wait_for_url(re.compile(r"rules=0"))
    page.wait_for_function("() => !document.querySelector('[data-stale=true]')", timeout=60_000)
    assert held and page.locator("[data-testid=stNumberInputField]").count() == 0
    for route in held:
        route.continue_()
    annual = page.get_by_label("Min annualized return %")
    annual.wait_for(timeout=30_000)
    _choose(page, "Side", "both")
    page.wait_for_url(re.compile(r"side=both"))
    page.wait_for_function("() => !document.querySelector('[data-stale=true]')", timeout=60_000)
    assert annual.input_value() == "30.00"
    page.get_by_text("More filters").click()  # the delta bounds, hidden until asked for, kept the scan's rules
    delta_from = page.get_by_label("Delta from")
    delta_from.wait_for(timeout=30_000)
    assert delta_from.input_value() == "-0.20"
    assert "delta_min" not in page.url and "min_ann" not in page.url


def test_two_replicas_on_one_redis_run_one_scan_and_show_the_same(gated: GatedScan, browser) -> None:
    store = gated.store
    first, second = browser.new_page(), browser.new_page()
    first.goto(gated.start())
    second.goto(gated.start())
    for tab in (first, second):
        tab.get_by_role("button", name="Scan for options").wait_for(timeout=60_000)
    first.get_by_role("button", name="Scan for options").click()
    gated.parked(0)  # the scan waits at its first ticker until both tabs have clicked and read
    first.get_by_text(RUNNING).first.wait_for(timeout=STEP_TIMEOUT * 1000)
    second.get_by_role("button", name="Scan for options").click()
    second.get_by_text("A scan is already running").first.wait_for(timeout=STEP_TIMEOUT * 1000)
    second.get_by_text(RUNNING).first.wait_for(timeout=STEP_TIMEOUT * 1000)  # the other replica shows the same scan
    gated.let_go(0)
    gated.parked(1)  # held again: one ticker in, for as long as both tabs take to show it
    for tab in (first, second):
        _progress_shown(tab, _pct(1), [])
    shown = {tab: int(PROGRESS.search(tab.inner_text("body")).group(1)) for tab in (first, second)}
    assert list(shown.values()) == [_pct(1)] * 2, shown  # the same progress in both replicas
    for done in range(1, len(GATED)):
        gated.let_go(done)
    for tab in (first, second):  # exports are offered only once the scan is complete
        tab.get_by_role("button", name="Download CSV", exact=True).wait_for(timeout=STEP_TIMEOUT * 1000)
    latest = store.get(store.latest_id())
    frame = store.results(latest.scan_id).frame
    for tab in (first, second):
        _expanders_settle(tab, frame.loc[frame["match"], "ticker"].nunique())
    titles = first.get_by_text(TITLE).all_inner_texts()
    assert titles and titles == second.get_by_text(TITLE).all_inner_texts()
    assert [m.status for m in store.history()] == ["completed"]
    # one scan asked the source: each ticker once (a second scan would have asked again)
    assert [len(gated.api.requests_to(chain_path(ticker))) for ticker in GATED] == [1] * len(GATED)


NAVIGATION = {  # the sidebar's label: the page's heading and the browser tab's title
    "Options Scanner": ("Options Scanner", "Options Scanner"),
    "History": ("Scan history", "History · Options Scanner"),
    "Monitor": ("Scan monitor", "Scan monitor · Options Scanner"),
    "Watch-list and criteria": ("Watch-list and criteria", "Watch-list and criteria · Options Scanner"),
    "Positions": ("Positions", "Positions · Options Scanner"),
}


def test_the_sidebar_navigation_reads_the_page_titles(server, page) -> None:
    url, _ = server
    page.goto(url)
    page.get_by_role("button", name="Scan for options").wait_for(timeout=60_000)
    links = page.get_by_test_id("stSidebarNav").get_by_test_id("stSidebarNavLink")
    labels = links.get_by_test_id("stMarkdownContainer")  # the label, without the icon's ligature text
    assert labels.all_inner_texts() == list(NAVIGATION)
    for label, (heading, tab) in list(NAVIGATION.items())[::-1]:  # the main page last: away from it and back
        links.filter(has_text=label).click()
        page.get_by_role("heading", level=1, name=heading, exact=True).wait_for(timeout=60_000)
        page.wait_for_function("title => document.title === title", arg=tab, timeout=30_000)
        assert labels.all_inner_texts() == list(NAVIGATION)  # the same five on every page


PHONE = {"width": 390, "height": 844}
NAMED = ("ticker", "strike", "expiration", "bid", "annualized_return_pct")
"""The columns issue 12 (item 8) wants in view at phone width, without scrolling sideways."""
GRID_COLUMNS = """grid => {
    // st.dataframe draws a canvas; its accessible table (the canvas's fallback content) holds the columns that
    // glide-data-grid draws: each one whose left edge is within the grid's width, so all but the last are whole
    const scroller = grid.querySelector('.dvn-scroller');
    return {headers: [...grid.querySelectorAll('[role=columnheader]')].map(h => h.textContent.trim()),
            overflow: scroller.scrollWidth > scroller.clientWidth, scrolled: scroller.scrollLeft,
            right: grid.getBoundingClientRect().right};
}"""


@pytest.fixture
def phone(server, browser):
    """The main page at phone width after a completed demo scan, every expander drawn."""
    from dataclasses import replace

    from scanner.scan.engine import ScanRequest, begin_scan, run_scan

    url, store = server
    settings = replace(Settings.from_env(), demo_delay_ms=0)
    started = begin_scan(settings, store, ScanRequest(tickers=["AAPL", "MSFT", "NVDA", "AMZN", "META", "TSLA"]))
    meta = run_scan(settings, store, started.scan_id, started.token)
    frame = store.results(meta.scan_id).frame
    tickers = frame.loc[frame["match"], "ticker"].nunique()
    assert tickers > 0, "the demo market gave no match"
    page = browser.new_context(viewport=PHONE).new_page()
    page.goto(url)
    page.get_by_role("button", name="Download CSV", exact=True).wait_for(timeout=60_000)
    _expanders_settle(page, tickers)
    return page


def _whole_columns(grid) -> list[str]:  # noqa: ANN001
    """The headers of ``grid`` (an stDataFrame) shown whole, as the page first draws it (not scrolled)."""
    grid.locator("[role=columnheader]").first.wait_for(state="attached", timeout=60_000)
    shown = grid.evaluate(GRID_COLUMNS)
    assert shown["scrolled"] == 0 and shown["right"] <= PHONE["width"], shown
    return shown["headers"][:-1] if shown["overflow"] else shown["headers"]


def test_phone_width_shows_the_data_source_in_the_main_area(phone) -> None:
    """At 390 px the sidebar is collapsed; the "simulated data" label is under the title, on the first screen."""
    sidebar = phone.get_by_test_id("stSidebar").bounding_box()
    assert sidebar is None or sidebar["x"] + sidebar["width"] <= 0, sidebar  # collapsed: off the screen
    label = phone.get_by_test_id("stMain").get_by_text("simulated data")
    assert label.is_visible()
    box = label.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"] and box["y"] + box["height"] <= PHONE["height"]
    assert phone.evaluate("() => document.scrollingElement.scrollWidth") <= PHONE["width"]  # no page-wide scroll


def test_phone_width_shows_the_decision_columns_without_scrolling_sideways(phone) -> None:
    """At 390 px the summary and a ticker's table show ticker, strike, expiration, bid and annualized whole."""
    from scanner.ui.results import COLUMN_CONFIG, SUMMARY_CONFIG

    summary_keys = {"ticker": "ticker", "strike": "best_strike", "expiration": "best_expiration", "bid": "best_bid",
                    "annualized_return_pct": "best_annualized"}
    wanted = [SUMMARY_CONFIG[summary_keys[name]]["label"] for name in NAMED]
    missing = {"the summary": [label for label in wanted if label not in
                               _whole_columns(phone.get_by_test_id("stMain").get_by_test_id("stDataFrame").first)]}

    expander = phone.get_by_test_id("stExpander").first
    expander.locator("summary").click()
    grid = expander.get_by_test_id("stDataFrame").first  # its contracts (its near misses are the next tab)
    grid.wait_for(timeout=30_000)
    wanted = [COLUMN_CONFIG[name]["label"] for name in NAMED if name in COLUMN_CONFIG]  # the expander names the ticker
    missing["a ticker's table"] = [label for label in wanted if label not in _whole_columns(grid)]
    assert not any(missing.values()), f"cut off or out of view at {PHONE['width']} px: {missing}"


def test_picking_a_row_opens_the_contracts_payoff_chart(server, page, tmp_path: Path) -> None:
    """A click on a summary row's marker opens its best contract's detail: a dialog with the payoff chart drawn."""
    from dataclasses import replace

    from scanner.scan.engine import ScanRequest, begin_scan, run_scan

    url, store = server
    settings = replace(Settings.from_env(), demo_delay_ms=0)
    started = begin_scan(settings, store, ScanRequest(tickers=["AAPL", "MSFT", "NVDA"]))
    run_scan(settings, store, started.scan_id, started.token)
    page.goto(url)
    page.get_by_role("button", name="Download CSV", exact=True).wait_for(timeout=60_000)
    summary = page.get_by_test_id("stMain").get_by_test_id("stDataFrame").first
    summary.locator("[role=columnheader]").first.wait_for(state="attached", timeout=60_000)
    box = summary.bounding_box()
    page.mouse.click(box["x"] + 18, box["y"] + 35 + 17)  # the first row's marker: under the 35 px header
    dialog = page.get_by_role("dialog")
    dialog.wait_for(timeout=60_000)
    chart = dialog.get_by_test_id("stVegaLiteChart").first
    chart.locator("canvas, svg").first.wait_for(state="visible", timeout=60_000)
    assert dialog.get_by_text("Profit and loss per contract").first.is_visible()
    assert dialog.get_by_text("Strikes around it").first.is_visible()
    page.screenshot(path=str(tmp_path / "detail.png"), full_page=True)


def test_an_opened_expander_draws_its_tables_and_stays_open_when_its_title_changes(server, page) -> None:
    """A ticker's tables are sent once its expander is opened; a filter that changes its title (its count of
    options) leaves it open, its tables drawn."""
    from dataclasses import replace

    from scanner.results.filters import Filters
    from scanner.scan.engine import ScanRequest, begin_scan, run_scan

    url, store = server
    settings = replace(Settings.from_env(), demo_delay_ms=0)
    started = begin_scan(settings, store, ScanRequest(tickers=["AAPL", "MSFT", "NVDA", "AMZN", "META", "TSLA"]))
    meta = run_scan(settings, store, started.scan_id, started.token)
    rules = Filters.for_criteria(meta.criteria)
    shown = rules.apply(store.results(meta.scan_id).frame)
    # a ticker with a match above the threshold (its best, cut to cents) and one below it: it stays, with fewer
    thresholds = shown.groupby("ticker")["annualized_return_pct"].agg(lambda ann: (math.floor(ann.max() * 100) / 100,
                                                                                  ann.min()))
    kept = [(ticker, cut) for ticker, (cut, lowest) in thresholds.items() if lowest < cut]
    assert kept, "the demo market gave no ticker with two matches to tell apart"
    ticker, threshold = kept[0]
    count = int((replace(rules, min_annualized=threshold).apply(shown)["ticker"] == ticker).sum())

    page.goto(url)
    page.get_by_role("button", name="Download CSV", exact=True).wait_for(timeout=60_000)
    expander = page.get_by_test_id("stExpander").filter(has=page.get_by_text(re.compile(rf"^{re.escape(ticker)} — ")))
    expander.locator("summary").wait_for(timeout=60_000)
    assert expander.get_by_test_id("stDataFrame").count() == 0  # closed: nothing sent
    expander.locator("summary").click()
    expander.get_by_test_id("stDataFrame").first.wait_for(timeout=60_000)
    annual = page.get_by_label("Min annualized return %")
    annual.fill(str(threshold))
    annual.press("Enter")
    page.wait_for_url(re.compile(r"min_ann=\d"))
    expander.get_by_text(f"{ticker} — {count} option{'s' if count != 1 else ''} — ").first.wait_for(timeout=60_000)
    page.wait_for_function("() => !document.querySelector('[data-stale=true]')", timeout=60_000)
    assert expander.locator("details").get_attribute("open") is not None
    expander.get_by_test_id("stDataFrame").first.wait_for(timeout=60_000)
