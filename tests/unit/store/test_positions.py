"""The books in Redis: a property test that no form input or CSV ever stores anything invalid (a refusal changes
nothing), the books of two users and the shared one apart, and a hand-edited stored value read as empty."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scanner.scan.positions import Book, PositionsError
from scanner.store.positions import SHARED_BOOK, PositionsRecord, book_field
from scanner.store.scans import ScanStore

_TEXT = st.one_of(st.text(max_size=14), st.sampled_from(["AAPL", "-5", "0", "1e9", "1e12", "nan", "inf", "abc", "",
                                                         "AAPL261218P00150000", "aapl  261218c00200000", "2026-11-02",
                                                         "=1+1", "100", "150.25"]),
                  st.floats(allow_nan=True, allow_infinity=True).map(str), st.integers(-10**10, 10**10).map(str))
_ACTIONS = st.lists(st.one_of(
    st.tuples(st.just("add_stock"), _TEXT, _TEXT, _TEXT),
    st.tuples(st.just("add_option"), _TEXT, _TEXT, _TEXT, _TEXT),
    st.tuples(st.just("set_cash"), _TEXT),
    st.tuples(st.just("remove"), _TEXT),
    st.tuples(st.just("import_csv"), st.lists(st.tuples(st.sampled_from(["stock", "option", "cash"]), _TEXT, _TEXT,
                                                        _TEXT), max_size=4)),
), max_size=8)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=150)
@given(actions=_ACTIONS)
def test_no_form_input_or_csv_ever_stores_anything_invalid(fake_store: ScanStore, actions: list[tuple]) -> None:
    record = PositionsRecord(fake_store.client, fake_store.keys, "ann@example.com")
    fake_store.client.delete(fake_store.keys.positions)
    for name, *values in actions:
        before = fake_store.client.hget(fake_store.keys.positions, book_field("ann@example.com"))
        if name == "import_csv":
            values = ["\n".join(",".join(str(c).replace(",", "").replace("\n", "").replace("\r", "").replace('"', "")
                                         for c in row) for row in values[0])]
        try:
            getattr(record, name)(*values, **({"replace": False} if name == "import_csv" else {}))
        except PositionsError:
            assert fake_store.client.hget(fake_store.keys.positions, book_field("ann@example.com")) == before
            continue
        stored = json.loads(fake_store.client.hget(fake_store.keys.positions, book_field("ann@example.com")))
        book = Book.from_dict(stored)  # raises if anything stored breaks a rule
        assert all(h.shares > 0 and h.cost_basis > 0 for h in book.holdings)
        assert all(o.contracts > 0 and o.premium >= 0 for o in book.options)
    assert fake_store.client.hkeys(fake_store.keys.positions) in ([], [book_field("ann@example.com")])


def test_books_are_apart_and_an_e_mail_never_names_a_field(fake_store: ScanStore) -> None:
    PositionsRecord(fake_store.client, fake_store.keys, "Ann@Example.com ").add_stock("AAPL", 100, 150)
    PositionsRecord(fake_store.client, fake_store.keys, "bob@example.com").set_cash(1000)
    PositionsRecord(fake_store.client, fake_store.keys).add_stock("MSFT", 100, 300)
    assert PositionsRecord(fake_store.client, fake_store.keys, "ann@example.com").load().cash is None
    assert PositionsRecord(fake_store.client, fake_store.keys, "bob@example.com").load().holdings == ()
    assert [h.ticker for h in PositionsRecord(fake_store.client, fake_store.keys).load().holdings] == ["MSFT"]
    fields = fake_store.client.hkeys(fake_store.keys.positions)
    assert len(fields) == 3 and SHARED_BOOK in fields and not any("@" in field for field in fields)
    assert book_field("") == book_field(None) == SHARED_BOOK


def test_a_stored_book_that_no_longer_validates_reads_as_empty(fake_store: ScanStore) -> None:
    fake_store.client.hset(fake_store.keys.positions, SHARED_BOOK, json.dumps({"holdings": [{"ticker": "A",
                                                                                           "shares": -1}]}))
    assert PositionsRecord(fake_store.client, fake_store.keys).load() == Book()
    fake_store.client.hset(fake_store.keys.positions, SHARED_BOOK, "not json")
    assert PositionsRecord(fake_store.client, fake_store.keys).load() == Book()
