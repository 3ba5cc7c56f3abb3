"""``streamlit run dashboard.py`` with counters on the work that fifty viewers of one scan should share.

Run by bench_viewers.py as ``python bench/_viewer_server.py <counts.json> <streamlit run options>``. The app is
the real one; only counting wrappers are added, around:

- ``ScanStore.results``: a decode of a scan's rows (one Redis read and one Arrow decode);
- ``load_results``: a viewer asking for a scan version's rows (``keys`` counts the distinct versions asked);
- ``summary``: a scan view being built (``_view``'s body: the filtered rows, groups, summary, near misses);
- ``_view``: a viewer asking for a view (distinct scan versions and filters in ``keys``);
- Streamlit's conversion of a DataFrame to Arrow, which ``st.dataframe`` does on every call it is given one,
  and its copy of an Arrow table's bytes, when given one.

The wrappers go in as the page first imports the module (an import hook), so the server with no session yet holds
what a plain one does. The counts go to ``<counts.json>`` twice a second.
"""

from __future__ import annotations

import functools
import importlib.abc
import importlib.machinery
import importlib.util
import json
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from streamlit.web import cli

CALLS: Counter[str] = Counter()
SECONDS: Counter[str] = Counter()
KEYS: dict[str, set[str]] = {"load_results": set(), "view": set()}


def _counted(owner: Any, name: str, label: str, key: Callable[..., str] | None = None) -> None:  # noqa: ANN401
    original = getattr(owner, name)

    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:  # noqa: ANN401
        if key is not None:
            KEYS[label].add(key(*args, **kwargs))
        started = time.thread_time()
        try:
            return original(*args, **kwargs)
        finally:
            CALLS[label] += 1
            SECONDS[label] += time.thread_time() - started

    setattr(owner, name, wrapper)


def _dump(path: Path) -> None:
    while True:
        payload = {"calls": dict(CALLS), "cpu_seconds": dict(SECONDS),
                   "distinct": {label: len(keys) for label, keys in KEYS.items()}}
        path.with_suffix(".tmp").write_text(json.dumps(payload))
        path.with_suffix(".tmp").replace(path)
        time.sleep(0.5)


def _count_shared_work(results: ModuleType) -> None:
    import streamlit.dataframe_util as dataframe_util

    from scanner.store.scans import ScanStore

    _counted(ScanStore, "results", "decode")
    _counted(results, "load_results", "load_results",
             key=lambda _store, _prefix, scan_id, version, *_reuse: f"{scan_id}:{version}")
    _counted(results, "summary", "build_view")
    _counted(results, "_view", "view",
             key=lambda _frame, _previous, scan_key, _previous_key, filters, stamp: repr((scan_key, filters, stamp)))
    _counted(dataframe_util, "convert_pandas_df_to_arrow_bytes", "arrow_convert")
    _counted(dataframe_util, "convert_arrow_table_to_arrow_bytes", "arrow_copy")


AFTER_IMPORT: dict[str, Callable[[ModuleType], None]] = {"scanner.ui.results": _count_shared_work}


class _AfterImport(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds the modules of AFTER_IMPORT as usual, then runs what it says once each module's body has run."""

    def find_spec(self, name: str, path: Any, target: Any = None) -> importlib.machinery.ModuleSpec | None:  # noqa: ANN401
        if name not in AFTER_IMPORT:
            return None
        sys.meta_path.remove(self)
        try:
            spec = importlib.util.find_spec(name)
        finally:
            sys.meta_path.insert(0, self)
        spec.loader = _Then(spec.loader, AFTER_IMPORT[name])
        return spec


class _Then(importlib.abc.Loader):
    def __init__(self, loader: importlib.abc.Loader, then: Callable[[ModuleType], None]) -> None:
        self.loader, self.then = loader, then

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self.loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self.loader.exec_module(module)
        self.then(module)


def main() -> None:
    counts = Path(sys.argv[1])
    sys.meta_path.insert(0, _AfterImport())
    threading.Thread(target=_dump, args=(counts,), daemon=True).start()
    sys.argv = ["streamlit", "run", "dashboard.py", *sys.argv[2:]]
    cli.main()


if __name__ == "__main__":
    main()
