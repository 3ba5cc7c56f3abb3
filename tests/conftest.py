"""Shared fixtures: fakeredis for unit tests, one real embedded Valkey server for whatever crosses processes.

Each test is marked by the folder it sits in (``unit``, ``integration``, ``ui``, ``browser``), so ``-m`` picks a
layer: ``make test-fast`` runs ``-m unit``.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import fakeredis
import pytest

from scanner.config import Settings
from scanner.store.connection import start_embedded, stop_embedded
from scanner.store.keys import Keys
from scanner.store.scans import ScanStore, open_store
from tests.support.processes import wait_for_scan_children

pytest_plugins = ("tests.support.redis_servers",)  # real deployments: cluster, ACL, maxmemory, Redis 7

LAYERS = ("unit", "integration", "ui", "browser")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        layer = Path(item.path).relative_to(Path(__file__).parent).parts[0]
        if layer in LAYERS:
            item.add_marker(layer)


@pytest.fixture
def fake_store() -> ScanStore:
    server = fakeredis.FakeServer()
    return ScanStore(fakeredis.FakeRedis(server=server, decode_responses=True), fakeredis.FakeRedis(server=server),
                     Keys("t"), lock_ttl=6, retention=3)


@pytest.fixture(scope="session")
def embedded_dir(tmp_path_factory: pytest.TempPathFactory):
    """A real embedded server for the whole session, stopped at the end (no orphan left behind)."""
    data_dir = tmp_path_factory.mktemp("data")
    start_embedded(data_dir)
    yield data_dir
    wait_for_scan_children(timeout=120)  # a scan the page started would otherwise start the server again
    stop_embedded(data_dir)


@pytest.fixture
def scanner_env(embedded_dir: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Environment of a test against the real server: its own key prefix, demo data, fast scans.

    Set in os.environ too, so AppTest pages and child processes see the same configuration.
    """
    values = {
        "SCANNER_DATA_DIR": str(embedded_dir),
        "SCANNER_PREFIX": "t" + uuid.uuid4().hex[:10],
        "SCANNER_PROVIDER": "demo",
        "SCANNER_DEMO_DELAY_MS": "0",
        "SCANNER_LOCK_TTL": "6",
        "SCANNER_POLL_SECONDS": "2",
    }
    for name in ("REDIS_URL", "MD_API_KEY", "SCANNER_ENFORCE_MARKET_HOURS", "SCANNER_NOW"):
        monkeypatch.delenv(name, raising=False)
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return dict(os.environ)


@pytest.fixture
def real_store(scanner_env: dict[str, str]) -> ScanStore:
    return open_store(Settings.from_env(scanner_env))
