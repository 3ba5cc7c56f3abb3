"""Cboe's delayed-quotes options file in the shape its pages read, built here (no recorded sample is copied), for a
ReplayServer standing in for `CBOE_URL_BASE`.

One file per symbol (`/options/AAPL.json`, an index as `/options/_SPX.json`) holds every listed expiration:
`data.current_price`, `data.iv30` (percent) and `data.options[]`, each contract named only by its OCC symbol, with
iv and greeks 0 where Cboe has no model value. A symbol the CDN does not hold answers 403 (S3's AccessDenied).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from tests.support.http_replay import GATE_TIMEOUT, Answer, ReplayServer

NOT_FILED = Answer(403, "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>AccessDenied</Code></Error>")


def options_path(name: str) -> str:
    return f"/v1/options/{name}.json"


def contract(root: str, expiration: date, side: str, strike: float, bid: float, ask: float, iv: float,
             delta: float) -> dict[str, Any]:
    """One entry of `data.options`, every field the file carries."""
    mid = round((bid + ask) / 2, 3)
    return {"option": f"{root}{expiration:%y%m%d}{side[0].upper()}{round(strike * 1000):08d}", "bid": bid,
            "bid_size": 20.0, "ask": ask, "ask_size": 15.0, "iv": iv, "open_interest": 250.0, "volume": 40.0,
            "delta": delta, "gamma": 0.02 if iv else 0.0, "vega": 0.1 if iv else 0.0, "theta": -0.03 if iv else 0.0,
            "rho": -0.01 if iv else 0.0, "theo": mid, "change": 0.0, "open": 0.0, "high": 0.0, "low": 0.0,
            "tick": "no_change", "last_trade_price": mid, "last_trade_time": "2026-11-27T15:59:12",
            "percent_change": 0.0, "prev_day_close": mid}


def chain(root: str, expirations: Iterable[date], spot: float = 100.0, strikes: int = 20) -> list[dict[str, Any]]:
    """Puts and calls at `strikes` 1-point steps each side of `spot` for every expiration; OTM puts are rich enough
    to pass the default rules near the money (bid falling 0.1 a strike), the farthest one unmodelled (iv 0)."""
    contracts = []
    for expiration in expirations:
        for i in range(strikes):
            below, above = spot - 1 - i, spot + 1 + i
            far = i == strikes - 1
            contracts += [
                contract(root, expiration, "put", below, round(2.0 - 0.1 * i, 2), round(2.1 - 0.1 * i, 2),
                         0.0 if far else 0.3, 0.0 if far else round(-0.19 + 0.01 * i, 3)),
                contract(root, expiration, "call", below, spot - below, spot - below + 0.2, 0.3, 0.8),
                contract(root, expiration, "put", above, above - spot, above - spot + 0.2, 0.3, -0.8),
                contract(root, expiration, "call", above, round(1.0 - 0.05 * i, 2), round(1.1 - 0.05 * i, 2), 0.3,
                         round(0.3 - 0.01 * i, 3)),
            ]
    return contracts


def options_file(symbol: str, contracts: list[dict[str, Any]], spot: float = 100.0,
                 iv30: float | None = 24.5) -> dict[str, Any]:
    """The whole file: a timestamp and the `data` object with the stock's quote, its IV30 and every contract."""
    return {"timestamp": "2026-11-30 16:15:03", "data": {
        "options": contracts, "symbol": symbol, "security_type": "stock", "exchange_id": 0, "current_price": spot,
        "price_change": 0.42, "price_change_percent": 0.42, "bid": spot - 0.02, "ask": spot + 0.02, "bid_size": 3,
        "ask_size": 4, "open": spot - 0.5, "high": spot + 1, "low": spot - 1, "close": spot,
        "prev_day_close": spot - 0.42,
        "volume": 1_800_000.0, "iv30": iv30, "iv30_change": -0.3, "iv30_change_percent": -1.2, "seqno": 4_200_001,
        "last_trade_time": "2026-11-30T16:00:00", "tick": "up"}}


def serve_cboe(server: ReplayServer, symbols: Iterable[str], expirations: Iterable[date], spot: float = 100.0,
               iv30: float | None = 24.5) -> None:
    """Each symbol's file with every expiration given (more than a scan asks for: it selects them itself)."""
    expirations = list(expirations)
    for symbol in symbols:
        server.script(options_path(symbol), Answer(200, options_file(symbol, chain(symbol, expirations, spot), spot,
                                                                     iv30)))


def cboe_scan_env(env: Mapping[str, str], server: ReplayServer) -> dict[str, str]:
    """The environment of a scan process whose Cboe source is `server`, market hours not enforced."""
    return {**env, "SCANNER_PROVIDER": "cboe", "CBOE_URL_BASE": server.url, "SCANNER_ENFORCE_MARKET_HOURS": "false",
            "SCANNER_HTTP_TIMEOUT": GATE_TIMEOUT}
