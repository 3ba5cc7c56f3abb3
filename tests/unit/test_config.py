"""Settings from the environment: defaults, numbers in range, and one clear message for anything else."""

from __future__ import annotations

import pytest

from scanner.config import Settings
from scanner.errors import ConfigError


def test_defaults_and_valid_values() -> None:
    assert (Settings.from_env({}).concurrency, Settings.from_env({}).http_timeout) == (8, 15.0)
    settings = Settings.from_env({"SCANNER_CONCURRENCY": " 12 ", "SCANNER_HTTP_TIMEOUT": "2.5"})
    assert (settings.concurrency, settings.http_timeout) == (12, 2.5)


def test_idle_poll_interval() -> None:
    assert Settings.from_env({}).idle_poll_seconds == 60
    assert Settings.from_env({"SCANNER_IDLE_POLL_SECONDS": "5"}).idle_poll_seconds == 5
    assert Settings.from_env({"SCANNER_IDLE_POLL_SECONDS": "3600"}).idle_poll_seconds == 3600


@pytest.mark.parametrize(("name", "raw", "message"), [
    ("SCANNER_CONCURRENCY", "eight", "SCANNER_CONCURRENCY must be a whole number, got 'eight'"),
    ("SCANNER_CONCURRENCY", "2.5", "SCANNER_CONCURRENCY must be a whole number, got '2.5'"),
    ("SCANNER_CONCURRENCY", "51", "SCANNER_CONCURRENCY must be between 1 and 50, got 51"),
    ("SCANNER_HTTP_TIMEOUT", "soon", "SCANNER_HTTP_TIMEOUT must be a number, got 'soon'"),
    ("SCANNER_HTTP_TIMEOUT", "nan", "SCANNER_HTTP_TIMEOUT must be between 0.1 and 300.0, got nan"),
    ("SCANNER_IDLE_POLL_SECONDS", "4", "SCANNER_IDLE_POLL_SECONDS must be between 5 and 3600, got 4"),
    ("SCANNER_IDLE_POLL_SECONDS", "3601", "SCANNER_IDLE_POLL_SECONDS must be between 5 and 3600, got 3601"),
    ("SCANNER_IDLE_POLL_SECONDS", "1m", "SCANNER_IDLE_POLL_SECONDS must be a whole number, got '1m'"),
    ("SCANNER_RISK_FREE_RATE", "-1", "SCANNER_RISK_FREE_RATE must be between -0.05 and 0.25, got -1.0"),
])
def test_a_bad_number_names_the_variable_and_the_value(name: str, raw: str, message: str) -> None:
    with pytest.raises(ConfigError) as error:
        Settings.from_env({name: raw})
    assert str(error.value) == message


def test_tradier_and_cboe_settings_with_the_token_out_of_repr() -> None:
    defaults = Settings.from_env({})
    assert (defaults.tradier_token, defaults.tradier_url_base, defaults.cboe_url_base) == (
        None, "https://api.tradier.com/v1", "https://cdn.cboe.com/api/global/delayed_quotes")
    settings = Settings.from_env({"TRADIER_TOKEN": " tr-secret-1 ", "TRADIER_URL_BASE": "https://sandbox.tradier.com/v1",
                                  "CBOE_URL_BASE": "http://127.0.0.1:9/v1"})
    assert (settings.tradier_token, settings.tradier_url_base, settings.cboe_url_base) == (
        "tr-secret-1", "https://sandbox.tradier.com/v1", "http://127.0.0.1:9/v1")
    assert "tr-secret-1" not in repr(settings)
