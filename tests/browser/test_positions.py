"""The Positions page in a real ``streamlit run`` and headless Chromium (the fixtures of test_pages.py): a stock
holding, an open short put and the cash entered through the forms, then the book's tables, the holding's summary
against the last scan and the put's roll section (red, as the stock is within 5 % of its strike); a bad CSV refused
with nothing saved, a good one merged, and the book exported."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from playwright.sync_api import expect

from scanner.config import Settings
from scanner.scan.engine import ScanRequest, begin_scan, run_scan
from tests.browser.test_pages import CHROMIUM, browser, dashboards, page  # noqa: F401

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)")
WAIT = 60_000  # ms: a rerun on a loaded machine


IDLE = ("() => document.querySelector('[data-testid=stApp]')?.dataset.testScriptState === 'notRunning'"
        " && !document.querySelector('[data-stale=true]')")
"""The app has finished its rerun and redrawn every element: a box typed into now keeps what it is given."""


def _settled(tab, target):  # noqa: ANN001, ANN202
    """``target`` once the page is idle and it names one element: for a moment after a rerun that moved a form (a
    table drawn above it), React can still hold a widget's old node beside the new one."""
    tab.wait_for_function(IDLE, timeout=WAIT)
    expect(target).to_have_count(1, timeout=WAIT)
    return target


def _enter(tab, label: str, value: str) -> None:  # noqa: ANN001
    """Type ``value`` into the text input labelled ``label`` and commit it (Enter), as a user does, once the page is
    idle; again if a rerun drawn meanwhile reset the box (three tries)."""
    box = tab.get_by_label(label, exact=True)
    for _ in range(3):
        _settled(tab, box).fill(value)
        box.press("Enter")
        if _settled(tab, box).input_value() == value:
            return
    pytest.fail(f"the {label!r} box did not keep {value!r} at {tab.url}")


def _click_and_see(tab, button: str, outcome: str) -> None:  # noqa: ANN001
    _settled(tab, tab.get_by_role("button", name=button, exact=True)).click()
    tab.get_by_text(outcome, exact=True).wait_for(timeout=WAIT)
    tab.wait_for_function(IDLE, timeout=WAIT)


def _headers(grid) -> list[str]:  # noqa: ANN001
    grid.locator("[role=columnheader]").first.wait_for(state="attached", timeout=WAIT)
    return [text.strip() for text in grid.locator("[role=columnheader]").all_inner_texts()]


def test_a_holding_an_open_put_and_cash_entered_on_the_page_show_the_summary_and_the_rolls(
        dashboards, page) -> None:  # noqa: F811
    start, store = dashboards
    settings = replace(Settings.from_env(), demo_delay_ms=0)
    started = begin_scan(settings, store, ScanRequest(tickers=["MSFT"], side="both", weeks=3))
    run_scan(settings, store, started.scan_id, started.token)
    rows = store.results(started.scan_id).frame
    puts = rows[rows.side == "put"]
    tested = puts[puts.expiration == puts.expiration.min()].sort_values("strike").iloc[-1]  # nearest the money
    symbol = f"MSFT{tested.expiration:%y%m%d}P{round(tested.strike * 1000):08d}"

    page.goto(start() + "/positions")
    page.get_by_role("heading", level=1, name="Positions", exact=True).wait_for(timeout=WAIT)
    page.get_by_text("No stock held.").wait_for(timeout=WAIT)
    _enter(page, "Ticker", "MSFT")
    _enter(page, "Shares", "200")
    _enter(page, "Cost basis per share ($)", "300")
    _click_and_see(page, "Add stock", "Holding: MSFT 200 sh @ 300.00.")
    _enter(page, "Option symbol (OCC, e.g. AAPL261218P00150000)", symbol)
    _enter(page, "Contracts", "1")
    _enter(page, "Premium received per share ($)", "1.25")
    _click_and_see(page, "Add option", f"Open option: {symbol} ×1.")
    _enter(page, "Cash available for puts ($)", "60000")
    _click_and_see(page, "Set cash", "Cash for puts: $60,000.00.")

    collateral = tested.strike * 100
    page.get_by_text(f"Cash for puts: $60,000.00; free after the open puts' collateral (${collateral:,.2f}): "
                     f"${60_000 - collateral:,.2f}.").wait_for(timeout=WAIT)
    stock, options, summary, rolls = page.get_by_test_id("stMain").get_by_test_id("stDataFrame").all()
    assert _headers(stock) == ["Ticker", "Shares", "Cost basis", "Calls written", "Calls free"]
    assert _headers(options)[:4] == ["Contract", "Contracts", "Premium", "Opened on"]  # the grid draws what fits
    assert _headers(summary)[:6] == ["Ticker", "Shares", "Cost basis", "Calls written", "Calls free", "Best call"]
    assert {"Net credit / yr", "Days added"} <= set(_headers(rolls))
    assert page.get_by_text(f"Scan {started.scan_id}: per holding of 100 shares or more").count() == 1

    line = page.get_by_text(re.compile(rf"^{symbol} ×1 \(put {tested.strike:g}, exp .* — tested$"))
    line.wait_for(timeout=WAIT)
    assert f"ask {tested.ask:.2f}" in line.inner_text()
    colour = line.evaluate("element => getComputedStyle(element).color")
    red, green, blue = (int(part) for part in re.findall(r"\d+", colour)[:3])
    assert red > 150 and green < 100 and blue < 100, colour  # Streamlit's red: within 5 % of the strike

    book = store.client.hgetall(store.keys.positions)
    assert len(book) == 1  # the shared book (no login), saved through the forms

    uploader = page.get_by_test_id("stFileUploaderDropzoneInput")
    uploader.set_input_files(files=[{"name": "bad.csv", "mimeType": "text/csv", "buffer": b"stock,XYZ,-1,abc\n"}])
    page.get_by_text("bad.csv").first.wait_for(timeout=WAIT)
    page.get_by_role("button", name="Import", exact=True).click()
    page.get_by_text(re.compile(r"^Nothing was saved: refused: .*line 1: shares '-1'")).wait_for(timeout=WAIT)
    assert store.client.hgetall(store.keys.positions) == book  # nothing saved
    uploader.set_input_files(files=[{"name": "more.csv", "mimeType": "text/csv", "buffer": b"stock,AAPL,100,150\n"}])
    page.get_by_text("more.csv").first.wait_for(timeout=WAIT)
    _click_and_see(page, "Import", "Imported more.csv: 2 holdings, 1 open options.")
    with page.expect_download() as download:
        page.get_by_role("button", name="Export CSV", exact=True).click()
    exported = download.value.path().read_text().splitlines()
    assert exported[0] == "type,symbol,quantity,price,opened_on" and "stock,AAPL,100,150.0," in exported
    assert "stock,MSFT,200,300.0," in exported and "cash,,,60000.0," in exported
    assert any(line.startswith(f"option,{symbol},1,1.25") for line in exported)
