"""The command line's own pieces: its log lines' times (US Eastern, the zone named, as on the pages), its parsing,
and a REDIS_URL that cannot work ending in one masked line (no server needed to see it)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

from scanner.cli import LOG_FORMAT, EasternFormatter, _parser, main
from scanner.errors import ExitCode


def _line(when: datetime) -> str:
    record = logging.LogRecord("scanner.store.lock", logging.WARNING, __file__, 1, "the scan lock was lost; stopping",
                               None, None)
    record.created, record.msecs = when.timestamp(), 250.0
    return EasternFormatter(LOG_FORMAT).format(record)


def test_log_times_are_eastern_with_the_zone_named() -> None:
    assert _line(datetime(2025, 1, 15, 14, 30, 5, tzinfo=UTC)) == (
        "2025-01-15 09:30:05.250 EST WARNING scanner.store.lock: the scan lock was lost; stopping")
    assert _line(datetime(2025, 7, 1, 14, 30, 5, tzinfo=UTC)).startswith("2025-07-01 10:30:05.250 EDT ")


@pytest.mark.parametrize("argv", [["--weeks", "2", "--min-dte", "30"], ["--max-dte", "45", "--weeks", "2"],
                                  ["--min-dte", "30", "--max-dte", "45", "--weeks", "6"]])
def test_weeks_beside_a_dte_window_is_refused_while_parsing_with_exit_2(
        argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["scan", *argv])  # refused before any connection: no Redis is needed to see it
    assert stopped.value.code == ExitCode.BAD_INPUT
    assert "--weeks cannot be combined with --min-dte/--max-dte" in capsys.readouterr().err


def test_a_dte_window_alone_parses_into_the_scan_request() -> None:
    args = _parser().parse_args(["scan", "--min-dte", "30", "--max-dte", "45"])
    assert (args.weeks, args.min_dte, args.max_dte) == (None, 30, 45)


@pytest.mark.parametrize(("url", "code", "says"), [
    ("http://:pw-1a2b@db.internal:6379/0", ExitCode.BAD_INPUT, "REDIS_URL must start with redis://"),
    ("redis://:pw-1a2b@db.internal:sixty/0", ExitCode.BAD_INPUT, "a port from 1 to 65535"),
    ("redis://127.0.0.1:1/0?password=pw-1a2b", ExitCode.FAILED, "redis://127.0.0.1:1/0?password=*** is unreachable"),
])
def test_a_redis_url_that_cannot_work_is_one_masked_line(url: str, code: ExitCode, says: str, tmp_path,
                                                         monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("REDIS_URL", url)
    monkeypatch.setenv("SCANNER_DATA_DIR", str(tmp_path))
    assert main(["status"]) == code
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and says in err and "pw-1a2b" not in err
