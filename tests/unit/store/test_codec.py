"""The row codec: payloads carry their schema, so rows stored before a column was added still read."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import pyarrow as pa

from scanner.schema import STORED_COLUMNS
from scanner.store.codec import (
    CODEC_1_SCHEMA,
    ROWS_SCHEMA,
    arrow_schema,
    encode_groups,
    encode_rows,
    read_batches,
    to_frame,
)
from tests.unit.store.test_scans import _rows


def _decode(payloads: Mapping[str, bytes], schema: pa.Schema = ROWS_SCHEMA) -> tuple[pd.DataFrame, tuple[str, ...]]:
    batches, corrupt = read_batches(payloads, schema)
    return to_frame(batches, schema), corrupt


def test_corrupt_results_entries_are_skipped_and_named() -> None:
    good = encode_rows(_rows("AAPL", 1))
    truncated = good[: len(good) // 2]
    frame, corrupt = _decode({"AAPL": good, "BAD": b"{not arrow", "CUT": truncated, "NUL": b"\0" * len(good)})
    assert corrupt == ("BAD", "CUT", "NUL")
    assert len(frame) == 3
    assert _decode({})[0].empty


def test_rows_with_missing_columns_read_back_as_nulls() -> None:
    first = encode_rows(pd.DataFrame({"ticker": ["A"], "bid": [1.0], "volume": [3]}))
    second = encode_rows(pd.DataFrame({"ticker": ["B", "B"], "ask": [2.0, 3.0], "match": [True, False]}))
    frame, _ = _decode({"A": first, "B": second})
    assert frame["ticker"].tolist() == ["A", "B", "B"]
    assert frame["bid"].isna().tolist() == [False, True, True]
    assert frame["ask"].isna().tolist() == [True, False, False]
    assert frame["match"].tolist() == [False, True, False]
    assert list(frame.columns) == list(STORED_COLUMNS)


def test_rows_stored_before_a_column_was_added_read_with_that_column_empty() -> None:
    stored_today = encode_rows(_rows("AAPL", 2))
    tomorrow = pa.schema([*ROWS_SCHEMA, pa.field("a_later_metric", pa.float64())], metadata=ROWS_SCHEMA.metadata)
    frame, corrupt = _decode({"AAPL": stored_today}, tomorrow)
    assert corrupt == ()
    assert list(frame.columns) == [*STORED_COLUMNS, "a_later_metric"]
    assert frame["a_later_metric"].isna().all() and frame["match"].tolist() == [True, True, False]


def test_a_column_since_dropped_is_ignored() -> None:
    stored = encode_rows(_rows("AAPL", 1))
    smaller = arrow_schema(tuple(name for name in STORED_COLUMNS if name != "change_pct"))
    frame, corrupt = _decode({"AAPL": stored}, smaller)
    assert corrupt == () and "change_pct" not in frame and len(frame) == 3


def test_codec_1_payloads_of_scans_stored_before_the_codec_carried_its_schema_still_read() -> None:
    codec_1 = pa.ipc.open_stream(encode_rows(_rows("MSFT", 1), schema=CODEC_1_SCHEMA)).read_next_batch()
    legacy = codec_1.serialize().to_pybytes()  # codec 1: the bare batch of its day's columns, no schema before it
    frame, corrupt = _decode({"MSFT": legacy})
    assert corrupt == ()
    assert frame["ticker"].tolist() == ["MSFT"] * 3 and frame["match"].tolist() == [True, False, False]
    assert list(frame.columns) == list(STORED_COLUMNS) and frame["otm_pct"].isna().all()  # added since: empty


def test_a_frame_of_several_tickers_encodes_one_payload_per_group_of_rows() -> None:
    rows = pd.concat([_rows("AAPL", 1), _rows("MSFT", 2)], ignore_index=True)
    aapl, msft_kept = encode_groups(rows, [np.array([0, 1, 2]), np.array([4, 5])])
    frame, _ = _decode({"AAPL": aapl, "MSFT": msft_kept})
    assert frame["ticker"].tolist() == ["AAPL"] * 3 + ["MSFT"] * 2
    assert frame["strike"].tolist() == [100.0, 101.0, 102.0, 101.0, 102.0]
    assert _decode({"AAPL": aapl})[0].equals(_decode({"AAPL": encode_rows(_rows("AAPL", 1))})[0])
