"""The row codec: screened rows as Arrow record batches in Redis, each carrying its own schema.

A payload is an Arrow IPC stream (schema, then one record batch) whose schema metadata names the codec version.
Reading conforms every payload to today's schema (``scanner.schema``): a column added since the scan was stored
reads as empty, a column since dropped is ignored. Payloads of codec 1 (a bare record batch of the columns of its
day, no schema) still read. Only this module knows the byte layout; the store moves payloads, pages get frames.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import pyarrow as pa

from scanner.schema import BY_NAME, STORED_COLUMNS, Kind

CODEC_VERSION = 2
_VERSION_KEY = b"scanner_codec"
_ARROW_TYPES = {Kind.FLOAT: pa.float64(), Kind.INT: pa.int64(), Kind.TEXT: pa.string(), Kind.DATE: pa.timestamp("s"),
                Kind.BOOL: pa.bool_()}

# Codec 1 stored bare record batches of exactly these columns (the schema of late 2026), with no schema attached.
CODEC_1_COLUMNS = (
    "ticker", "side", "expiration", "strike", "bid", "ask", "last", "volume", "open_interest", "iv", "delta",
    "underlying_price", "quote_date", "option_symbol", "dte", "mid", "spread_pct", "premium", "collateral",
    "break_even", "prob_otm", "annualized_return_pct", "change_pct", "match",
)

ROW_ERRORS = (pa.ArrowException, ValueError, OSError, EOFError)
_TABLE_COMPRESSION = "lz4"  # a finished scan's table (one_payload); a ticker's few rows are not worth the CPU


def use_system_allocator() -> None:
    """Arrow allocates with malloc from here on, as Python's own bytes do: the stored payloads a scan's compaction
    frees are then reused for the table it builds, instead of a second allocator's pages on top of them (a
    500-ticker scan process peaked about 30 MB lower). Process-wide: the scan process calls it."""
    pa.set_memory_pool(pa.system_memory_pool())


def arrow_schema(columns: tuple[str, ...] = STORED_COLUMNS) -> pa.Schema:
    """The Arrow schema of stored rows, from the column schema's kinds."""
    return pa.schema([pa.field(name, _ARROW_TYPES[BY_NAME[name].kind]) for name in columns],
                     metadata={_VERSION_KEY: str(CODEC_VERSION).encode()})


ROWS_SCHEMA = arrow_schema()
CODEC_1_SCHEMA = pa.schema([pa.field(name, _ARROW_TYPES[BY_NAME[name].kind]) for name in CODEC_1_COLUMNS])


def _arrow_column(frame: pd.DataFrame, field: pa.Field) -> pa.Array:
    """One column of `frame` as the field's Arrow type; all null when the frame lacks it."""
    if field.name not in frame:
        return pa.nulls(len(frame), field.type)
    column = frame[field.name]
    if pa.types.is_timestamp(field.type) and not pd.api.types.is_datetime64_dtype(column.dtype):
        column = pd.to_datetime(column, errors="coerce")
    array = pa.array(column, type=field.type, from_pandas=True)
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array  # pyarrow-backed text


def _write(batch: pa.RecordBatch, sink: pa.NativeFile, compression: str | None = None) -> None:
    with pa.ipc.new_stream(sink, batch.schema, options=pa.ipc.IpcWriteOptions(compression=compression)) as writer:
        writer.write_batch(batch)


def _stream(batch: pa.RecordBatch) -> bytes:
    sink = pa.BufferOutputStream()
    _write(batch, sink)
    return sink.getvalue().to_pybytes()


def encode_rows(frame: pd.DataFrame, keep: np.ndarray | None = None, schema: pa.Schema = ROWS_SCHEMA) -> bytes:
    """One ticker's screened rows (those `keep` marks, else all) as a payload of `schema` (missing columns null)."""
    return encode_groups(frame, [np.arange(len(frame)) if keep is None else np.flatnonzero(keep)], schema)[0]


def encode_groups(frame: pd.DataFrame, groups: list[np.ndarray], schema: pa.Schema = ROWS_SCHEMA) -> list[bytes]:
    """A payload per group of `frame`'s rows (each group their positions, in order): several tickers screened as
    one frame, stored one payload each.

    The frame goes to Arrow once, column by column rather than Table.from_pandas, and each group's rows are picked
    in Arrow: pandas' own per-call cost was most of a small ticker's, so a batch of tickers pays it once."""
    batch = pa.RecordBatch.from_arrays([_arrow_column(frame, field) for field in schema], schema=schema)
    return [_stream(batch.take(pa.array(rows, type=pa.int64()))) for rows in groups]


def _conform(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    """`batch` with `schema`'s columns in its order: absent ones null, others cast to the schema's type."""
    columns = []
    for field in schema:
        index = batch.schema.get_field_index(field.name)
        if index < 0:
            columns.append(pa.nulls(batch.num_rows, field.type))
        else:
            column = batch.column(index)
            columns.append(column if column.type == field.type else column.cast(field.type))
    return pa.RecordBatch.from_arrays(columns, schema=schema)


def decode_payload(payload: bytes, schema: pa.Schema = ROWS_SCHEMA) -> list[pa.RecordBatch]:
    """A payload's record batches conformed to `schema`; raises one of ROW_ERRORS when it is not a payload."""
    buffer = pa.py_buffer(payload)
    try:
        reader = pa.ipc.open_stream(buffer)
    except (pa.ArrowException, OSError):  # no schema message first: codec 1
        batches = [pa.ipc.read_record_batch(buffer, CODEC_1_SCHEMA)]
    else:
        batches = list(reader)
    if not batches:  # every payload written holds one batch (of 0 rows for none): this one was cut short
        raise ValueError("no record batch in the payload")
    conformed = [_conform(batch, schema) for batch in batches]
    for batch in conformed:
        batch.validate(full=True)
    return conformed


def read_batches(payloads: Mapping[str | bytes, bytes],
                 schema: pa.Schema = ROWS_SCHEMA) -> tuple[list[pa.RecordBatch], tuple[str, ...]]:
    """Each payload's batches (in key order), and the keys of the payloads that could not be read."""
    batches: list[pa.RecordBatch] = []
    corrupt: list[str] = []
    for key, payload in sorted(payloads.items()):
        try:
            batches += decode_payload(payload, schema)
        except ROW_ERRORS:
            corrupt.append(key.decode() if isinstance(key, bytes) else key)
    return batches, tuple(corrupt)


def one_payload(batches: list[pa.RecordBatch], schema: pa.Schema = ROWS_SCHEMA) -> memoryview:
    """Record batches of `schema` as one payload (empty when there are none): a finished scan's table.

    Its memory is what a scan process peaks at, so `batches` is emptied once they are copied into one (the stored
    payloads they read from can go), the stream is LZ4-compressed (a finished 500-ticker scan's 12 MB of rows take a
    few MB, in Redis too; the Arrow reader decompresses it as it reads) into a buffer of exactly its size (a growing
    one reallocates up to twice it), and that buffer is handed over as is, not copied into bytes."""
    combined = pa.Table.from_batches(batches, schema).combine_chunks().to_batches()
    batches.clear()
    batch = combined[0] if combined else pa.RecordBatch.from_pylist([], schema=schema)
    size = pa.MockOutputStream()
    _write(batch, size, _TABLE_COMPRESSION)
    buffer = pa.allocate_buffer(size.size())
    _write(batch, pa.FixedSizeBufferWriter(buffer), _TABLE_COMPRESSION)
    return memoryview(buffer)


def to_frame(batches: list[pa.RecordBatch], schema: pa.Schema = ROWS_SCHEMA) -> pd.DataFrame:
    frame = pa.Table.from_batches(batches, schema).to_pandas(date_as_object=False)
    if "match" in frame:
        frame["match"] = frame["match"].fillna(False).astype(bool)
    for name in frame.columns:  # the other flags keep "unknown" apart from false (earnings_in_window ...)
        if name != "match" and name in BY_NAME and BY_NAME[name].kind is Kind.BOOL:
            frame[name] = frame[name].astype("boolean")
    return frame
