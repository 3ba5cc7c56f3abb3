"""The book's rules by hand: what a holding, an open option and cash accept, sizing (calls free, free cash), an
assignment's cost basis, and the CSV form, with a property test that nothing invalid is ever built."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scanner.scan.positions import (
    Book,
    Holding,
    PositionsError,
    ShortOption,
    parse_csv,
    parse_option_symbol,
    to_csv,
)
from scanner.schema import Side

PUT = "AAPL261218P00150000"
CALL = "AAPL261218C00200000"


def test_an_occ_symbol_names_ticker_side_expiration_and_strike() -> None:
    contract = parse_option_symbol("aapl  261218p00150500")
    assert (contract.ticker, contract.side, contract.expiration, contract.strike) == (
        "AAPL", Side.PUT, date(2026, 12, 18), 150.5)
    for bad in ("AAPL", "AAPL261218X00150000", "AAPL261318P00150000", "AAPL261218P00000000", "=cmd261218P00150000"):
        with pytest.raises(ValueError):
            parse_option_symbol(bad)


@pytest.mark.parametrize(("shares", "basis", "words"), [
    ("-100", "150", "shares '-100' must be above 0"),
    ("0", "150", "must be above 0"),
    ("100.5", "150", "not a whole number"),
    ("100", "abc", "cost basis 'abc' is not a number"),
    ("100", "nan", "not a finite number"),
    ("100", "0", "cost basis '0' must be above 0"),
])
def test_a_holding_refuses_what_is_no_holding(shares: str, basis: str, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        Holding.of("AAPL", shares, basis)


def test_calls_free_are_lots_less_calls_written() -> None:
    book = Book((Holding("AAPL", 250, 150.0),), (ShortOption(CALL, 1, 2.0),))
    assert book.holding("AAPL").lots == 2 and book.calls_written("AAPL") == 1 and book.calls_free("AAPL") == 1
    assert Book((Holding("AAPL", 99, 150.0),)).calls_free("AAPL") == 0
    assert Book((Holding("AAPL", 100, 1.0),), (ShortOption(CALL, 3, 2.0),)).calls_free("AAPL") == 0  # never < 0


def test_free_cash_is_cash_less_the_open_puts_collateral() -> None:
    book = Book(options=(ShortOption(PUT, 2, 3.0), ShortOption(CALL, 1, 2.0)), cash=50_000)
    assert book.put_collateral == 150 * 100 * 2 and book.free_cash == 50_000 - 30_000
    assert Book().free_cash is None


def test_an_assigned_put_becomes_shares_at_strike_less_premium() -> None:
    book = Book(options=(ShortOption(PUT, 2, 3.0),)).assigned(PUT)
    assert book.options == () and book.holdings == (Holding("AAPL", 200, 147.0),)
    averaged = Book((Holding("AAPL", 200, 157.0),), (ShortOption(PUT, 2, 3.0),)).assigned(PUT)
    assert averaged.holdings == (Holding("AAPL", 400, (200 * 157 + 200 * 147) / 400),)


def test_an_assigned_call_takes_its_shares_away() -> None:
    book = Book((Holding("AAPL", 300, 150.0),), (ShortOption(CALL, 2, 2.0),)).assigned(CALL)
    assert book.holdings == (Holding("AAPL", 100, 150.0),) and book.options == ()
    assert Book((Holding("AAPL", 100, 150.0),), (ShortOption(CALL, 1, 2.0),)).assigned(CALL).holdings == ()


def test_csv_round_trips_and_names_every_bad_row() -> None:
    book = Book((Holding("AAPL", 200, 150.25),), (ShortOption(PUT, 1, 3.1, date(2026, 11, 2)),), 25_000.0)
    assert parse_csv(to_csv(book)) == book
    with pytest.raises(PositionsError) as refused:
        parse_csv("type,symbol,quantity,price,opened_on\nstock,AAPL,-5,150\noption,NOPE,1,2\nstock,MSFT,100,300\n"
                  "bond,X,1,1\nstock,MSFT,100,301\n")
    message = str(refused.value)
    assert "line 2: shares '-5'" in message and "line 3: option symbol 'NOPE'" in message
    assert "line 5: type 'bond'" in message and "ticker MSFT listed twice" in message


_CELL = st.one_of(st.text(max_size=12), st.integers(-10**6, 10**7).map(str),
                  st.floats(allow_nan=True, allow_infinity=True).map(str), st.sampled_from([PUT, CALL, "AAPL", ""]))


@given(st.lists(st.tuples(st.sampled_from(["stock", "option", "cash", "x"]), _CELL, _CELL, _CELL, _CELL),
                max_size=6))
def test_a_csv_builds_a_valid_book_or_is_refused(rows: list[tuple[str, ...]]) -> None:
    text = "\n".join(",".join(cell.replace(",", "").replace("\n", "").replace('"', "").replace("\r", "")
                              for cell in row) for row in rows)
    try:
        book = parse_csv(text)
    except PositionsError:
        return
    assert Book.from_dict(book.to_dict()) == book  # every entry passes the rules again
    assert all(h.shares > 0 and h.cost_basis > 0 for h in book.holdings)
    assert all(o.contracts > 0 and o.premium >= 0 for o in book.options)
    assert book.cash is None or book.cash >= 0
