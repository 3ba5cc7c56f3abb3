"""What a deployment writes under its data directory (the scan logs, the embedded server's RDB/AOF files, which
hold the lock token and stored settings) is private to its user: folders 0700, files 0600, whatever the umask."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from scanner.config import Settings
from scanner.scan.engine import ScanRequest, start_background
from scanner.scan.launcher import log_path
from scanner.store.connection import start_embedded, stop_embedded
from scanner.store.scans import open_store
from tests.support.processes import wait_for, wait_for_scan_children


def test_a_page_scan_on_a_fresh_embedded_server_leaves_only_private_folders_and_files(
        tmp_path: Path, scanner_env: dict[str, str]) -> None:
    data_dir = tmp_path / "fresh"
    settings = Settings.from_env({**scanner_env, "SCANNER_DATA_DIR": str(data_dir)})
    previous = os.umask(0o022)  # a usual umask: what the fix must not rely on
    try:
        start_embedded(data_dir)
        store = open_store(settings)
        scan_id = start_background(settings, store, ScanRequest(tickers=["AAPL", "MSFT"], provider="demo"))
        wait_for(lambda: store.get(scan_id).status == "completed", timeout=60)
        wait_for_scan_children(timeout=60)
    finally:
        stop_embedded(data_dir)  # saves: dump.rdb beside the append-only files
        os.umask(previous)
    folders = [data_dir, *(path for path in data_dir.rglob("*") if path.is_dir())]
    files = [path for path in data_dir.rglob("*") if path.is_file()]
    names = {path.relative_to(data_dir).as_posix() for path in files}
    assert {"redis/dump.rdb", "redis/valkey.log", log_path(settings, scan_id).relative_to(data_dir).as_posix()} <= names
    assert any(name.startswith("redis/appendonlydir/") for name in names)
    assert {"logs", "redis"} <= {path.relative_to(data_dir).as_posix() for path in folders}
    assert {path.relative_to(data_dir).as_posix(): oct(stat.S_IMODE(path.stat().st_mode)) for path in folders + files
            } == {**{path.relative_to(data_dir).as_posix(): "0o700" for path in folders},
                  **{path.relative_to(data_dir).as_posix(): "0o600" for path in files}}
