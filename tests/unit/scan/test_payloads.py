"""Property tests over provider payloads: screening never raises, unusable rows are dropped and counted."""

from __future__ import annotations

import json
import math
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import example, given, settings
from hypothesis import strategies as st

from scanner.scan.criteria import Criteria
from scanner.scan.screening import screen, unusable
from scanner.schema import CHAIN_COLUMNS, RESULT_COLUMNS, SIDES
from tests.support.processes import run_cli

AS_OF = date(2026, 11, 30)
JUNK = st.one_of(st.none(), st.just(float("nan")), st.just(float("inf")), st.just(-1e308), st.just(1e308),
                 st.text(max_size=6), st.integers(-10**12, 10**12), st.floats(-1e6, 1e6, allow_nan=False))
VALUES = {
    "ticker": st.one_of(st.sampled_from(["AAPL", "MSFT"]), JUNK),
    "side": st.one_of(st.sampled_from(["put", "call", "PUT", "Call ", "x"]), JUNK),
    "expiration": st.one_of(st.sampled_from(["2026-12-04", "2026-12-11", "1999-01-01", "nonsense"]),
                            st.integers(0, 2_000_000_000), JUNK),
    "strike": st.one_of(st.floats(0.5, 2000), JUNK),
    "bid": st.one_of(st.floats(0, 50), JUNK),
    "ask": st.one_of(st.floats(0, 60), JUNK),
    "iv": st.one_of(st.floats(0.01, 3), JUNK),
    "delta": st.one_of(st.floats(-1, 1), JUNK),
    "underlying_price": st.one_of(st.floats(1, 2000), JUNK),
}


@st.composite
def chains(draw: st.DrawFn) -> pd.DataFrame:
    rows = draw(st.integers(0, 12))
    names = draw(st.sets(st.sampled_from(CHAIN_COLUMNS), min_size=0))
    return pd.DataFrame({name: [draw(VALUES.get(name, JUNK)) for _ in range(rows)] for name in names},
                        index=range(rows), dtype=object)


@settings(max_examples=300, deadline=None)
@given(chains(), st.sampled_from(["put", "call", "both"]))
@example(pd.DataFrame({"bid": [1e308], "strike": [1.0], "side": ["put"], "expiration": ["2026-12-11"]}, dtype=object),
         "put")  # found by this test under load: a finite bid whose annualized return overflows
def test_screening_never_raises_and_flags_unusable_rows(chain: pd.DataFrame, side: str) -> None:
    with np.errstate(all="raise"):  # no silent floating-point warning either
        screened = screen(chain, Criteria(side=side), AS_OF)
    assert list(screened.columns) == list(RESULT_COLUMNS) and len(screened) == len(chain)
    bad = unusable(screened)
    kept = screened[~bad]
    assert kept["side"].isin(SIDES).all()
    assert (kept["strike"].astype(float) > 0).all() and (kept["bid"].astype(float) >= 0).all()
    assert not (screened["match"].to_numpy(dtype=bool) & bad).any()  # an unusable row never matches
    for value in kept["annualized_return_pct"].astype(float):
        assert math.isfinite(value) or math.isnan(value)


def test_a_scan_drops_and_counts_unusable_rows(scanner_env: dict[str, str], tmp_path: Path) -> None:
    good = {"ticker": "AAPL", "side": "put", "expiration": "2026-12-04", "bid": 1.2, "ask": 1.3, "last": 1.25,
            "volume": 10, "open_interest": 100, "iv": 0.3, "delta": -0.15, "underlying_price": 230.0,
            "quote_date": "2026-11-27"}
    rows = [{**good, "strike": strike, "option_symbol": f"AAPL  261204P{int(strike * 1000):08d}"}
            for strike in (210.0, 215.0, 220.0)]
    rows += [{**rows[0], "strike": 0.0, "option_symbol": "ZERO"}, {**rows[0], "bid": -0.5, "option_symbol": "NEG"},
             {**rows[0], "strike": None, "option_symbol": "NULL"}]
    folder = tmp_path / "chains"
    folder.mkdir()
    pd.DataFrame(rows).to_csv(folder / "aapl.csv", index=False)
    env = {**scanner_env, "SCANNER_SNAPSHOT_DIR": str(folder)}
    done = run_cli(["scan", "--provider", "snapshot", "--tickers", "AAPL", "--ignore-market-hours"], env)
    assert done.returncode == 0, done.stderr
    latest = json.loads(run_cli(["status", "--json"], env).stdout)["latest"]
    # The zero strike and the negative bid reach screening and are counted; the null strike cannot be placed
    # in or out of the money, so the source's OTM cut already leaves it out.
    assert (latest["contracts"], latest["invalid_rows"]) == (3, 2)
    assert "2 unusable rows dropped" in latest["message"]
    exported = run_cli(["export", "--all", "--output", "-"], env).stdout
    assert "NEG" not in exported and "ZERO" not in exported and "NULL" not in exported
