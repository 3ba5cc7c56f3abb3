"""Shared set-up for the benchmarks: a throw-away embedded server and synthetic watch-lists."""

from __future__ import annotations

import itertools
import string
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from scanner.store.connection import start_embedded, stop_embedded


def symbols(count: int) -> list[str]:
    """Distinct valid three-letter symbols (the demo market prices any valid symbol)."""
    letters = string.ascii_uppercase
    return ["".join(chars) for chars in itertools.islice(itertools.product(letters, repeat=3), count)]


@contextmanager
def embedded_server() -> Iterator[tuple[Path, str]]:
    """(data dir, URL) of a fresh embedded Valkey server, stopped afterwards."""
    with tempfile.TemporaryDirectory(prefix="scanner-bench-") as tmp:
        data_dir = Path(tmp)
        url = start_embedded(data_dir)
        try:
            yield data_dir, url
        finally:
            stop_embedded(data_dir)
