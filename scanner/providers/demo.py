"""A simulated market: realistic enough to explore the app with no API key, labelled as simulated.

Prices are Black-Scholes values with put skew and a mild term structure, quoted with tick-rounded
bid/ask spreads on standard strike steps and weekly expirations that respect exchange holidays.
Everything is a pure function of (ticker, quote date), so a scan is reproducible within a day.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd

from scanner.config import Settings
from scanner.errors import ProviderError
from scanner.market import blackscholes
from scanner.market.calendar import next_session, weekly_expirations
from scanner.market.candles import DailyCloses, window_start
from scanner.market.events import TickerEvents
from scanner.market.volatility import iv30
from scanner.providers.base import ChainRequest, Registered, live_quote_date
from scanner.providers.chains import empty_chain
from scanner.providers.demo_events import simulated_events
from scanner.scan.positions import parse_option_symbol
from scanner.scan.watchlist import SYMBOL
from scanner.schema import CHAIN_COLUMNS

_SPOT_RANGE = (15.0, 900.0)  # log-uniform over the ticker hash, for symbols without a reference level
# Rough reference levels (spot, ATM implied vol) for familiar symbols, round numbers of a plausible
# late-2026 magnitude so AAPL does not show up at $20; simulated, not market data. Other symbols
# get a level derived from a hash of the name. Either way the daily drift below is applied.
_REFERENCE = {
    "AAPL": (230.0, 0.25), "ADBE": (480.0, 0.32), "AMZN": (200.0, 0.30), "ANET": (100.0, 0.46),
    "ASML": (750.0, 0.34), "AVGO": (170.0, 0.46), "CRM": (290.0, 0.32), "CRWD": (350.0, 0.48),
    "DDOG": (130.0, 0.50), "DUOL": (300.0, 0.55), "GOOGL": (170.0, 0.28), "JPM": (220.0, 0.22),
    "MA": (500.0, 0.20), "META": (580.0, 0.35), "MSFT": (420.0, 0.24), "NFLX": (700.0, 0.33),
    "NOW": (900.0, 0.32), "NVDA": (140.0, 0.52), "PANW": (180.0, 0.38), "PLTR": (40.0, 0.65),
    "PYPL": (70.0, 0.40), "SHOP": (80.0, 0.55), "SPGI": (500.0, 0.20), "SPOT": (400.0, 0.45),
    "UBER": (70.0, 0.42), "V": (280.0, 0.19),
    "SPY": (570.0, 0.14), "QQQ": (490.0, 0.18), "IWM": (220.0, 0.21), "TSLA": (250.0, 0.58),
    "AMD": (150.0, 0.48), "INTC": (22.0, 0.50), "KO": (65.0, 0.16), "DIS": (95.0, 0.27),
}
_VOL_RANGE = (0.22, 0.75)  # at-the-money implied vol
_STRIKE_STEPS = ((25.0, 0.5), (100.0, 1.0), (200.0, 2.5), (500.0, 5.0), (np.inf, 10.0))  # (spot below, step)
_SKEW = 0.8  # IV rises by ~8 % of ATM vol per 10 % the strike sits below spot
_SMILE = 1.5  # and curves up again far from the money on both sides
_TERM = 0.04  # longer expirations trade at slightly higher vol
_LISTED_WEEKLIES = 8  # the demo lists the next 8 weeklies, then monthlies (the third Friday's week) ...
_PATH_START = date(2000, 1, 3).toordinal()  # day 0 of each ticker's stream of simulated daily returns
_LISTED_DAYS = 730  # ... out to about two years, as exchanges list LEAPS: what a DTE window selects from


def _rng(*parts: object) -> np.random.Generator:
    """A generator seeded by a stable hash of `parts` (Python's hash() is salted per process)."""
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:16], "little"))


def _strike_step(spot: float) -> float:
    return next(step for below, step in _STRIKE_STEPS if spot < below)


def _tick_round(prices: np.ndarray, up: bool) -> np.ndarray:
    """Round to the quoting tick: pennies under $3, nickels above."""
    tick = np.where(prices < 3.0, 0.01, 0.05)
    steps = np.ceil(prices / tick - 1e-9) if up else np.floor(prices / tick + 1e-9)
    return np.round(steps * tick, 2)


def _expirations(request: ChainRequest, quote_date: date) -> list[date]:
    """What a chain request fetches: the next `weeks` weeklies, or every listed expiration in its DTE window."""
    if request.dte_window is None:
        return weekly_expirations(quote_date, request.weeks)
    return request.in_window(listed_expirations(quote_date), quote_date)


def _otm_strikes(side: str, spot: float, strike_limit: int) -> np.ndarray:
    """The `strike_limit` standard strikes nearest the money on one side, ascending: puts strictly below spot,
    calls strictly above."""
    step = _strike_step(spot)
    offsets = np.arange(strike_limit)
    if side == "put":
        strikes = (np.ceil(spot / step) - 1 - offsets[::-1]) * step
        strikes = strikes[strikes > 0]
    else:
        strikes = (np.floor(spot / step) + 1 + offsets) * step
    return np.round(strikes, 2)


def _smile(atm_vol: float, dte: int, moneyness: np.ndarray) -> np.ndarray:
    """The IV at log-moneyness `moneyness`: put skew, a smile and a mild term structure, floored at half the ATM."""
    term = 1 + _TERM * np.log((dte + 1) / 30)
    return np.maximum(atm_vol * term * (1 - _SKEW * moneyness + _SMILE * moneyness**2), 0.5 * atm_vol)


def listed_expirations(quote_date: date) -> list[date]:
    """The simulated market's listed expirations after `quote_date`: the next weeklies, then each month's
    standard expiration (the week of its third Friday; a holiday Friday moves to the day before) to ~2 years."""
    weeks = _LISTED_DAYS // 7 + 1
    every_week = weekly_expirations(quote_date, weeks)
    return [day for place, day in enumerate(every_week)
            if (day - quote_date).days <= _LISTED_DAYS
            and (place < _LISTED_WEEKLIES or 15 <= (day + timedelta(days=4 - day.weekday())).day <= 21)]


class DemoProvider(Registered):
    """Deterministic simulated option chains (DESIGN "Data sources": demo)."""

    def __init__(self, delay_ms: int = 0, now: Callable[[], datetime] | None = None) -> None:
        self.delay_ms = delay_ms
        self._now = now

    @classmethod
    def from_settings(cls, settings: Settings) -> DemoProvider:
        return cls(delay_ms=settings.demo_delay_ms)

    def quote_date(self, request: ChainRequest) -> date:
        return live_quote_date(request, self._now)

    def fetch(self, ticker: str, request: ChainRequest) -> pd.DataFrame:
        symbol = str(ticker).strip().upper()
        if not SYMBOL.fullmatch(symbol):
            raise ProviderError(f"unknown ticker {ticker!r}: expected 1-10 letters, digits, '.' or '-'")
        quote_date = self.quote_date(request)
        spot, atm_vol = self._underlying(symbol, quote_date)
        frames = []
        expirations = _expirations(request, quote_date)
        for expiration in expirations:
            if self.delay_ms:
                time.sleep(self.delay_ms / 1000)  # one simulated request per (ticker, expiration)
            frames += [self._chain(symbol, side, expiration, quote_date, spot, atm_vol, request.strike_limit)
                       for side in sorted(request.sides)]
        if not frames:
            return empty_chain()
        return pd.concat(frames, ignore_index=True).sort_values(
            ["side", "expiration", "strike"], ignore_index=True, kind="stable")

    def events(self, ticker: str, as_of: date) -> TickerEvents:
        """Simulated earnings and dividends (providers.demo_events), fixed per ticker, sized by its price that day."""
        symbol = str(ticker).strip().upper()
        spot, _ = self._underlying(symbol, as_of)
        draws = _rng("demo-events", symbol).random(4)
        return simulated_events(symbol, as_of, spot, (draws[0], draws[1], draws[2], draws[3]))

    def simulated_iv30(self, ticker: str, request: ChainRequest) -> float:
        """The IV30 a scan of `request` would find on its quote date, without building the chain: each expiration's
        ATM IV is the mean of its nearest OTM put's and call's IVs (the one side asked for alone), as screening
        takes it, through market.volatility.iv30. What a demo backfill records for each past session."""
        symbol = str(ticker).strip().upper()
        quote_date = self.quote_date(request)
        spot, atm_vol = self._underlying(symbol, quote_date)
        expirations = _expirations(request, quote_date)
        days = np.array([(expiration - quote_date).days for expiration in expirations], dtype=float)
        atm = np.full(days.size, np.nan)
        for index, dte in enumerate(days):
            ivs = [np.round(_smile(atm_vol, int(dte), np.log(strikes[-1 if side == "put" else 0] / spot)), 4)
                   for side in request.sides if (strikes := _otm_strikes(side, spot, 1)).size]
            atm[index] = np.mean(ivs) if ivs else np.nan
        return iv30(days, atm)

    def candles(self, ticker: str, as_of: date) -> DailyCloses:
        """A simulated path of the sessions before `as_of` ending at that day's price: each session's log return
        drawn from N(0, vol² / 252) with the ticker's ATM vol, fixed per (ticker, session) (one stream of draws per
        ticker, indexed by day), so HV20 lands near the IV the chains quote."""
        symbol = str(ticker).strip().upper()
        spot, vol = self._underlying(symbol, as_of)
        sessions, day = [], next_session(window_start(as_of) - timedelta(days=1))  # next_session is cached
        while day < as_of:
            sessions.append(day)
            day = next_session(day)
        if not sessions:
            return DailyCloses()
        draws = _rng("demo-close", symbol).standard_normal(sessions[-1].toordinal() - _PATH_START + 1)
        shocks = draws[[session.toordinal() - _PATH_START for session in sessions[1:]]]
        steps = np.r_[0.0, np.cumsum(shocks * vol / np.sqrt(252))]
        closes = np.round(spot * np.exp(steps - steps[-1]), 2)
        return DailyCloses.of(zip(sessions, closes, strict=True), before=as_of)

    @staticmethod
    def _underlying(symbol: str, quote_date: date) -> tuple[float, float]:
        """(spot, ATM vol): fixed per ticker, plus a smooth drift over days and a little daily noise."""
        u_spot, u_vol, phase_slow, phase_fast = _rng("demo-ticker", symbol).random(4)
        daily_noise, vol_noise = _rng("demo-day", symbol, quote_date.isoformat()).standard_normal(2)
        day = quote_date.toordinal()
        drift = (0.12 * np.sin(2 * np.pi * (day / 180 + phase_slow))
                 + 0.04 * np.sin(2 * np.pi * (day / 23 + phase_fast)) + 0.01 * daily_noise)
        if symbol in _REFERENCE:
            level, vol = _REFERENCE[symbol]
        else:
            low, high = np.log(_SPOT_RANGE)
            level = np.exp(low + u_spot * (high - low))
            vol = _VOL_RANGE[0] + (_VOL_RANGE[1] - _VOL_RANGE[0]) * u_vol ** 2  # most names are not meme stocks
        spot = float(np.round(level * np.exp(drift), 2))
        return spot, float(vol * np.exp(0.05 * vol_noise))

    def option_quotes(self, option_symbols: list[str], request: ChainRequest) -> pd.DataFrame:
        """Contracts by OCC symbol, in the money or not (a short option a scan's OTM chain no longer holds), priced
        as the chains are; a symbol that is not OCC's is skipped."""
        frames = []
        quote_date = self.quote_date(request)
        for text in option_symbols:
            try:
                contract = parse_option_symbol(text)
            except ValueError:
                continue
            spot, atm_vol = self._underlying(contract.ticker, quote_date)
            frames.append(self._contracts(contract.ticker, contract.side.value, contract.expiration, quote_date, spot,
                                          atm_vol, np.array([contract.strike])))
        return pd.concat(frames, ignore_index=True) if frames else empty_chain()

    @classmethod
    def _chain(cls, symbol: str, side: str, expiration: date, quote_date: date, spot: float, atm_vol: float,
               strike_limit: int) -> pd.DataFrame:
        """`strike_limit` OTM contracts of one side and expiration, strikes ascending."""
        strikes = _otm_strikes(side, spot, strike_limit)
        return cls._contracts(symbol, side, expiration, quote_date, spot, atm_vol, strikes)

    @staticmethod
    def _contracts(symbol: str, side: str, expiration: date, quote_date: date, spot: float, atm_vol: float,
                   strikes: np.ndarray) -> pd.DataFrame:
        """The contracts of one side and expiration at `strikes`, priced."""
        dte = (expiration - quote_date).days
        t_years = blackscholes.year_fraction(dte)
        rng = _rng("demo-chain", symbol, side, expiration.isoformat(), quote_date.isoformat())

        moneyness = np.log(strikes / spot)
        iv = _smile(atm_vol, dte, moneyness)
        fair = blackscholes.price(side, spot, strikes, t_years, iv)
        half_spread = 0.5 * (0.01 + 0.06 * fair + 0.03 * np.sqrt(fair)) * rng.uniform(0.8, 1.3, strikes.size)
        bid = np.maximum(_tick_round(fair - half_spread, up=False), 0.0)
        ask = np.maximum(_tick_round(fair + half_spread, up=True), bid + 0.01)
        last = np.maximum(_tick_round(fair * rng.uniform(0.97, 1.03, strikes.size), up=False), 0.01)
        open_interest = np.floor(rng.uniform(200, 6000) * np.exp(-12 * np.abs(moneyness))
                                 * rng.uniform(0.5, 1.5, strikes.size))
        volume = np.floor(open_interest * rng.uniform(0.02, 0.4, strikes.size))

        root = re.sub(r"[.\-]", "", symbol)[:6].ljust(6)
        prefix = f"{root}{expiration:%y%m%d}{side[0].upper()}"
        return pd.DataFrame({
            "ticker": symbol,
            "side": side,
            "expiration": expiration,
            "strike": strikes,
            "bid": bid,
            "ask": ask,
            "last": last,
            "volume": volume.astype(np.int64),
            "open_interest": open_interest.astype(np.int64),
            "iv": np.round(iv, 4),
            "delta": np.round(blackscholes.delta(side, spot, strikes, t_years, iv), 4),
            "underlying_price": spot,
            "quote_date": quote_date,
            "option_symbol": np.char.add(prefix, np.char.mod("%08d", np.round(strikes * 1000).astype(np.int64))),
        }, columns=list(CHAIN_COLUMNS))
