"""The Yahoo source with yfinance's Ticker replaced by one serving the real GOOGL sample as yfinance DataFrames."""

from __future__ import annotations

from collections import namedtuple
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from yfinance.exceptions import YFRateLimitError

from scanner.config import Settings
from scanner.errors import ProviderError
from scanner.market import blackscholes
from scanner.providers.base import ChainRequest
from scanner.providers.httpclient import RetryPolicy
from scanner.providers.registry import get_provider
from scanner.providers.yahoo import YahooProvider
from scanner.scan.criteria import Criteria
from scanner.scan.screening import screen
from scanner.schema import CHAIN_COLUMNS
from tests.support.paths import shared_file

SAMPLE = "yfinance/GOOGL_2026-01-09_taken_2026-01-01.csv"  # one expiration, 2026-01-09, as yfinance gave it
TAKEN = date(2026, 1, 1)  # a market holiday: many bids are 0
SPOT = 313.51  # GOOGL's 2025-12-31 close; parity on the file's 312.5 strike puts it at about 313.3
Options = namedtuple("Options", ["calls", "puts", "underlying"])
FAST = RetryPolicy(attempts=3, backoff_base=0.01, backoff_cap=0.02)


class SampleTicker:
    """yfinance.Ticker's option surface (`options`, `option_chain`, `fast_info`) over the CSV sample."""

    def __init__(self, symbol: str, sample: pd.DataFrame, failures: list[Exception] | None = None,
                 quote: dict[str, Any] | None = None) -> None:
        self.symbol, self.sample = symbol, sample[sample.symbol == symbol]
        self.failures = failures if failures is not None else []
        self.quote = {"regularMarketPrice": SPOT} if quote is None else quote
        self.fast_info = {"lastPrice": SPOT}

    def _maybe_fail(self) -> None:
        if self.failures:
            raise self.failures.pop(0)

    @property
    def options(self) -> tuple[str, ...]:
        self._maybe_fail()
        return tuple(sorted(self.sample.expiry_date.unique()))

    def option_chain(self, expiration: str) -> Options:
        self._maybe_fail()
        rows = self.sample[self.sample.expiry_date == expiration]
        return Options(self._frame(rows[rows.option_type == "call"]), self._frame(rows[rows.option_type == "put"]),
                       self.quote)

    def _frame(self, rows: pd.DataFrame) -> pd.DataFrame:
        kind = rows.option_type.str[0].str.upper()
        return pd.DataFrame({
            "contractSymbol": self.symbol + "260109" + kind + (rows.strike * 1000).astype(int).astype(str).str.zfill(8),
            "lastTradeDate": pd.NaT, "strike": rows.strike, "lastPrice": rows.last_price, "bid": rows.bid,
            "ask": rows.ask, "change": 0.0, "percentChange": 0.0, "volume": rows.volume,
            "openInterest": rows.open_interest, "impliedVolatility": rows.implied_volatility,
            "inTheMoney": np.where(kind == "C", rows.strike < SPOT, rows.strike > SPOT), "contractSize": "REGULAR",
            "currency": "USD"}).reset_index(drop=True)


def read_sample() -> pd.DataFrame:
    return pd.read_csv(shared_file(SAMPLE))


@pytest.fixture
def sample() -> pd.DataFrame:
    return read_sample()


def sample_settings() -> Settings:
    """The rate and dividend yield the expected deltas are computed with."""
    return Settings(data_dir=Path("."), risk_free_rate=0.045, dividend_yield=0.003)


def yahoo(sample: pd.DataFrame, sleeps: list[float] | None = None, **ticker_kwargs: Any) -> YahooProvider:
    recorded = sleeps if sleeps is not None else []
    return YahooProvider(sample_settings(),
                         ticker_factory=lambda symbol: SampleTicker(symbol, sample, **ticker_kwargs),
                         retry=FAST, sleep=recorded.append)


def test_get_provider_builds_it() -> None:
    provider = get_provider("yahoo", Settings(data_dir=Path(".")))
    assert isinstance(provider, YahooProvider) and provider.live and not provider.simulated


def test_rows_of_the_sample(sample: pd.DataFrame) -> None:
    rows = yahoo(sample).fetch("googl", ChainRequest(sides=("put", "call"), weeks=4, as_of=TAKEN))
    assert tuple(rows.columns) == CHAIN_COLUMNS
    assert rows.groupby("side").size().to_dict() == {"call": 15, "put": 15}
    puts, calls = rows[rows.side == "put"], rows[rows.side == "call"]
    assert puts.strike.max() == 312.5 and (puts.strike < SPOT).all() and calls.strike.min() == 315.0
    assert (rows.expiration == date(2026, 1, 9)).all() and (rows.quote_date == TAKEN).all()
    assert (rows.ticker == "GOOGL").all() and (rows.underlying_price == SPOT).all()
    assert rows.option_symbol.iloc[0].startswith("GOOGL260109")
    assert rows.strike.dtype == rows.delta.dtype == rows.volume.dtype == np.float64


def test_delta_from_iv_with_the_configured_rate_and_dividend(sample: pd.DataFrame) -> None:
    rows = yahoo(sample).fetch("GOOGL", ChainRequest(sides=("put",), as_of=TAKEN))
    put = rows[rows.strike == 305.0].iloc[0]  # bid 1.75, IV 0.250374
    iv = sample[(sample.option_type == "put") & (sample.strike == 305.0)].implied_volatility.item()
    expected = blackscholes.delta("put", SPOT, 305.0, 9 / 365, iv, 0.045, 0.003)  # 8 DTE counts 9/365
    assert put.iv == iv and put.delta == pytest.approx(expected, abs=1e-12) and -0.35 < put.delta < -0.2
    assert put.delta != pytest.approx(blackscholes.delta("put", SPOT, 305.0, 9 / 365, iv), abs=1e-5)


def test_junk_quotes_get_no_delta_and_never_match(sample: pd.DataFrame) -> None:
    rows = yahoo(sample).fetch("GOOGL", ChainRequest(sides=("put", "call"), weeks=2, strike_limit=50, as_of=TAKEN))
    junk = rows.iv.isna()
    assert (rows.bid == 0).sum() > 5 and junk[rows.bid == 0].all()  # the holiday sample's zero bids
    absurd = sample[(sample.implied_volatility > 5) | (sample.implied_volatility <= 0)]
    assert rows.merge(absurd.rename(columns={"option_type": "side"}), on=["side", "strike"]).iv.isna().all()
    assert rows.loc[junk, "delta"].isna().all()
    assert rows.loc[~junk, "delta"].notna().all()
    anything = Criteria(side="both", min_put_annualized=-1e9, put_delta_floor=-1.0, min_call_annualized=-1e9,
                        call_delta_table=((7, 1.0),), call_delta_beyond=1.0)
    screened = screen(rows, anything, TAKEN)
    assert not screened.match[screened.iv.isna()].any() and screened.match[screened.iv.notna()].all()


def test_only_weekly_expirations_listed_by_yahoo(sample: pd.DataFrame) -> None:
    provider = yahoo(sample)
    assert provider.fetch("GOOGL", ChainRequest(weeks=1, as_of=TAKEN)).empty  # 2026-01-02 is not listed
    rows = provider.fetch("GOOGL", ChainRequest(weeks=1, as_of=date(2026, 1, 2)))  # 2026-01-09 is
    assert len(rows) == 15 and tuple(rows.columns) == CHAIN_COLUMNS and tuple(rows.columns) == CHAIN_COLUMNS


def test_underlying_price_falls_back_to_the_ticker(sample: pd.DataFrame) -> None:
    rows = yahoo(sample, quote={}).fetch("GOOGL", ChainRequest(as_of=TAKEN))
    assert (rows.underlying_price == SPOT).all()


def test_rate_limit_backs_off_and_retries(sample: pd.DataFrame) -> None:
    sleeps: list[float] = []
    throttled = yahoo(sample, sleeps, failures=[YFRateLimitError(), YFRateLimitError()])
    rows = throttled.fetch("GOOGL", ChainRequest(as_of=TAKEN))
    assert len(rows) == 15 and len(sleeps) == 2


def test_endless_rate_limit_is_a_ticker_error(sample: pd.DataFrame) -> None:
    with pytest.raises(ProviderError, match="rate limiting"):
        yahoo(sample, failures=[YFRateLimitError()] * 5).fetch("GOOGL", ChainRequest(as_of=TAKEN))


def test_other_failures_are_ticker_errors(sample: pd.DataFrame) -> None:
    with pytest.raises(ProviderError, match="KeyError"):
        yahoo(sample, failures=[KeyError("optionChain")]).fetch("GOOGL", ChainRequest(as_of=TAKEN))


def test_a_dte_window_takes_the_listed_expirations_in_it(sample: pd.DataFrame) -> None:
    provider = yahoo(sample)  # the sample lists 2026-01-09 alone: 8 DTE from 2026-01-01
    rows = provider.fetch("GOOGL", ChainRequest(dte_window=(8, 8), as_of=TAKEN))
    assert set(rows.expiration) == {date(2026, 1, 9)} and len(rows) == 15
    assert provider.fetch("GOOGL", ChainRequest(dte_window=(9, 730), as_of=TAKEN)).empty
