"""Tradier's market-data answers in the shapes its documentation describes, built here (no recorded sample is
copied), for a ReplayServer standing in for `TRADIER_URL_BASE`.

The builders keep Tradier's quirks: a list of one is sent as the object itself and an empty list as null
(`{"options": null}`, `{"expirations": {"date": "2026-12-04"}}`), `greeks` may be null, and `includeAllRoots=true`
lists adjusted contracts (root `<SYMBOL>1`) and minis (10 shares) beside the standard ones. `serve_tradier` scripts
a whole scan's worth of chains (the MarketData `serve_chains` of this source).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from tests.support.http_replay import GATE_TIMEOUT, SCAN_EXPIRATIONS, Answer, ReplayServer

EXPIRATIONS = "/v1/markets/options/expirations"
CHAINS = "/v1/markets/options/chains"
QUOTES = "/v1/markets/quotes"
TOKEN = "tradier-dummy-token-for-tests"


def one_or_many(items: list[Any]) -> Any:
    """Tradier's way with lists: null for none, the object itself for one, a list for more."""
    return None if not items else items[0] if len(items) == 1 else items


def option(symbol: str, expiration: date, side: str, strike: float, bid: float, ask: float, *,
           delta: float | None = None, mid_iv: float = 0.3, greeks: bool = True, root: str | None = None,
           contract_size: int = 100) -> dict[str, Any]:
    """One contract of `/markets/options/chains?greeks=true`, every documented field present."""
    root = root or symbol
    occ = f"{root}{expiration:%y%m%d}{side[0].upper()}{round(strike * 1000):08d}"
    orats = {"delta": delta, "gamma": 0.03, "theta": -0.05, "vega": 0.08, "rho": -0.01, "phi": 0.01,
             "bid_iv": round(mid_iv - 0.01, 4), "mid_iv": mid_iv, "ask_iv": round(mid_iv + 0.01, 4),
             "smv_vol": mid_iv, "updated_at": f"{expiration:%Y-%m-%d} 15:59:58"}
    return {
        "symbol": occ, "description": f"{root} {expiration:%b %d %Y} ${strike:g} {side.title()}", "exch": "Z",
        "type": "option", "last": None, "change": None, "volume": 10, "open": None, "high": None, "low": None,
        "close": None, "bid": bid, "ask": ask, "underlying": symbol, "strike": strike, "change_percentage": None,
        "average_volume": 0, "last_volume": 0, "trade_date": 0, "prevclose": None, "week_52_high": 0.0,
        "week_52_low": 0.0, "bidsize": 12, "bidexch": "Q", "bid_date": 1764536399000, "asksize": 9, "askexch": "X",
        "ask_date": 1764536399000, "open_interest": 100, "contract_size": contract_size,
        "expiration_date": expiration.isoformat(), "expiration_type": "weeklys", "option_type": side,
        "root_symbol": root, "greeks": orats if greeks else None,
    }


def chain(symbol: str, expiration: date, spot: float = 100.0, strikes: int = 5) -> list[dict[str, Any]]:
    """`strikes` OTM puts below `spot` and calls above it (1-point steps), the puts rich enough to pass the default
    rules at a few days' DTE; an ITM put; and two non-standard puts (an adjusted root, a mini) priced to match."""
    puts = [option(symbol, expiration, "put", spot - 1 - i, round(2.0 - 0.3 * i, 2), round(2.1 - 0.3 * i, 2),
                   delta=round(-0.19 + 0.03 * i, 2)) for i in range(strikes)]
    calls = [option(symbol, expiration, "call", spot + 1 + i, round(1.0 - 0.15 * i, 2), round(1.1 - 0.15 * i, 2),
                    delta=round(0.3 - 0.05 * i, 2)) for i in range(strikes)]
    itm = option(symbol, expiration, "put", spot + 2, 3.0, 3.2, delta=-0.6)
    adjusted = option(symbol, expiration, "put", spot - 1, 2.5, 2.6, delta=-0.1, root=f"{symbol}1")
    mini = option(symbol, expiration, "put", spot - 2, 2.5, 2.6, delta=-0.1, contract_size=10)
    return [*puts, *calls, itm, adjusted, mini]


def chain_payload(contracts: list[dict[str, Any]]) -> dict[str, Any]:
    return {"options": None if not contracts else {"option": one_or_many(contracts)}}


def expirations_payload(days: Iterable[date]) -> dict[str, Any]:
    listed = [day.isoformat() for day in days]
    return {"expirations": None if not listed else {"date": one_or_many(listed)}}


def quotes_payload(symbol: str, last: float | None) -> dict[str, Any]:
    """`/markets/quotes` for one symbol (the quote as an object), or Tradier's unmatched answer when `last` is None."""
    if last is None:
        return {"quotes": {"unmatched_symbols": {"symbol": symbol}}}
    return {"quotes": {"quote": {
        "symbol": symbol, "description": f"{symbol} Inc", "exch": "Q", "type": "stock", "last": last, "change": 0.5,
        "volume": 1_250_000, "open": last - 1, "high": last + 1, "low": last - 2, "close": None,
        "bid": last - 0.01, "ask": last + 0.01, "change_percentage": 0.5, "average_volume": 2_000_000,
        "last_volume": 100, "trade_date": 1764536399000, "prevclose": last - 0.5, "week_52_high": last * 1.3,
        "week_52_low": last * 0.7, "bidsize": 3, "bidexch": "Q", "bid_date": 1764536399000, "asksize": 2,
        "askexch": "P", "ask_date": 1764536399000, "root_symbols": f"{symbol},{symbol}1"}}}


def serve_tradier(server: ReplayServer, symbols: Iterable[str], expirations: Iterable[date] = SCAN_EXPIRATIONS,
                  spot: float = 100.0, headers: Mapping[str, str] | None = None) -> None:
    """Each symbol's expirations, quote and chains (`chain`); `headers` on every answer (rate-limit headers)."""
    expirations = list(expirations)
    for symbol in symbols:
        extra = dict(headers or {})
        server.script(EXPIRATIONS, Answer(200, expirations_payload(expirations), extra), when={"symbol": symbol})
        server.script(QUOTES, Answer(200, quotes_payload(symbol, spot), extra), when={"symbols": symbol})
        for expiration in expirations:
            server.script(CHAINS, Answer(200, chain_payload(chain(symbol, expiration, spot)), extra),
                          when={"symbol": symbol, "expiration": expiration.isoformat()})


REFUSING_PROXY = "http://127.0.0.1:9"  # nothing listens there: a connection through it is refused at once
OFFLINE = (dict.fromkeys(("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"), REFUSING_PROXY)
           | dict.fromkeys(("no_proxy", "NO_PROXY"), "127.0.0.1,localhost"))
"""A scan process's proxies: the replay servers on 127.0.0.1 reached directly, anything else (Yahoo, the events
stand-in of the Tradier source) through a proxy that refuses, so its events stay unknown and nothing leaves the
machine."""


def tradier_scan_env(env: Mapping[str, str], server: ReplayServer, token: str = TOKEN) -> dict[str, str]:
    """The environment of a scan process whose Tradier source is `server`, market hours not enforced, offline."""
    return {**env, **OFFLINE, "SCANNER_PROVIDER": "tradier", "TRADIER_TOKEN": token, "TRADIER_URL_BASE": server.url,
            "SCANNER_ENFORCE_MARKET_HOURS": "false", "SCANNER_HTTP_TIMEOUT": GATE_TIMEOUT}
