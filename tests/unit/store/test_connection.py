"""How a process tells its own connections from the others' (the CLI's "is the server in use?"), no server."""

from __future__ import annotations

import os
from pathlib import Path

from scanner.store import connection


def test_every_connection_is_named_for_its_process() -> None:
    client = connection._client(connection.embedded_url(Path("/nonexistent")))
    assert client.connection_pool.connection_kwargs["client_name"] == f"scanner-{os.getpid()}"
    assert connection.client_name(42) == "scanner-42"


def test_other_processes_connections_are_foreign_and_our_own_are_not() -> None:
    me = connection.client_name()
    clients = [{"id": "1", "name": me}, {"id": "2", "name": "scanner-999999"}, {"id": "3", "name": ""},
               {"id": "4", "name": me}]
    assert [c["id"] for c in connection.foreign(clients, me)] == ["2", "3"]  # a dashboard, a redis-cli
    assert connection.foreign([{"id": "1", "name": me}], me) == []
