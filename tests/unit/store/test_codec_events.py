"""Stored event flags keep "unknown" apart from false, and scans stored before events read with them empty."""

from __future__ import annotations

import pandas as pd

from scanner.store.codec import decode_payload, encode_rows, to_frame


def test_event_flags_read_back_true_false_and_unknown() -> None:
    rows = pd.DataFrame({"ticker": ["A", "A", "A"], "match": [True, False, False],
                         "earnings_in_window": pd.array([True, False, None], dtype="boolean")})
    frame = to_frame(decode_payload(encode_rows(rows)))
    assert frame["earnings_in_window"].tolist() == [True, False, pd.NA]
    assert frame["match"].dtype == bool


def test_a_scan_stored_before_events_reads_them_empty_never_false() -> None:
    frame = to_frame(decode_payload(encode_rows(pd.DataFrame({"ticker": ["A"], "match": [True]}))))
    for name in ("earnings_in_window", "ex_dividend_in_window", "assignment_risk"):
        assert frame[name].isna().all()
    assert frame["earnings_date"].isna().all()
