"""The connection module without a server: how a process tells its own connections from the others' (the CLI's
"is the server in use?"), how a URL's passwords are masked, how a malformed URL is refused."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from scanner.config import Settings
from scanner.errors import ExitCode, RedisMisconfigured
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


PASSWORD = "s3cr3t-pw"


@pytest.mark.parametrize(("url", "masked"), [
    (f"redis://user:{PASSWORD}@db.internal:6379/0", "redis://user:***@db.internal:6379/0"),
    (f"redis://:{PASSWORD}@db.internal:6379/0", "redis://:***@db.internal:6379/0"),
    (f"redis://db.internal:6379/0?password={PASSWORD}", "redis://db.internal:6379/0?password=***"),
    (f"rediss://db.internal:6380/0?ssl_keyfile=/k.pem&ssl_certfile=/c.pem&ssl_password={PASSWORD}&password={PASSWORD}",
     "rediss://db.internal:6380/0?ssl_keyfile=/k.pem&ssl_certfile=/c.pem&ssl_password=***&password=***"),
    (f"unix://user:{PASSWORD}@/run/redis.sock?db=1", "unix://user:***@/run/redis.sock?db=1"),
    (f"redis+cluster://:{PASSWORD}@node-1:7000", "redis+cluster://:***@node-1:7000"),
    (f"redis://:{PASSWORD}@db.internal:port/0", "redis://:***@db.internal:port/0"),  # urlsplit would raise here
    (f":{PASSWORD}@db.internal:6379", ":***@db.internal:6379"),  # no scheme at all
    ("redis://db.internal:6379/0", "redis://db.internal:6379/0"),
])
def test_every_password_form_is_masked_even_in_a_malformed_url(url: str, masked: str) -> None:
    assert connection.mask_url(url) == masked


def test_a_servers_message_loses_the_urls_passwords_as_written_and_decoded() -> None:
    url = "redis://user:p%40ss-word@db:6379/0?password=q-secret"
    text = "AUTH p@ss-word failed; also q-secret and p%40ss-word"
    assert connection.scrub(text, url) == "AUTH *** failed; also *** and ***"
    assert connection.scrub("nothing secret", None) == "nothing secret"


@pytest.mark.parametrize(("url", "says"), [
    ("http://db:6379/0", "REDIS_URL must start with redis://, rediss://, unix://, redis+cluster://, rediss+cluster://"),
    (f"redis://:{PASSWORD}@db:0/0", "a port from 1 to 65535"),
    ("redis://db:70000/0", "a port from 1 to 65535"),
    ("redis:///0", "needs a host"),
    ("redis://db:6379/first", "must be a database number"),
    ("rediss+cluster://db:7000/2", "a Redis Cluster has database 0 only"),
])
def test_a_malformed_url_is_refused_with_exit_2_and_its_password_masked(url: str, says: str) -> None:
    with pytest.raises(RedisMisconfigured, match=re.escape(says)) as refused:
        connection.check_url(url)
    assert refused.value.exit_code == ExitCode.BAD_INPUT and PASSWORD not in str(refused.value)


@pytest.mark.parametrize("url", ["redis://db:6379/0", "rediss://db:6380", "unix:///run/redis.sock",
                                 "redis+cluster://node:7000", "rediss+cluster://node:7000/0"])
def test_well_formed_urls_pass(url: str) -> None:
    connection.check_url(url)


def test_the_minimum_acl_names_the_prefix_and_on_a_cluster_cluster_slots(tmp_path: Path) -> None:
    plain = Settings(data_dir=tmp_path, redis_url="redis://db:6379/0", prefix="desk")
    cluster = Settings(data_dir=tmp_path, redis_url="redis+cluster://node:7000", prefix="desk")
    assert connection.minimum_acl(plain) == "+@read +@write +@scripting +@transaction +@connection ~{desk}*"
    assert connection.minimum_acl(cluster) == connection.minimum_acl(plain) + " +cluster|slots"
