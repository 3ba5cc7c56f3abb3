"""The scan subprocess's environment: what its data source reads (the registry says), the proxies and CA bundles
every HTTP client honours, Redis and the SCANNER_* settings; no other secret."""

from __future__ import annotations

from pathlib import Path

import pytest

from scanner.config import Settings
from scanner.scan.launcher import child_env

NETWORK = {"http_proxy": "http://proxy:3128", "https_proxy": "http://proxy:3128", "no_proxy": "localhost",
           "HTTP_PROXY": "http://proxy:3128", "HTTPS_PROXY": "http://proxy:3128", "NO_PROXY": "localhost",
           "REQUESTS_CA_BUNDLE": "/etc/ca.pem", "SSL_CERT_FILE": "/etc/ca.pem", "CURL_CA_BUNDLE": "/etc/ca.pem"}
OUTSIDE = {"MD_API_KEY": "md-key", "MD_URL_BASE": "http://md.local", "AWS_SECRET_ACCESS_KEY": "aws",
           "GITHUB_TOKEN": "gh", "PATH": "/usr/bin", "REDIS_URL": "redis://:pw@r:6379/0", "SCANNER_PREFIX": "p"}


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {**NETWORK, **OUTSIDE}.items():
        monkeypatch.setenv(name, value)


@pytest.mark.parametrize(("provider", "source_env"), [("demo", set()), ("snapshot", set()), ("yahoo", set()),
                                                       ("marketdata", {"MD_API_KEY", "MD_URL_BASE"})])
def test_the_scan_process_gets_its_sources_variables_the_proxies_and_ca_bundles_and_no_other_secret(
        environment: None, provider: str, source_env: set[str]) -> None:
    env = child_env(Settings(data_dir=Path("/data")), "t0ken", provider)
    assert {name: env[name] for name in NETWORK} == NETWORK
    assert {"MD_API_KEY", "MD_URL_BASE"} & set(env) == source_env
    assert "AWS_SECRET_ACCESS_KEY" not in env and "GITHUB_TOKEN" not in env
    assert env["REDIS_URL"] == OUTSIDE["REDIS_URL"] and env["SCANNER_PREFIX"] == "p"
    assert env["SCANNER_LOCK_TOKEN"] == "t0ken" and env["SCANNER_DATA_DIR"] == "/data"
