"""The scanner against real Redis deployments (tests/support/redis_servers.py): each way a server refuses it ends a
command in one line, the right exit code (1 the server, 2 the configuration) and no traceback; the minimum ACL
(DESIGN "Redis") is enough; a Redis Cluster works through any node."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from scanner.config import Settings
from scanner.errors import ExitCode
from scanner.store.connection import CLUSTER_NODE, client_name, connect
from scanner.store.keys import Keys
from tests.support.paths import ROOT
from tests.support.processes import run_cli
from tests.support.redis_servers import (
    Cluster,
    Server,
    TlsFiles,
    make_tls_files,
    redis7_binary,
    running_replica,
    start_server,
)

ADMIN_PASSWORD = "admin-5d0c1f7e"
USER_PASSWORD = "user-93b6a2c4"
MINIMUM_ACL = ("+@read", "+@write", "+@scripting", "+@transaction", "+@connection")
SCAN = ["scan", "--tickers", "AAPL,MSFT", "--ignore-market-hours"]


def refused(args: list[str], env: dict[str, str], code: ExitCode, *texts: str) -> str:
    """Run the command; it must end with ``code`` and one ``error:`` line holding every text, no traceback."""
    done = run_cli(args, env)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == code, done.stderr
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    assert all(text in lines[0] for text in texts), lines[0]
    return lines[0]


def succeeds(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    done = run_cli(args, env)
    assert done.returncode == 0, done.stderr
    return done


def with_url(env: dict[str, str], url: str) -> dict[str, str]:
    return {**env, "REDIS_URL": url}


def keys_of(env: dict[str, str]) -> str:
    """The ACL key pattern of the test's deployment: every key under its hash tag."""
    return "~{" + env["SCANNER_PREFIX"] + "}*"


@pytest.fixture
def acl_server(valkey_server) -> Server:
    """A server whose default user needs a password; tests add their own ACL users."""
    return valkey_server("--requirepass", ADMIN_PASSWORD)


def test_a_wrong_password_says_the_credentials_were_refused(scanner_env: dict[str, str], acl_server: Server) -> None:
    acl_server.add_user("scanner", USER_PASSWORD, *MINIMUM_ACL, keys_of(scanner_env))
    env = with_url(scanner_env, acl_server.url(user="scanner", password="not-the-password"))
    line = refused(["status"], env, ExitCode.BAD_INPUT, "refused the credentials", "redis://scanner:***@")
    assert "unreachable" not in line and "not-the-password" not in line


def page_banner(url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The dashboard drawn with ``REDIS_URL=url``: its one error banner (no exception reached the page)."""
    monkeypatch.setenv("REDIS_URL", url)
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60).run()
    assert not at.exception
    banners = [e.value for e in at.error]
    assert len(banners) == 1, banners
    return banners[0]


def test_the_page_shows_each_refusal_as_a_one_line_banner(scanner_env: dict[str, str], acl_server: Server,
                                                         valkey_cluster: Cluster,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    node = valkey_cluster.owner(scanner_env["SCANNER_PREFIX"])
    for url, says in ((acl_server.url(password="not-the-password"), "refused the credentials"),
                      (acl_server.url(password=ADMIN_PASSWORD, db=99), "DB index is out of range"),
                      (f"http://:{ADMIN_PASSWORD}@127.0.0.1:{acl_server.port}/0", "REDIS_URL must start with"),
                      (node.url(), CLUSTER_NODE)):
        banner = page_banner(url, monkeypatch)
        assert banner.startswith("Redis error: ") and says in banner, banner
        assert "not-the-password" not in banner and ADMIN_PASSWORD not in banner


def test_a_scan_click_under_out_of_memory_is_refused_in_one_line(scanner_env: dict[str, str], valkey_server,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    server = valkey_server()
    monkeypatch.setenv("REDIS_URL", server.url())
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60).run()
    server.out_of_memory()
    next(b for b in at.button if b.label == "Scan for options").click().run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert any("Redis is out of memory (maxmemory)" in text and "not started" in text for text in errors), errors
    assert server.admin().get("{" + scanner_env["SCANNER_PREFIX"] + "}:lock") is None  # nothing was changed


def test_a_user_without_scripting_sees_the_permission_banner_on_the_page(scanner_env: dict[str, str],
                                                                        acl_server: Server,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    full = acl_server.add_user("full", USER_PASSWORD, *MINIMUM_ACL, keys_of(scanner_env))
    succeeds(SCAN, with_url(scanner_env, full))  # a completed scan, whose rows the page reads by a script
    rules = [rule for rule in MINIMUM_ACL if rule != "+@scripting"]
    banner = page_banner(acl_server.add_user("reader", USER_PASSWORD, *rules, keys_of(scanner_env)), monkeypatch)
    assert banner.startswith("Redis error: the Redis user lacks a permission") and "+@scripting" in banner, banner


def test_the_minimum_acl_runs_status_the_watch_list_a_scan_and_an_export(scanner_env: dict[str, str],
                                                                         acl_server: Server) -> None:
    env = with_url(scanner_env, acl_server.add_user("scanner", USER_PASSWORD, *MINIMUM_ACL, keys_of(scanner_env)))
    succeeds(["watchlist", "add", "AAPL"], env)
    assert "completed: 2/2 tickers" in succeeds(SCAN, env).stdout
    assert "ticker" in succeeds(["export", "--all", "--output", "-"], env).stdout
    assert "lock: free" in succeeds(["status"], env).stdout


def test_a_user_without_scripting_is_told_the_missing_permission_and_the_minimum(scanner_env: dict[str, str],
                                                                                acl_server: Server) -> None:
    rules = [rule for rule in MINIMUM_ACL if rule != "+@scripting"]
    env = with_url(scanner_env, acl_server.add_user("scanner", USER_PASSWORD, *rules, keys_of(scanner_env)))
    refused(SCAN, env, ExitCode.BAD_INPUT, "lacks a permission", "no permissions to run the 'evalsha' command",
            "+@read +@write +@scripting +@transaction +@connection ~{" + scanner_env["SCANNER_PREFIX"] + "}*")


def test_a_user_without_the_prefixs_keys_is_told_the_minimum(scanner_env: dict[str, str], acl_server: Server) -> None:
    env = with_url(scanner_env, acl_server.add_user("scanner", USER_PASSWORD, *MINIMUM_ACL, "~other:*"))
    refused(["status"], env, ExitCode.BAD_INPUT, "lacks a permission", "+@connection ~{")


def test_out_of_memory_refuses_the_write_in_one_line_and_reads_go_on(scanner_env: dict[str, str],
                                                                    valkey_server) -> None:
    server = valkey_server()
    env = with_url(scanner_env, server.url())
    succeeds(["watchlist", "add", "AAPL"], env)
    server.out_of_memory()
    refused(["watchlist", "add", "ZZZQ"], env, ExitCode.FAILED, "Redis is out of memory (maxmemory)")
    assert "ZZZQ" not in succeeds(["watchlist", "list"], env).stdout  # nothing was changed, reading still works
    succeeds(["status"], env)


def test_a_replica_is_named_as_read_only(scanner_env: dict[str, str], valkey_server, tmp_path: Path) -> None:
    primary = valkey_server()
    with running_replica(tmp_path / "replica", primary) as replica:
        refused(["watchlist", "add", "AAPL"], with_url(scanner_env, replica.url()), ExitCode.BAD_INPUT,
                "is a read-only replica", "REDIS_URL must name the primary")


def test_a_database_index_the_server_lacks_is_out_of_range(scanner_env: dict[str, str], valkey_server) -> None:
    url = valkey_server().url(db=99)
    refused(["status"], with_url(scanner_env, url), ExitCode.BAD_INPUT, "DB index is out of range", url)


@pytest.fixture
def loading_server(valkey_server) -> Iterator[Server]:
    """A server still loading its data set while the test runs: 0.1 s per key (``key-load-delay``) over 2000 keys,
    answering LOADING between keys (each key is larger than the events interval)."""
    seeded = valkey_server("--dbfilename", "dump.rdb")
    seeded.admin().mset({f"k{i}": os.urandom(2048) for i in range(2000)})  # random: the dump cannot compress it
    seeded.admin().save()
    seeded.stop()
    loading = start_server(seeded.log.parent, "--dbfilename", "dump.rdb", "--key-load-delay", "100000",
                           "--loading-process-events-interval-bytes", "1024", port=seeded.port)
    yield loading
    loading.stop()


def test_a_server_loading_its_data_says_so(scanner_env: dict[str, str], loading_server: Server) -> None:
    refused(["status"], with_url(scanner_env, loading_server.url()), ExitCode.FAILED, "is loading its data set")


@pytest.mark.parametrize(("url", "says"), [
    ("http://127.0.0.1:6379/0", "REDIS_URL must start with redis://"),
    ("127.0.0.1:6379", "REDIS_URL must start with redis://"),
    ("redis://127.0.0.1:port/0", "a port from 1 to 65535"),
    ("redis://127.0.0.1:99999/0", "a port from 1 to 65535"),
    ("redis://127.0.0.1:6379/zero", "must be a database number"),
    ("redis+cluster://127.0.0.1:6379/3", "a Redis Cluster has database 0 only"),
])
def test_a_malformed_url_is_refused_before_connecting(scanner_env: dict[str, str], url: str, says: str) -> None:
    refused(["status"], with_url(scanner_env, url), ExitCode.BAD_INPUT, says)


def test_a_plain_url_at_a_cluster_node_says_use_redis_cluster(scanner_env: dict[str, str],
                                                             valkey_cluster: Cluster) -> None:
    prefix = scanner_env["SCANNER_PREFIX"]
    for node in (valkey_cluster.owner(prefix), valkey_cluster.non_owner(prefix)):
        refused(["status"], with_url(scanner_env, node.url()), ExitCode.BAD_INPUT, CLUSTER_NODE)


def test_a_cluster_url_at_a_plain_server_says_use_redis(scanner_env: dict[str, str], valkey_server) -> None:
    url = valkey_server().url(scheme="redis+cluster")
    refused(["status"], with_url(scanner_env, url), ExitCode.BAD_INPUT, "is not a Redis Cluster node: use redis://")


def test_the_cluster_acl_minimum_adds_cluster_slots(scanner_env: dict[str, str], valkey_cluster: Cluster) -> None:
    user = "u" + scanner_env["SCANNER_PREFIX"]
    valkey_cluster.add_user(user, USER_PASSWORD, *MINIMUM_ACL, keys_of(scanner_env))
    seed = valkey_cluster.non_owner(scanner_env["SCANNER_PREFIX"])
    env = with_url(scanner_env, valkey_cluster.seed_url(seed, user=user, password=USER_PASSWORD))
    refused(["status"], env, ExitCode.BAD_INPUT, "'cluster|slots'", "+cluster|slots")
    wrong = with_url(scanner_env, valkey_cluster.seed_url(seed, user=user, password="not-the-password"))
    refused(["status"], wrong, ExitCode.BAD_INPUT, "refused the credentials", "redis+cluster://" + user + ":***@")
    valkey_cluster.add_user(user, USER_PASSWORD, *MINIMUM_ACL, keys_of(scanner_env), "+cluster|slots")
    assert "completed: 2/2 tickers" in succeeds(SCAN, env).stdout
    assert "lock: free" in succeeds(["status"], env).stdout


def test_a_cluster_client_names_its_connections_and_answers_bytes_when_asked(cluster_env: dict[str, str],
                                                                             valkey_cluster: Cluster) -> None:
    settings = Settings.from_env(cluster_env)
    key = Keys(settings.prefix).watchlist
    text, binary = connect(settings), connect(settings, binary=True)
    text.set(key + ":probe", "x")
    assert binary.get(key + ":probe") == b"x" and text.get(key + ":probe") == "x"
    owner = valkey_cluster.owner(settings.prefix).admin()
    assert client_name() in {entry["name"] for entry in owner.client_list()}  # the same name as a plain client's


def test_status_and_the_watch_list_through_any_cluster_node(cluster_env: dict[str, str]) -> None:
    assert "lock: free" in succeeds(["status"], cluster_env).stdout
    succeeds(["watchlist", "add", "AAPL", "MSFT"], cluster_env)
    succeeds(["watchlist", "deactivate", "MSFT"], cluster_env)
    listed = succeeds(["watchlist", "list"], cluster_env).stdout
    assert "AAPL" in listed and "MSFT" in listed


def test_a_demo_scan_through_a_node_that_does_not_own_the_slot(cluster_env: dict[str, str]) -> None:
    assert "completed: 2/2 tickers" in succeeds(SCAN, cluster_env).stdout
    assert "completed" in succeeds(["history"], cluster_env).stdout
    assert "ticker" in succeeds(["export", "--all", "--output", "-"], cluster_env).stdout
    assert "lock: free" in succeeds(["status"], cluster_env).stdout


def test_debian_redis_7_with_a_password_runs_a_scan(scanner_env: dict[str, str], valkey_server) -> None:
    server = valkey_server("--requirepass", ADMIN_PASSWORD, binary=redis7_binary())
    env = with_url(scanner_env, server.url(password=ADMIN_PASSWORD))
    assert "completed: 2/2 tickers" in succeeds(SCAN, env).stdout
    refused(["status"], with_url(scanner_env, server.url(password="wrong")), ExitCode.BAD_INPUT,
            "refused the credentials")


@pytest.fixture
def tls_files(tmp_path: Path) -> TlsFiles:
    return make_tls_files(tmp_path / "tls")


def test_an_unverified_tls_certificate_says_how_to_pass_the_ca(scanner_env: dict[str, str], valkey_server,
                                                               tls_files: TlsFiles) -> None:
    server = valkey_server(binary=redis7_binary(), tls=tls_files)
    refused(["status"], with_url(scanner_env, server.url(scheme="rediss")), ExitCode.BAD_INPUT,
            "TLS certificate", "could not be verified", "?ssl_ca_certs=/path/to/ca.pem")
    succeeds(["status"], with_url(scanner_env, server.url(scheme="rediss", query=tls_files.query(
        client_certificate=False))))


def test_a_scan_over_tls_with_a_client_certificate(scanner_env: dict[str, str], valkey_server,
                                                   tls_files: TlsFiles) -> None:
    server = valkey_server("--requirepass", ADMIN_PASSWORD, binary=redis7_binary(), tls=tls_files,
                           client_certificates=True)
    env = with_url(scanner_env, server.url(scheme="rediss", password=ADMIN_PASSWORD, query=tls_files.query()))
    assert "completed: 2/2 tickers" in succeeds(SCAN, env).stdout
    without = with_url(scanner_env, server.url(scheme="rediss", password=ADMIN_PASSWORD,
                                               query=tls_files.query(client_certificate=False)))
    refused(["status"], without, ExitCode.FAILED, "unreachable")
